"""The page in the reader's language: Chromium in Vietnamese and in Ukrainian, against the whole
stack as real processes (what `make run` starts), through the dev bridge.

The browser's language picks the page's; the switch in the page overrides it and is kept across
reloads; the document's `lang` follows; labels, hints, intent names, counts, relative times and
the services' replies are in that language. One stack for the module; one browser profile per
test. The Vietnamese page's screenshot is docs/img/page-vi.png (rewritten when
``PHOTOFUN_UPDATE_SCREENSHOTS=1``; otherwise written to test-results/browser/).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image
from playwright.async_api import Page, async_playwright, expect

from devstack.running import RunningStack
from mesh.i18n import replies
from tests.e2e.stacks import shared_stack
from tests.e2e.test_browser import CHROMIUM_FLAGS, SHOTS, built_page, chromium

# A whole stack and Chromium on a shared two-core machine: the setup alone can take minutes.
pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.browser,
    pytest.mark.timeout(300),
]
__all__ = ["built_page", "chromium"]  # the fixtures, shared with the other browser test

REPO = Path(__file__).resolve().parents[2]
LOCALES = REPO / "web" / "src" / "locales"
SCREENSHOT = REPO / "docs" / "img" / "page-vi.png"
Open = Callable[[str], Awaitable[Page]]


def words(lang: str) -> dict[str, str]:
    """The page's catalogue for `lang`."""
    catalogue: dict[str, str] = json.loads((LOCALES / f"{lang}.json").read_text("utf-8"))
    return catalogue


shared = shared_stack("plain", name="shared")  # tests/e2e/stacks.py


@pytest.fixture(scope="module")
def stack(chromium: str, built_page: Path, shared: RunningStack) -> RunningStack:
    del chromium, built_page  # needed first (before a stack starts), not used here
    return shared


@pytest_asyncio.fixture(loop_scope="module")
async def open_page(stack: RunningStack, chromium: str) -> AsyncIterator[Open]:
    """Opens the page in a fresh Chromium profile whose language is the given locale."""
    url = f"http://127.0.0.1:{stack.ports.web}/"
    problems: list[str] = []
    async with async_playwright() as playwright:
        contexts = []

        async def open_in(locale: str) -> Page:
            profile = tempfile.mkdtemp(prefix="photofun-lang-")
            context = await playwright.chromium.launch_persistent_context(
                profile,
                executable_path=chromium,
                headless=True,
                args=CHROMIUM_FLAGS,
                locale=locale,
                viewport={"width": 1280, "height": 860},
            )
            contexts.append(context)
            tab = context.pages[0] if context.pages else await context.new_page()
            tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
            await tab.goto(url)
            return tab

        try:
            yield open_in
        finally:
            for context in contexts:
                await context.close()
    assert not problems, problems


async def splash(page: Page) -> tuple[str, str]:
    """`<html lang>` and the loading words as boot.js leaves them, before the bundle runs: the
    page is reloaded with app.js held back, then normally again."""
    await page.route("**/app.js", lambda route: route.abort())
    try:
        await page.reload()
        words = page.locator("#boot-words")
        await expect(words).not_to_be_empty()
        lang = await page.locator("html").get_attribute("lang")
        said = await words.inner_text()
    finally:
        await page.unroute("**/app.js")
    await page.reload()
    return lang or "", said


async def send(page: Page, prompt: str) -> None:
    await page.get_by_test_id("new-conversation").click()
    await page.get_by_test_id("prompt-input").fill(prompt)
    await page.get_by_test_id("send-button").click()
    await expect(page).to_have_url(re.compile(r"#/c/[0-9a-f]{24}$"))


