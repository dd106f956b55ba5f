"""Phrase lexicon and matcher of the local analyser.

The word tables are TOML files in `words/` (`en.toml`, `vi.toml`, `uk.toml`; the car makes,
shared by all three, come from the vehicle catalogue, `catalogue.py`), one string of entries per
tag:

    "noun:person" = '''
        cô gái | con gái = girl
        дівчин* = girl
    '''

Each line is one entry (";" also separates entries): phrases separated by "|", optionally
"= gloss" (the English word; by default the first phrase itself). A phrase is words separated
by spaces; a word ending in "*" matches any word it begins (Ukrainian inflection). A tag key
may join tags with "+", and may end in "#note" to open a second block of the same tag further
down: when a word typed without diacritics fits entries of equal length, the one listed first
wins, so the order of the keys in a file matters. The tables are read and folded with
`text.fold` once, when this module is imported, and matching picks, at each position, the
longest phrase; ties go to the prompt's own language. A Vietnamese word typed with diacritics
only matches entries spelt with the same ones (see `text.marks`).
An unknown word of five letters or more that is one typo (a letter missing, extra, wrong or
two swapped) away from exactly one English single-word entry is read as that entry
("remvoe", "backgorund", "enchance").
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from importlib import resources

from prompt_svc.local.catalogue import brand_spellings
from prompt_svc.local.text import Token, fold, marks

_MIN_STEM = 2
_MIN_TYPO = 5  # shorter words are too often another real word one letter away
_QWERTY = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
# Keys that touch each key on a QWERTY keyboard (same row and the rows above and below).
_NEIGHBOURS = {
    key: "".join(
        other
        for r2, line2 in enumerate(_QWERTY)
        for c2, other in enumerate(line2)
        if other != key and abs(r2 - r) <= 1 and abs(c2 - c) <= 1
    )
    for r, line in enumerate(_QWERTY)
    for c, key in enumerate(line)
}

# A pattern word: (folded text, matches as prefix, diacritics as spelt).
_Word = tuple[str, bool, str]


@dataclass(frozen=True, slots=True)
class Entry:
    """One lexicon phrase with what it means."""

    tags: frozenset[str]
    gloss: str
    pattern: tuple[_Word, ...]
    rank: int  # 0 = the prompt's own language; breaks ties between equally long phrases
    weight: tuple[int, int, int] = (0, 0, 0)  # filled in by `_entry`


def _entry(tags: frozenset[str], gloss: str, pattern: tuple[_Word, ...], rank: int) -> Entry:
    """An entry with its sort key: longer phrases first, then own language, exact over prefix."""
    chars = sum(len(w) + (0 if prefix else 1) for w, prefix, _ in pattern)
    return Entry(tags, gloss, pattern, rank, (len(pattern), -rank, chars))


@dataclass(frozen=True, slots=True)
class Match:
    """A run of tokens [start, end) recognised as one lexicon entry (or as unknown)."""

    start: int
    end: int
    tags: frozenset[str]
    gloss: str
    rank: int = -1  # the entry's rank; -1 for unknown words


UNKNOWN = frozenset({"unk"})
WORDS = resources.files("prompt_svc.local") / "words"


def load_table(name: str) -> dict[str, str]:
    """The word table `words/<name>.toml`: tag -> its entries, in the file's order."""
    table = tomllib.loads((WORDS / f"{name}.toml").read_text(encoding="utf-8"))
    for tag, block in table.items():
        if not isinstance(block, str):
            msg = f"words/{name}.toml: {tag!r} must be a string of entries"
            raise TypeError(msg)
    return table


