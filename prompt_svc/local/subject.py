"""Subject and viewpoint extraction of the local analyser: car brand, model, year, angles."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from prompt_svc.local.lexicon import Match
from prompt_svc.local.text import Token

_YEAR_RE = re.compile(r"(?<!\d)(19[5-9]\d|20[0-2]\d|203[0-5])(?!\d)")
# A second model word only follows these ("Model Y", "Range Rover Sport" is out of scope).
_SERIES_WORDS = frozenset({"model", "grand", "santa", "series", "class", "type"})
_MODEL_SEPARATORS = frozenset({" ", "-"})
_MAX_MODEL_UNITS = 2
_VERB_ENDINGS = ("ing", "ed")
# Known words that still end a model name even when capitalised ("Clio Blue", "X5 SUV").
_NOT_MODEL = frozenset({"color", "body", "angle", "stop", "vehicle", "brand", "view", "style"})

DEFAULT_VIEWS: tuple[str, ...] = ("front", "side", "rear")
ALL_SIDES: tuple[str, ...] = ("front", "front_three_quarter", "side", "rear_three_quarter", "rear")
_MULTI_WINDOW = 3


@dataclass(frozen=True, slots=True)
class Vehicle:
    """Brand, model and year found in the prompt, and which matches they used."""

    brand: str = ""
    model: str = ""
    year: int = 0
    used: frozenset[int] = frozenset()  # indices into the match list


def find_year(text: str) -> int:
    """The first plausible model year (1950..2035) in `text`, or 0."""
    found = _YEAR_RE.search(text)
    return int(found.group()) if found else 0


def _model_case(raw: str) -> str:
    if any(ch.isupper() for ch in raw):
        return raw
    parts = re.split(r"([ -])", raw)
    return "".join(
        p.upper() if (len(p) <= 2 or any(c.isdigit() for c in p)) else p.capitalize() for p in parts
    )


def _model_word(match: Match, token: Token) -> bool:
    word = token.folded
    if not word.isascii() or _YEAR_RE.fullmatch(word):
        return False
    if any(ch.isdigit() for ch in word):
        return True
    if "unk" in match.tags:
        # "a toyota parked by the sea": an English verb form is not a model name.
        return token.text != word or not word.endswith(_VERB_ENDINGS)
    # "Honda City", "Kia Morning": a capitalised ordinary word right after the brand.
    return token.text[:1].isupper() and not match.tags & _NOT_MODEL


def find_vehicle(text: str, tokens: Sequence[Token], matches: Sequence[Match]) -> Vehicle:
    """Brand from the lexicon, model from the words right after it, year from anywhere."""
    year = find_year(text)
    brand_at = next((i for i, m in enumerate(matches) if "brand" in m.tags), -1)
    if brand_at < 0:
        return Vehicle(year=year)
    used = {brand_at}
    units: list[list[int]] = []
    for i in range(brand_at + 1, len(matches)):
        match = matches[i]
        token = tokens[match.start]
        gap = text[tokens[match.start - 1].end : token.start]
        if gap not in _MODEL_SEPARATORS or not _model_word(match, token):
            break
        if gap == "-" and units:
            units[-1].append(i)
            continue
        if len(units) == _MAX_MODEL_UNITS:
            break
        if units and not _second_unit_ok(tokens, matches, units[0], token):
            break
        units.append([i])
    model = ""
    if units:
        first = tokens[matches[units[0][0]].start]
        last = tokens[matches[units[-1][-1]].start]
        model = _model_case(text[first.start : last.end])
        used.update(i for unit in units for i in unit)
    return Vehicle(matches[brand_at].gloss, model, year, frozenset(used))


def _second_unit_ok(
    tokens: Sequence[Token], matches: Sequence[Match], first: list[int], token: Token
) -> bool:
    head = tokens[matches[first[0]].start].folded
    return head in _SERIES_WORDS or len(token.folded) <= 3 or any(c.isdigit() for c in token.folded)


def find_angles(matches: Sequence[Match]) -> tuple[tuple[str, ...], str]:
    """Angles named in order (deduplicated) and the multi-view kind: "", "some" or "all"."""
    angles: list[str] = []
    multiview = ""
    pending = ""  # a "several"/"all" waiting for its "angles"/"sides" noun
    distance = 0
    for match in matches:
        tags = match.tags
        if "angle" in tags and match.gloss not in angles:
            angles.append(match.gloss)
        if "multi" in tags and "view" in tags:
            multiview = _stronger(multiview, match.gloss)
        elif "multi" in tags:
            pending, distance = match.gloss, 0
        elif "view" in tags and pending:
            multiview = _stronger(multiview, pending)
            pending = ""
        elif pending and "stop" not in tags:
            distance += 1
            if distance >= _MULTI_WINDOW:
                pending = ""
    return tuple(angles), multiview


def _stronger(current: str, new: str) -> str:
    return "all" if "all" in (current, new) else new
