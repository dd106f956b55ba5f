"""The page as build.mjs writes it: the loading splash and the no-JavaScript note carry the
words of every catalogue, and nothing English is left in the page for boot.js to replace.

(That boot.js picks the reader's language and sets ``<html lang>`` before the bundle runs is
tested in Chromium: tests/e2e/test_browser_languages.py.)
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"
LOCALES = sorted(p.stem for p in (WEB / "src" / "locales").glob("*.json"))


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: Node.js is a requirement (README), run make env")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([node, str(WEB / "build.mjs"), "--outdir", str(out)], check=True)
    assert (out / "boot.js").is_file()
    return (out / "index.html").read_text("utf-8")


def words(lang: str) -> dict[str, str]:
    catalogue: dict[str, str] = json.loads((WEB / "src" / "locales" / f"{lang}.json").read_text())
    return catalogue


def test_the_splash_carries_every_languages_words(page: str) -> None:
    splash = re.search(r'<span id="boot-words"([^>]*)></span>', page)
    assert splash is not None
    found = dict(re.findall(r'data-([a-z]+)="([^"]*)"', splash.group(1)))
    assert {k: html.unescape(v) for k, v in found.items()} == {
        lang: words(lang)["boot.loading"] for lang in LOCALES
    }
    assert next(iter(found)) == "en"  # the default, which boot.ts falls back to, comes first
    # boot.js runs before the module bundle, while the splash is being parsed.
    assert page.index('src="boot.js"') < page.index("</body>")
    assert '<script src="boot.js"></script>' in page


def test_the_no_javascript_note_is_in_every_language_with_its_lang(page: str) -> None:
    noscript = re.search(r"<noscript>(.*?)</noscript>", page, re.S)
    assert noscript is not None
    notes = dict(re.findall(r'<p lang="([a-z]+)">([^<]*)</p>', noscript.group(1)))
    assert notes == {lang: html.escape(words(lang)["boot.noscript"]) for lang in LOCALES}


def test_no_english_is_left_outside_the_words_boot_js_picks_from(page: str) -> None:
    body = page.split("<body>", 1)[1]
    visible = re.sub(r"<noscript>.*?</noscript>|<!--.*?-->|<[^>]*>", "", body, flags=re.S)
    assert visible.strip() == ""  # every word is in an attribute or a lang-marked note
    assert "data-words=" not in page