def parse(table: Mapping[str, str], rank: int = 0) -> list[Entry]:
    """The entries of one word table; `rank` 0 is the prompt's own language."""
    entries: list[Entry] = []
    for key, block in table.items():
        tags = frozenset(key.partition("#")[0].split("+"))
        for raw_line in block.replace(";", "\n").splitlines():
            line = raw_line.strip()
            if not line:
                continue
            phrases, _, gloss = line.partition("=")
            if "=" in gloss:
                msg = f"one gloss per entry, split the line: {line!r}"
                raise ValueError(msg)
            alternatives = [p.strip() for p in phrases.split("|") if p.strip()]
            default_gloss = alternatives[0].replace("*", "")
            for phrase in alternatives:
                pattern = tuple(
                    (fold(w.rstrip("*")), w.endswith("*"), marks(w)) for w in phrase.split()
                )
                entries.append(_entry(tags, gloss.strip() or default_gloss, pattern, rank))
    return entries


class Matcher:
    """Longest-match phrase finder over folded tokens, built once at import time."""

    def __init__(self, entries: Sequence[Entry], typo_source: Sequence[Entry] = ()) -> None:
        self._exact: dict[str, list[Entry]] = defaultdict(list)
        self._prefix: dict[str, list[Entry]] = defaultdict(list)
        for entry in entries:
            word, is_prefix, _ = entry.pattern[0]
            (self._prefix if is_prefix else self._exact)[word].append(entry)
        for bucket in (*self._exact.values(), *self._prefix.values()):
            bucket.sort(key=lambda e: e.weight, reverse=True)
        self._typos = _TypoIndex(typo_source)

    def _candidates(self, word: str) -> list[Entry]:
        found = list(self._exact.get(word, ()))
        for size in range(_MIN_STEM, len(word) + 1):
            found.extend(self._prefix.get(word[:size], ()))
        return found

    def match(self, tokens: Sequence[Token], names: Set[int] = frozenset()) -> list[Match]:
        """Cover `tokens` left to right with the best entries; unknown words stand alone.

        Tokens in `names` (car makes and models) are never read as typos of another word
        ("Range Rover" is not "orange river").
        """
        out: list[Match] = []
        i = 0
        while i < len(tokens):
            best: Entry | None = None
            for entry in self._candidates(tokens[i].folded):
                if (best is None or entry.weight > best.weight) and _fits(entry, tokens, i):
                    best = entry
            if best is None and i not in names:
                best = self._typos.find(tokens[i])
            if best is None:
                out.append(Match(i, i + 1, UNKNOWN, tokens[i].folded))
                i += 1
            else:
                out.append(Match(i, i + len(best.pattern), best.tags, best.gloss, best.rank))
                i += len(best.pattern)
        return out


def _fits(entry: Entry, tokens: Sequence[Token], i: int) -> bool:
    if i + len(entry.pattern) > len(tokens):
        return False
    for offset, (want, is_prefix, spelt) in enumerate(entry.pattern):
        token = tokens[i + offset]
        word = token.folded
        if not (word.startswith(want) if is_prefix else word == want):
            return False
        if token.marks and token.marks != spelt:
            return False
    return True


