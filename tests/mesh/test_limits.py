"""What a user types is checked once, the same way in every service (mesh.limits.user_text)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesh.errors import InvalidArgument
from mesh.limits import MAX_DERIVED_TITLE_CHARS, title_of, user_text


def test_tabs_and_line_breaks_are_text_and_the_rest_is_trimmed() -> None:
    typed = "  a red car,\n\tfront\r\nside  "
    assert user_text(typed, "prompt", 100) == "a red car,\n\tfront\r\nside"


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b"])
def test_other_control_characters_are_refused_by_name(char: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        user_text(f"a car {char} here", "prompt", 100)
    assert refused.value.field == "prompt"
    assert f"U+{ord(char):04X}" in refused.value.message


@given(st.text(st.characters(exclude_categories=["Cc", "Cs"]), min_size=1, max_size=50))
def test_any_other_text_within_the_limit_is_kept(text: str) -> None:
    if text.strip():
        assert user_text(text, "prompt", 50) == text.strip()


# A conversation title derived from its first prompt (conversation_svc and the CLI share it).
CAMRY = "vẽ cho tôi chiếc xe Toyota Camry màu đỏ, góc trước và góc sau"


def test_a_long_prompt_is_cut_after_its_last_whole_word_with_an_ellipsis() -> None:
    title = title_of(CAMRY)
    assert title == "vẽ cho tôi chiếc xe Toyota Camry màu đỏ, góc trước và góc…"
    assert len(title) <= MAX_DERIVED_TITLE_CHARS
    assert title_of("  a   cat\n on a sofa ") == "a cat on a sofa"  # short: folded, no "…"
    assert title_of("one two three", 8) == "one two…"
    assert title_of("one two, three", 10) == "one two…"  # no dangling comma


def test_a_cut_never_falls_inside_a_grapheme_cluster() -> None:
    # Vietnamese written decomposed: "ế" is e + U+0302 + U+0301; no space to cut at.
    word = unicodedata.normalize("NFD", "nghiêngế" * 12)
    title = title_of(word, 20)
    assert title.endswith("…")
    assert unicodedata.category(word[len(title) - 1]) not in {"Mn", "Mc", "Me"}
    assert word.startswith(title[:-1])
    # A zero-width-joined emoji stays whole or goes whole.
    family = "👩\u200d👩\u200d👧"
    title = title_of("x" * 17 + family + "y" * 10, 20)
    assert title in {"x" * 17 + "…", "x" * 17 + family + "…"}


@given(st.text(min_size=1, max_size=300))
def test_a_title_fits_and_is_the_start_of_the_folded_prompt(prompt: str) -> None:
    title = title_of(prompt)
    folded = " ".join(prompt.split())
    assert len(title) <= MAX_DERIVED_TITLE_CHARS
    if len(folded) <= MAX_DERIVED_TITLE_CHARS:
        assert title == folded
    else:
        assert title.endswith("…")
        assert folded.startswith(title[:-1])
