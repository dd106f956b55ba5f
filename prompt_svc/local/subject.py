"""Subject and viewpoint extraction of the local analyser: car brand, model, year, angles."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from prompt_svc.local.catalogue import Hit
from prompt_svc.local.lexicon import Match
from prompt_svc.local.text import Token

_YEAR_RE = re.compile(r"(?<!\d)(19[5-9]\d|20[0-2]\d|203[0-5])(?!\d)")
# A second model word only follows these ("Model Y", "Range Rover Sport" is out of scope).
_SERIES_WORDS = frozenset({"model", "grand", "santa", "series", "class", "type"})
_MODEL_SEPARATORS = frozenset({" ", "-"})
_MAX_MODEL_UNITS = 2
_VERB_ENDINGS = ("ing", "ed")
# Known words that still end a model name even when capitalised ("Clio Blue", "X5 SUV").
# Words that make a name that is also an ordinary word ("Golf") a car.
_CAR_CONTEXT = frozenset({"vehicle", "body", "brand"})
# A capitalised such name next to a colour or a view is a car too ("red Mustang, side view").
_HINTS = frozenset({"color", "angle"})
# Tags a model's word may carry in the lexicon without being something else.
_MODEL_TAGS = frozenset({"unk", "brand"})
_MULTI = frozenset({"multi"})
_MAX_SUFFIX = 4
_NOT_MODEL = frozenset({"color", "body", "angle", "stop", "vehicle", "brand", "view", "style"})

DEFAULT_VIEWS: tuple[str, ...] = ("front", "side", "rear")
ALL_SIDES: tuple[str, ...] = ("front", "front_three_quarter", "side", "rear_three_quarter", "rear")
# The views that come after all sides when more are asked for, in this order.
EXTRA_VIEWS: tuple[str, ...] = (
    "top",
    "side_right",
    "front_three_quarter_right",
    "rear_three_quarter_right",
)
_MULTI_WINDOW = 3
_KIND_RANK = {"a": 3, "n": 2, "s": 1}
_QUARTER_OF = {"rear": "rear_three_quarter", "front": "front_three_quarter"}
_QUARTER_REACH = 4  # matches from the three-quarter to its rear/front word
_CONJUNCTIONS = frozenset({"and", "or", "plus", "then", "va", "hoac", "voi", "i", "и", "та", "або"})


@dataclass(frozen=True, slots=True)
class Vehicle:
    """Brand, model and year found in the prompt, and which matches they used."""

    brand: str = ""
    model: str = ""
    year: int = 0
    used: frozenset[int] = frozenset()  # indices into the match list
    body: str = ""  # the catalogue's body type of the model, "" when not known


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


def find_vehicle(
    text: str, tokens: Sequence[Token], matches: Sequence[Match], hits: Sequence[Hit]
) -> Vehicle:
    """Make and model from the catalogue `hits`, year from anywhere.

    A model named alone gives its make ("silver Corolla" is a Toyota). A name that is also an
    ordinary word (catalogue "~", or a word the lexicon knows: "Golf", "Mustang", "City") is a
    car only in a car context: a car or body-type word, a year, or typed with a capital next
    to a colour or a view ("red Mustang, front and rear"). Numbers and one- or two-letter codes
    ("911", "2107", "RX") only name a model right after its make. A make with a model the
    catalogue does not know keeps the words right after it ("Mercedes C300").
    """
    year = find_year(text)
    seen = _Seen(text, tokens, matches, _owners(tokens, matches), year)
    context = bool(year) or any(m.tags & _CAR_CONTEXT for m in matches)
    hinted = any(m.tags & _HINTS for m in matches)
    views = sum("angle" in m.tags for m in matches) >= 2 or any(m.tags & _MULTI for m in matches)
    for k, hit in enumerate(hits):
        after = hits[k + 1] if k + 1 < len(hits) and hits[k + 1].start == hit.end else None
        if hit.model is None:
            paired = after is not None and after.model is not None
            if hit.ambiguous and not (context or paired):
                continue
            if paired and after is not None and after.model is not None:
                return _named(seen, hit, after)
            return _make_only(seen, hit)
        if hit.needs_brand:
            continue
        # A word the lexicon knows as something else ("City", "Panda") needs a car context;
        # a name that is only ambiguous ("Golf", "Everest") may take a request for views too.
        known = hit.end - hit.start == 1 and matches[seen.owner[hit.start]].tags - _MODEL_TAGS
        clue = context or (hinted and _capitalised(tokens, hit.start))
        if (known and not clue) or (hit.ambiguous and not (clue or views)):
            continue
        return _named(seen, None, hit)
    return Vehicle(year=year)


@dataclass(frozen=True, slots=True)
class _Seen:
    """The prompt as `find_vehicle` reads it."""

    text: str
    tokens: Sequence[Token]
    matches: Sequence[Match]
    owner: list[int]  # token -> index of the match covering it
    year: int


def _owners(tokens: Sequence[Token], matches: Sequence[Match]) -> list[int]:
    """The index of the match covering each token."""
    owner = [0] * len(tokens)
    for i, match in enumerate(matches):
        for t in range(match.start, match.end):
            owner[t] = i
    return owner


def _capitalised(tokens: Sequence[Token], at: int) -> bool:
    return at > 0 and tokens[at].text[:1].isupper()


def _named(seen: _Seen, make: Hit | None, hit: Hit) -> Vehicle:
    """The make (or the model's own) and the model with its trim words ("Prado 150")."""
    text, tokens, matches, owner = seen.text, seen.tokens, seen.matches, seen.owner
    model = hit.model
    assert model is not None  # the caller passes a model hit
    name = model.name
    typed = text[tokens[hit.start].start : tokens[hit.end - 1].end]
    if hit.extra:
        first, last = tokens[hit.end - len(hit.extra)], tokens[hit.end - 1]
        name = f"{name} {_model_case(text[first.start : last.end])}"
    elif _plain(typed) != _plain(name) and typed.isascii() and any(c.isdigit() for c in typed):
        name = _model_case(typed)  # "C300" rather than "C-Class"
    end = hit.end
    units = 0
    while end < len(tokens) and units < _MAX_MODEL_UNITS:
        token = tokens[end]
        gap = text[tokens[end - 1].end : token.start]
        if gap not in _MODEL_SEPARATORS or not _suffix_word(token):
            break
        if matches[owner[end]].tags - _MODEL_TAGS:
            break  # a word the lexicon knows: "MÀU", "VIEW"
        name = f"{name}{gap}{_model_case(token.text)}"
        end += 1
        units += 1
    start = make.start if make is not None else hit.start
    used = frozenset(owner[t] for t in range(start, end))
    brand = make.brand if make is not None else model.brand
    return Vehicle(brand, name, seen.year, used, model.body)


def _plain(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _suffix_word(token: Token) -> bool:
    """A trim or generation after a known model: "150", "GTI", "M", "C8" (never a year)."""
    word = token.folded
    if not word.isascii() or not word.isalnum() or _YEAR_RE.fullmatch(word):
        return False
    if any(ch.isdigit() for ch in word):
        return len(word) <= _MAX_SUFFIX
    return token.text.isupper() and len(word) <= _MAX_SUFFIX


def _make_only(seen: _Seen, hit: Hit) -> Vehicle:
    """A make the catalogue knows with a model it does not: the words right after the make."""
    text, tokens, matches, owner = seen.text, seen.tokens, seen.matches, seen.owner
    brand_at = owner[hit.end - 1]
    used = set(range(owner[hit.start], brand_at + 1))
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
    return Vehicle(hit.brand, model, seen.year, frozenset(used))


def _second_unit_ok(
    tokens: Sequence[Token], matches: Sequence[Match], first: list[int], token: Token
) -> bool:
    head = tokens[matches[first[0]].start].folded
    return head in _SERIES_WORDS or len(token.folded) <= 3 or any(c.isdigit() for c in token.folded)


def find_angles(
    matches: Sequence[Match], tokens: Sequence[Token] = (), text: str = ""
) -> tuple[tuple[str, ...], str]:
    """Angles named in order (deduplicated) and the multi-view kind.

    The kind is "" (none), "some", "all", or "n1".."n9" for a number of views ("six views",
    "6 góc", "шість ракурсів"). A bare three-quarter ("3/4 view", "ba phần tư", "три чверті")
    followed by a rear or front word with no list separator between them is that
    three-quarter view ("three-quarter view from behind" is the rear one). Weak views (bare
    Vietnamese "trước", "sau", "bên") count only when the prompt names two views or more.
    "More" before a view noun ("more angles", "thêm góc nhìn", "ще ракурси", "більше видів")
    asks for "some" views, unless a number or "all" already did ("three more views").
    """
    mentions: list[tuple[int, str, bool]] = []  # (match index, angle, weak)
    multiview = ""
    pending = ""  # a "several"/"all"/number waiting for its "angles"/"sides" noun
    distance = 0
    for i, match in enumerate(matches):
        tags = match.tags
        if "angle" in tags:
            mentions.append((i, match.gloss, False))
        elif "wangle" in tags:
            mentions.append((i, match.gloss, True))
        if "multi" in tags and "view" in tags:
            multiview = _stronger(multiview, match.gloss)
        elif "multi" in tags:
            pending, distance = match.gloss, 0
        elif "more" in tags and not pending:
            pending, distance = "some", 0  # "more views", "thêm góc nhìn", "ще ракурси"
        elif "view" in tags and pending:
            multiview = _stronger(multiview, pending)
            pending = ""
        elif pending and "stop" not in tags:
            distance += 1
            if distance >= _MULTI_WINDOW:
                pending = ""
    if tokens:
        mentions = _three_quarters(mentions, matches, tokens, text)
    if len(mentions) < 2:
        mentions = [m for m in mentions if not m[2]]
    return tuple(dict.fromkeys(angle for _, angle, _ in mentions)), multiview


def _three_quarters(
    mentions: list[tuple[int, str, bool]],
    matches: Sequence[Match],
    tokens: Sequence[Token],
    text: str,
) -> list[tuple[int, str, bool]]:
    """Join a bare three-quarter with the rear or front word that follows it."""
    out: list[tuple[int, str, bool]] = []
    skip = -1
    for k, (i, angle, weak) in enumerate(mentions):
        if k == skip:
            continue
        if "q34" in matches[i].tags and k + 1 < len(mentions):
            j, following, _ = mentions[k + 1]
            side = _QUARTER_OF.get(following)
            if side and j - i <= _QUARTER_REACH and _joined(matches, tokens, text, i, j):
                out.append((i, side, False))
                skip = k + 1
                continue
        out.append((i, angle, weak))
    return out


def _joined(
    matches: Sequence[Match], tokens: Sequence[Token], text: str, first: int, last: int
) -> bool:
    """True when nothing between matches `first` and `last` separates two list items."""
    gap = text[tokens[matches[first].end - 1].end : tokens[matches[last].start].start]
    if any(ch in gap for ch in ",;/+&"):
        return False
    words = {tokens[t].folded for t in range(matches[first].end, matches[last].start)}
    return not words & _CONJUNCTIONS


def _stronger(current: str, new: str) -> str:
    """ "all" beats a number of views, which beats "some"."""
    return max(current, new, key=lambda kind: _KIND_RANK.get(kind[:1], 0))
