"""The vehicle catalogue of the local analyser: makes and models, found in a prompt's tokens.

The data is `data/vehicles.toml` (its header describes the format): ~70 makes with their Latin
and Cyrillic spellings and ~600 models with body type and years. It is read once, when this
module is imported, into one dictionary keyed by the folded first word of every spelling, so
finding the vehicles of a prompt costs one or two dictionary look-ups per token.

Spellings are folded with `text.fold` (case, diacritics, apostrophes), and each one also gets
its digit/letter variants ("rav4" / "rav 4", "cr-v" / "crv"). A Cyrillic word also finds a model
written in Latin look-alike letters ("Х5" is "X5") and an inflected form of a Cyrillic
spelling ("Таврію" is "Таврія", "гольфу" is "гольф").

What counts as a car is left to the caller (`subject.find_vehicle`): a hit says whether its
spelling is also an ordinary word (`ambiguous`) and whether it only names the car right after
its make (`needs_brand`: numbers such as "911" or "2107", and codes of one or two letters).
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from prompt_svc.local.text import Token, fold

__all__ = ["BODY_TYPES", "BRANDS", "MODELS", "Hit", "Model", "brand_spellings", "find"]

BODY_TYPES = (
    "hatchback",
    "sedan",
    "suv",
    "crossover",
    "coupe",
    "sports car",
    "convertible",
    "pickup",
    "van",
    "minivan",
    "wagon",
)
# A letter code this long or shorter ("RX", "ES") names a car only after its make; with a
# digit ("X5", "C3") it stands alone.
_SHORT_CODE = 2
_LATIN_LOOKALIKES = str.maketrans("авекмнорстухі", "abekmhopctyxi")
_CYRILLIC_RE = re.compile("[\u0400-\u04ff]")
_DIGIT_SPLIT = re.compile(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])")
# Endings of an inflected Cyrillic spelling: "Таврію", "Гольфу", "Волгою".
_ENDINGS = frozenset(
    "а я у ю і и е є о ом ем ою ею ів ах ях ам ям ами ями ові еві".split()  # noqa: SIM905
)
_VOWELS = "аяоеєіиуюьй"
_MIN_STEM = 4


@dataclass(frozen=True, slots=True)
class Model:
    """One model of the catalogue."""

    brand: str
    name: str  # as it is written: "CR-V", "RAV4", "Land Cruiser"
    body: str  # one of BODY_TYPES
    first_year: int
    last_year: int  # 0: still built


@dataclass(frozen=True, slots=True)
class _Spelling:
    words: tuple[str, ...]  # folded tokens
    brand: str
    model: Model | None  # None: the make itself
    ambiguous: bool
    needs_brand: bool
    extra: tuple[str, ...] = ()  # words after the model's own name ("golf gti": "gti")


@dataclass(frozen=True, slots=True)
class Hit:
    """A make or model found at tokens [start, end)."""

    start: int
    end: int
    brand: str
    model: Model | None
    ambiguous: bool
    needs_brand: bool
    extra: tuple[str, ...] = ()


def _load() -> tuple[dict[str, tuple[str, ...]], list[Model], list[_Spelling]]:
    path = resources.files("prompt_svc.local") / "data" / "vehicles.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    brands: dict[str, tuple[str, ...]] = {}
    spellings: list[_Spelling] = []
    for brand, names in data["brands"].items():
        spelt = tuple(n.strip() for n in names.split("|") if n.strip())
        brands[brand] = spelt
        for name in spelt:
            words = _words(name.lstrip("~"))
            spellings.append(_Spelling(words, brand, None, name.startswith("~"), False))
    models: list[Model] = []
    for brand, block in data["models"].items():
        if brand not in brands:
            msg = f"data/vehicles.toml: models of an unknown make {brand!r}"
            raise ValueError(msg)
        for line in block.splitlines():
            if not line.strip():
                continue
            names, body, years = (part.strip() for part in line.split(";"))
            if body not in BODY_TYPES:
                msg = f"data/vehicles.toml: unknown body type {body!r} in {line.strip()!r}"
                raise ValueError(msg)
            first, _, last = years.partition("-")
            written = [n.strip() for n in names.split("|") if n.strip()]
            model = Model(brand, written[0].lstrip("~"), body, int(first), int(last or 0))
            models.append(model)
            own = _words(model.name)
            for name in written:
                words = _words(name.lstrip("~"))
                joined = "".join(words)
                needs_brand = (
                    joined.isdigit()
                    or len(joined) < _SHORT_CODE
                    or (joined.isalpha() and len(joined) <= _SHORT_CODE)
                )
                extra = words[len(own) :] if words[: len(own)] == own else ()
                spellings.append(
                    _Spelling(words, brand, model, name.startswith("~"), needs_brand, extra)
                )
    return brands, models, spellings


_TOKEN_RE = re.compile(r"[^\W_]+")


def _words(name: str) -> tuple[str, ...]:
    return tuple(fold(w) for w in _TOKEN_RE.findall(name))


def _variants(words: tuple[str, ...]) -> set[tuple[str, ...]]:
    """The spelling and its digit/letter splits and joins: rav4 ~ rav 4, cr v ~ crv."""
    found = {words}
    split = tuple(p for w in words for p in _DIGIT_SPLIT.sub(" ", w).split())
    found.add(split)
    if len(split) > 1 and len("".join(split)) <= 8 and all(w.isascii() for w in split):
        found.add(("".join(split),))
    return found


def _index(
    spellings: Sequence[_Spelling],
) -> tuple[dict[str, list[_Spelling]], dict[str, list[_Spelling]]]:
    exact: dict[str, list[_Spelling]] = defaultdict(list)
    stems: dict[str, list[_Spelling]] = defaultdict(list)
    seen: set[tuple[tuple[str, ...], str, str]] = set()
    for spelling in spellings:
        for words in _variants(spelling.words):
            key = (words, spelling.brand, spelling.model.name if spelling.model else "")
            if not words or key in seen:
                continue
            seen.add(key)
            variant = _Spelling(
                words,
                spelling.brand,
                spelling.model,
                spelling.ambiguous,
                spelling.needs_brand,
                spelling.extra,
            )
            exact[words[0]].append(variant)
            word = words[0]
            if len(words) == 1 and _CYRILLIC_RE.search(word) and len(word) >= _MIN_STEM:
                stems[word[:-1] if word[-1] in _VOWELS else word].append(variant)
    for bucket in (*exact.values(), *stems.values()):
        # Longest spelling first; a model before its make ("mazda 3" before "mazda").
        bucket.sort(key=lambda s: (len(s.words), s.model is not None), reverse=True)
    return exact, stems


BRANDS, MODELS, _SPELLINGS = _load()
_EXACT, _STEMS = _index(_SPELLINGS)


def brand_spellings() -> list[tuple[str, str]]:
    """(spelling, brand) of every make that is not also an ordinary word, for the lexicon."""
    return [
        (name, brand)
        for brand, names in BRANDS.items()
        for name in names
        if not name.startswith("~")
    ]


def find(tokens: Sequence[Token]) -> list[Hit]:
    """Every make and model spelt in `tokens`, left to right, longest spelling first."""
    hits: list[Hit] = []
    i = 0
    count = len(tokens)
    while i < count:
        word = tokens[i].folded
        candidates = _EXACT.get(word) or (_CYRILLIC_RE.search(word) and _other_forms(word))
        found = None
        for spelling in candidates or ():
            size = len(spelling.words)
            if size == 1 or _fits(spelling.words, tokens, i):
                found = spelling
                break
        if found is None:
            i += 1
            continue
        end = i + len(found.words)
        hits.append(
            Hit(i, end, found.brand, found.model, found.ambiguous, found.needs_brand, found.extra)
        )
        i = end
    return hits


def _other_forms(word: str) -> list[_Spelling]:
    """Spellings of a Cyrillic word written with Latin look-alikes or inflected."""
    latin = word.translate(_LATIN_LOOKALIKES)
    if latin.isascii():
        found = _EXACT.get(latin)
        if found:
            return found
    for cut in (1, 2, 3):
        if len(word) - cut >= _MIN_STEM and word[-cut:] in _ENDINGS:
            stemmed = _STEMS.get(word[:-cut])
            if stemmed:
                return [s for s in stemmed if len(s.words) == 1]
    return []


def _fits(words: tuple[str, ...], tokens: Sequence[Token], i: int) -> bool:
    if i + len(words) > len(tokens):
        return False
    for offset, want in enumerate(words):
        word = tokens[i + offset].folded
        if word != want and word.translate(_LATIN_LOOKALIKES) != want:
            return False
    return True
