"""The page works when the whole stack runs mTLS (`make run TLS=1`): the bridge terminates the
browser's side and calls the services with the edge's certificate, the worker with its own."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import async_playwright, expect

from devstack.running import RunningStack, running_stack
from tests.e2e.test_browser import CHROMIUM_FLAGS, CLIO, built_page, chromium

pytestmark = pytest.mark.asyncio(loop_scope="module")
__all__ = ["built_page", "chromium"]  # the fixtures, shared with test_browser.py


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def tls_stack(
    chromium: str, built_page: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningStack]:
    del chromium, built_page  # needed first, not used here
    env = {"IMAGE_SVC_RENDER_WORKERS": "1", "IMAGE_SVC_MAX_CONCURRENCY": "1"}
    async with running_stack(tmp_path_factory.mktemp("tls"), env, tls=True) as running:
        yield running


async def test_the_page_draws_the_clio_over_mtls(tls_stack: RunningStack, chromium: str) -> None:
    assert tls_stack.env["MESH_TLS_DIR"]
    with tempfile.TemporaryDirectory() as profile:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile, executable_path=chromium, headless=True, args=CHROMIUM_FLAGS
            )
            try:
                page = context.pages[0] if context.pages else await context.new_page()
                await page.goto(f"http://127.0.0.1:{tls_stack.ports.web}/")
                await page.get_by_test_id("new-conversation").click()
                await page.get_by_test_id("prompt-input").fill(CLIO)
                await page.get_by_test_id("send-button").click()
                card = page.get_by_test_id("message-card").last
                await expect(card.get_by_test_id("angle-image")).to_have_count(3, timeout=90_000)
                await expect(card).to_have_attribute("data-status", "DONE", timeout=30_000)
            finally:
                await context.close()
