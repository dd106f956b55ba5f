"""What a user types is checked once, the same way in every service (mesh.limits.user_text)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesh.errors import InvalidArgument
from mesh.limits import user_text


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