async def test_a_vietnamese_browser_gets_the_page_and_the_replies_in_vietnamese(
    open_page: Open, tmp_path: Path
) -> None:
    page = await open_page("vi-VN")
    vi = words("vi")
    # Before the bundle has run, the splash and <html lang> are Vietnamese already.
    assert await splash(page) == ("vi", vi["boot.loading"])

    await expect(page.locator("html")).to_have_attribute("lang", "vi")
    await expect(page.get_by_test_id("new-conversation")).to_have_accessible_name(vi["sidebar.new"])
    await expect(page.get_by_role("heading", name=vi["welcome.title"])).to_be_visible()
    await expect(page.get_by_test_id("prompt-input")).to_have_attribute(
        "placeholder", vi["composer.placeholder"]
    )
    await expect(page.get_by_test_id("send-button")).to_have_text(vi["composer.send"])
    await expect(page.locator(".sidebar").get_by_test_id("language-switch")).to_have_value("vi")

    # "Remove the background" with nothing attached: the service says what to do, in Vietnamese.
    await send(page, "xóa phông nền")
    card = page.get_by_test_id("message-card").last
    await expect(card).to_have_attribute("data-status", "DONE", timeout=30_000)
    # In a conversation (even an empty one) the edit is read as a follow-up with nothing before it.
    await expect(card.locator(".reply")).to_have_text(replies("reply.no_source", "vi"))
    await expect(card.get_by_test_id("intent")).to_have_text(vi["intent.chat"])
    await expect(card.locator(".chip")).to_have_text(vi["status.done"])
    # The relative time and the count come from Intl in Vietnamese.
    now = await page.evaluate(
        "() => new Intl.RelativeTimeFormat('vi', {numeric: 'auto'}).format(0, 'second')"
    )
    await expect(card.locator("time")).to_have_text(now)
    item = page.get_by_test_id("conversation-item").first
    await expect(item).to_contain_text(vi["count.messages.other"].replace("{count}", "1"))
    # How long it took: a Vietnamese decimal comma ("0,4 giây"), from Intl.NumberFormat('vi').
    took = await card.locator(".card-foot span").first.inner_text()
    assert re.search(r"\d,\d", took), took
    assert not re.search(r"\d\.\d", took), took

    # A prompt over the limit: Send is off and the hint says why, in Vietnamese words with
    # Vietnamese numbers ("2.000").
    over = 7
    await page.get_by_test_id("prompt-input").fill("a" * (2000 + over))
    limit = await page.evaluate("() => new Intl.NumberFormat('vi').format(2000)")
    assert limit == "2.000"
    said = vi["composer.over.other"].replace("{count}", str(over)).replace("{limit}", limit)
    await expect(page.locator("#composer-hint")).to_have_text(said)
    await expect(page.get_by_test_id("send-button")).to_be_disabled()
    await expect(page.get_by_test_id("prompt-input")).to_have_attribute("aria-invalid", "true")

    # A picture of several views: view names and their grid in Vietnamese.
    await page.get_by_test_id("prompt-input").fill(
        "Renault Clio 2019 màu xanh, nhìn từ phía trước, bên hông và phía sau"
    )
    await page.get_by_test_id("send-button").click()
    drawn = page.get_by_test_id("message-card").last
    await expect(drawn.get_by_test_id("angle-image")).to_have_count(3, timeout=90_000)
    await expect(drawn).to_have_attribute("data-status", "DONE", timeout=30_000)
    await expect(drawn.get_by_test_id("intent")).to_have_text(vi["intent.generateAngles"])
    await expect(drawn.locator("figcaption .angle").first).to_have_text(vi["angle.front"])
    await expect(item).to_contain_text(vi["count.messages.other"].replace("{count}", "2"))

    await page.mouse.move(0, 0)
    SHOTS.mkdir(parents=True, exist_ok=True)
    update = os.environ.get("PHOTOFUN_UPDATE_SCREENSHOTS") == "1"
    shot = SCREENSHOT if update else SHOTS / "page-vi.png"
    await page.screenshot(path=str(shot), animations="disabled")

    # A refusal only the server can make (the page decodes an animated PNG's first frame and
    # sends it): worded by its reason in Vietnamese, not in the server's English.
    animated = tmp_path / "song.png"
    frames = [Image.new("RGB", (64, 48), colour) for colour in ("red", "blue")]
    frames[0].save(animated, save_all=True, append_images=frames[1:], duration=100, loop=0)
    await page.get_by_test_id("attach-input").set_input_files(str(animated))
    chip = page.get_by_test_id("attachment")
    await expect(chip).to_have_attribute("data-state", "failed", timeout=15_000)
    said = f"{vi['reason.animatedImage']} ({vi['code.invalidArgument']})"
    await expect(chip.get_by_test_id("attachment-error")).to_have_text(said)
    await chip.get_by_test_id("attachment-remove").click()


async def test_a_ukrainian_browser_gets_ukrainian_and_the_switch_is_remembered(
    open_page: Open,
) -> None:
    page = await open_page("uk-UA")
    uk, en = words("uk"), words("en")

    await expect(page.locator("html")).to_have_attribute("lang", "uk")
    await expect(page.get_by_test_id("new-conversation")).to_have_accessible_name(uk["sidebar.new"])
    await send(page, "що ти вмієш?")
    card = page.get_by_test_id("message-card").last
    await expect(card).to_have_attribute("data-status", "DONE", timeout=30_000)
    await expect(card.locator(".reply")).to_have_text(replies("reply.question", "uk"))
    await expect(card.get_by_test_id("intent")).to_have_text(uk["intent.chat"])
    # Ukrainian counts: "1 повідомлення".
    item = page.get_by_test_id("conversation-item").first
    await expect(item).to_contain_text(uk["count.messages.one"].replace("{count}", "1"))

    # The switch overrides the browser's language, for this page and the next visit; the words
    # in the prompt box survive the switch.
    await page.get_by_test_id("prompt-input").fill("намалюй кота")
    await page.locator(".sidebar").get_by_test_id("language-switch").select_option("en")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_test_id("new-conversation")).to_have_accessible_name(en["sidebar.new"])
    # The conversation stays open across the switch (it is in the address).
    await expect(page).to_have_url(re.compile(r"#/c/[0-9a-f]{24}$"))
    await expect(page.get_by_test_id("message-card").last.get_by_test_id("intent")).to_have_text(
        en["intent.chat"]
    )
    await expect(page.get_by_test_id("prompt-input")).to_have_value("намалюй кота")
    await page.reload()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator(".sidebar").get_by_test_id("language-switch")).to_have_value("en")
    stored = await page.evaluate("() => localStorage.getItem('photofun.lang')")
    assert stored == "en"
    # The boot script follows the choice too, not the browser's Ukrainian.
    assert await splash(page) == ("en", en["boot.loading"])
