"""No retired model or endpoint in the sources, and one default per model everywhere it is written.

Issue 19's "done when": the defaults were retired models nobody noticed. These tests keep the
retired names (``cloud_contracts.RETIRED``) out of every tracked file that is not a test or a
document (those name them on purpose, as examples of what is refused), and keep each default
of ``mesh/providers.py`` the same in ``.env.example`` and ``docker-compose.yml`` and accepted by
the strict fakes' contracts.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from mesh import providers
from tests import cloud_contracts as contracts

ROOT = Path(__file__).resolve().parents[3]
# Where a retired name may appear: tests and documents that show it being refused.
EXEMPT = re.compile(r"^(tests/|docs/)|\.md$|^CHANGELOG")
# The environment name of each default, as the services read it.
DEFAULTS = {
    "GEMINI_MODEL": providers.GEMINI_TEXT_MODEL,
    "GEMINI_IMAGE_MODEL": providers.GEMINI_IMAGE_MODEL,
    "OPENAI_IMAGE_MODEL": providers.OPENAI_IMAGE_MODEL,
    "POLLINATIONS_MODEL": providers.POLLINATIONS_IMAGE_MODEL,
}


def tracked_sources() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [ROOT / name for name in listed.split("\0") if name and not EXEMPT.search(name)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ('DEFAULT_MODEL = "gemini-2.5-flash"', ["Gemini 1.x, 2.0 and 2.5 models"]),
        ("model=gemini-2.0-flash-lite", ["Gemini 1.x, 2.0 and 2.5 models"]),
        ('"gpt-image-1.5"', ["GPT Image 1 models"]),
        ("OPENAI_IMAGE_MODEL=gpt-image-1-mini", ["GPT Image 1 models"]),
        ("if model.startswith('dall-e-3'):", ["DALL·E models"]),
        ("chatgpt-image-latest", ["chatgpt-image-latest"]),
        (
            'f"https://image.pollinations.ai/prompt/{p}"',
            [
                "Pollinations' legacy image host",
                "Pollinations' legacy /prompt/ path",
            ],
        ),
        ('IMAGE_PATH = "/prompt/"', ["Pollinations' legacy /prompt/ path"]),
        # Current names and look-alikes are not retired.
        ("gemini-3.5-flash-lite gemini-3.1-flash-image gpt-image-2.6-flare gpt-image-2", []),
        ('f"{base}/image/{prompt}" gen.pollinations.ai, a prompt/answer pair', []),
    ],
)
def test_the_retired_patterns_find_what_they_name(text: str, found: list[str]) -> None:
    assert contracts.retired_names(text) == found


def test_no_source_or_setting_names_a_retired_model_or_endpoint() -> None:
    files = tracked_sources()
    names = {path.relative_to(ROOT).as_posix() for path in files}
    # The scan covers the code, the settings examples, compose and the page.
    assert {".env.example", "docker-compose.yml", "mesh/providers.py"} <= names
    assert any(name.startswith("web/src/") for name in names)
    found = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):  # binaries; deleted but still listed
            continue
        if hits := contracts.retired_names(text):
            found[path.relative_to(ROOT).as_posix()] = hits
    assert found == {}


def test_every_default_model_is_current_and_written_once() -> None:
    assert providers.GEMINI_TEXT_MODEL in contracts.GEMINI_TEXT_MODELS
    assert providers.GEMINI_IMAGE_MODEL in contracts.GEMINI_IMAGE_MODELS
    assert providers.OPENAI_IMAGE_MODEL in contracts.OPENAI_IMAGE_MODELS
    assert providers.POLLINATIONS_IMAGE_MODEL in contracts.POLLINATIONS_IMAGE_MODELS
    assert providers.GEMINI_API_VERSION == "v1beta"
    # .env.example shows each default (commented out, so the code's default applies)...
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    shown = dict(re.findall(r"(?m)^#? ?([A-Z_]+_MODEL)=(\S*)$", example))
    assert shown == DEFAULTS
    # ...and compose writes no second copy of one: .env reaches the containers through
    # env_file (a "${NAME:-}" would even blank it, overriding .env with an empty string).
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert re.findall(r"\$\{[A-Z_]*_MODEL:?-[^}]*\}", compose) == []
    assert re.findall(r"(?m)^\s+([A-Z_]*_MODEL):", compose) == []