class _TypoIndex:
    """Single English words reachable by one typo, via their one-letter deletions."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self._by_word: dict[str, Entry] = {}
        self._by_deletion: dict[str, list[str]] = defaultdict(list)
        for entry in entries:
            if len(entry.pattern) != 1:
                continue
            word, is_prefix, _ = entry.pattern[0]
            if is_prefix or len(word) < _MIN_TYPO or not word.isascii():
                continue
            if self._by_word.setdefault(word, entry) is entry:
                for variant in _deletions(word):
                    self._by_deletion[variant].append(word)

    def find(self, token: Token) -> Entry | None:
        """The one entry `token` is a typo of, or None (none, or ambiguous)."""
        word = token.folded
        if len(word) < _MIN_TYPO or not word.isascii() or not word.isalpha():
            return None
        candidates = set(self._by_deletion.get(word, ()))  # a letter missing
        for variant in _deletions(word):
            if variant in self._by_word:
                candidates.add(variant)  # a letter extra
            candidates.update(self._by_deletion.get(variant, ()))
        close = [self._by_word[c] for c in sorted(candidates) if _one_typo(word, c)]
        meanings = {(e.tags, e.gloss) for e in close}
        return close[0] if len(meanings) == 1 else None


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_typo(a: str, b: str) -> bool:
    """One slip of the keyboard: a letter missing or extra, two swapped, or a neighbour key.

    A wrong letter only counts when its key touches the right one, so that real words one
    letter apart ("remote" / "remove") are left alone.
    """
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return b[diff[0]] in _NEIGHBOURS.get(a[diff[0]], "")
        first, second = diff if len(diff) == 2 else (0, 0)
        return second == first + 1 and a[first] == b[second] and a[second] == b[first]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


@dataclass(frozen=True)
class _AngleWords:
    """Single view words ("front", "rear", "спереду") that a typo may stand for, indexed by
    their one-letter deletions so that a look-up costs O(length of the word)."""

    by_word: dict[str, Entry]
    by_deletion: dict[str, list[str]]


def _angle_words(entries: Sequence[Entry]) -> _AngleWords:
    found: dict[str, Entry] = {}
    for entry in entries:
        if "angle" in entry.tags and len(entry.pattern) == 1:
            word, is_prefix, _ = entry.pattern[0]
            if not is_prefix and len(word) >= _MIN_ANGLE_TYPO and word.isalpha():
                found.setdefault(word, entry)
    deletions: dict[str, list[str]] = defaultdict(list)
    for word in found:
        for variant in _deletions(word):
            deletions[variant].append(word)
    return _AngleWords(found, dict(deletions))


# Real words one typo from a view word, never read as one.
_REAL_WORDS_NEAR_VIEWS = (
    "wide ride site read real rare bear dear fear near hear year tear wear aside slide tide "
    "font fronts sides rears backs pack rack sack lack hack tack lift loft left right bright "
    "fright eight fight light night sight tight might rights"
)
_NOT_ANGLE_TYPOS = frozenset(_REAL_WORDS_NEAR_VIEWS.split())
_MIN_ANGLE_TYPO = 4


def angle_typo(token: Token, lang: str) -> Entry | None:
    """The view word `token` is one typo of ("rera" rear, "спреду" спереду), or None."""
    word = token.folded
    if len(word) < _MIN_ANGLE_TYPO or not word.isalpha() or word in _NOT_ANGLE_TYPOS:
        return None
    index = _ANGLE_WORDS.get(lang, _ANGLE_WORDS["en"])
    candidates = set(index.by_deletion.get(word, ()))  # a letter missing
    for variant in _deletions(word):
        if variant in index.by_word:
            candidates.add(variant)  # a letter extra
        candidates.update(index.by_deletion.get(variant, ()))  # swapped or wrong
    slip = _one_typo if word.isascii() else _one_slip
    close = {index.by_word[c].gloss: index.by_word[c] for c in candidates if slip(word, c)}
    return next(iter(close.values())) if len(close) == 1 else None


def _one_slip(a: str, b: str) -> bool:
    """A letter missing or extra, or two swapped (any alphabet)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


_EN = load_table("en")
_VI = load_table("vi")
_UK = load_table("uk")

# Scripts keep Ukrainian apart, but plain-ASCII Vietnamese collides with English ("to", "do",
# "ban"), so Vietnamese words are only active for Vietnamese prompts, and win there.
_BRANDS = parse({"brand": "\n".join(f"{n} = {b}" for n, b in brand_spellings())}, 0)
_TYPO_SOURCE = _BRANDS + parse(_EN, 0)
_ANGLE_WORDS = {
    "en": _angle_words(parse(_EN)),
    "vi": _angle_words(parse(_VI) + parse(_EN)),
    "uk": _angle_words(parse(_UK) + parse(_EN)),
}
MATCHERS: dict[str, Matcher] = {
    "en": Matcher(_BRANDS + parse(_EN, 0) + parse(_UK, 1), _TYPO_SOURCE),
    "vi": Matcher(_BRANDS + parse(_VI, 0) + parse(_EN, 1) + parse(_UK, 2), _TYPO_SOURCE),
    "uk": Matcher(_BRANDS + parse(_UK, 0) + parse(_EN, 1), _TYPO_SOURCE),
}
