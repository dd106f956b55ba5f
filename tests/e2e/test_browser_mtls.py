"""The page works when the whole stack runs mTLS (`make run TLS=1`): the bridge terminates the
browser's side and calls the services with the edge's certificate, the worker with its own."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from devstack.running import RunningStack
from tests.e2e.stacks import shared_stack
from tests.e2e.test_browser import CHROMIUM_FLAGS, CLIO, built_page, chromium

pytestmark = pytest.mark.asyncio(loop_scope="module")
__all__ = ["built_page", "chromium"]  # the fixtures, shared with test_browser.py


shared = shared_stack("mtls", name="shared")  # tests/e2e/stacks.py


@pytest.fixture(scope="module")
def tls_stack(chromium: str, built_page: Path, shared: RunningStack) -> RunningStack:
    del chromium, built_page  # needed first (before a stack starts), not used here
    return shared


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
