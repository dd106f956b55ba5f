"""Text normalisation for the local analyser: folding, tokens and script-based language hints.

Folding makes matching blind to letter case, Vietnamese diacritics (NFD, combining marks
dropped, đ → d) and Ukrainian apostrophe variants. The same fold is applied to the lexicon
at import time, so a lexicon entry written with diacritics matches text typed without them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Users type the Ukrainian apostrophe as any of these (and English uses them in "it's").
_APOSTROPHES = "'’ʼ`‘"
_APOSTROPHE_RE = re.compile(f"[{_APOSTROPHES}]")

# A Latin letter inside a Cyrillic word is a keyboard-layout slip ("пiксель", "усiх").
_HOMOGLYPHS = str.maketrans("aceiopxykmthb", "асеіорхукмтнв")

# "3/4" is a view name, so it must survive as one token; hyphens split ("чорно-біле").
_TOKEN_RE = re.compile(rf"\d+/\d+|[^\W_]+(?:[{_APOSTROPHES}][^\W_]+)*")
_CYRILLIC_RE = re.compile("[\u0400-\u04ff]")

# Letters that only Vietnamese uses among our three languages (or nearly so).
_VI_LETTERS = frozenset("ăâđêôơưằắẳẵặầấẩẫậềếểễệồốổỗộờớởỡợừứửữựảạẻẽẹỉịỏọủụỳỷỹỵãĩũ")
# Accented letters Vietnamese shares with French, Spanish, etc.: weaker evidence.
_VI_SHARED = frozenset("àáèéìíòóõùúý")


@dataclass(frozen=True, slots=True)
class Token:
    """One word of the prompt: as typed, folded for matching, and where it was."""

    text: str
    folded: str
    start: int
    end: int
    marks: str = ""  # Vietnamese diacritics it was typed with (see `marks`)


def strip_marks(text: str) -> str:
    """Drop combining marks (NFD) and map đ → d; keeps case."""
    decomposed = unicodedata.normalize("NFD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return plain.replace("đ", "d").replace("Đ", "D")


def marks(word: str) -> str:
    """The Vietnamese diacritics of a Latin-script word, order-free ("" when typed plain).

    Folding loses them, so "đậu" (parked) and "đâu" (where) look alike; when the user did type
    the marks, comparing them tells the words apart. Sorting makes the two accepted tone
    placements ("xóa" / "xoá") equal. Cyrillic words have none (й and ї are letters).
    """
    if _CYRILLIC_RE.search(word):
        return ""
    decomposed = unicodedata.normalize("NFD", word.casefold())
    found = sorted(ch for ch in decomposed if unicodedata.combining(ch))
    if "đ" in decomposed:
        found.append("đ")
    return "".join(found)


def fold(word: str) -> str:
    """Fold one word for matching: lower case, no marks, no apostrophes, no homoglyphs."""
    lowered = _APOSTROPHE_RE.sub("", word.casefold())
    if _CYRILLIC_RE.search(lowered):
        lowered = lowered.translate(_HOMOGLYPHS)
    return strip_marks(lowered)


@lru_cache(maxsize=8192)
def _fold_and_marks(word: str) -> tuple[str, str]:
    # Prompts reuse a small vocabulary, so caching the per-word Unicode work pays.
    return fold(word), marks(word)


def tokenize(text: str) -> list[Token]:
    """Split NFC text into word tokens, each with its folded form and span."""
    tokens = []
    for m in _TOKEN_RE.finditer(text):
        folded, typed_marks = _fold_and_marks(m.group())
        tokens.append(Token(m.group(), folded, m.start(), m.end(), typed_marks))
    return tokens


def normalize(text: str) -> str:
    """NFC and collapsed whitespace: the form every other step works on."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def script_language(text: str) -> str:
    """Return "uk" or "vi" when the letters alone tell (Cyrillic, Vietnamese marks), else ""."""
    if _CYRILLIC_RE.search(text):
        # Any Cyrillic means Ukrainian here; Russian is not a supported language.
        return "uk"
    lowered = unicodedata.normalize("NFC", text).casefold()
    strong = sum(ch in _VI_LETTERS for ch in lowered)
    weak = sum(ch in _VI_SHARED for ch in lowered)
    return "vi" if strong or weak >= 2 else ""
