"""Follow-ups of the local analyser: what a message does with the earlier turns of its chat.

Only when the caller sent a context. The rules, in order (the first that applies answers):

1. An image attached to the message, or a question about the service ("how do I download
   it?"), is never a follow-up: the ordinary rules answer.
2. EDIT: words that work on an image (restyle with a named style, background, enhance) with no
   image attached act on the most recent turn with result images.
3. MORE_VIEWS: views ("from the top", "three-quarter rear", "the other sides", "more views",
   "thêm góc nhìn", "ще ракурси") with no new subject: the new views of the most recent turn
   with a subject; views not named are the ones not drawn yet ("two more views": two of them).
4. CHANGE_SUBJECT: a colour, body type, make or year with no new subject ("make it red", "as a
   convertible", "đổi sang màu đỏ", "зроби його червоним"): the most recent turn that drew
   something, redrawn with the changed subject and the same framing.
5. VARIATION: "another one", "try again", "cái khác", "ще раз" with no new subject: the most
   recent turn that drew something, the same again with new seeds.

"No new subject" means that every thing the message names refers to the source turn: a
pronoun ("it", "nó", "його"), or a noun its subject already has ("the car" after a car, "con
mèo" after a cat, "цю машину"). A message that names something else ("draw a cat on the beach"
after a car) is a new request. A follow-up with nothing in the context to act on is answered
with `NO_SOURCE_REPLY` (intent chat) instead of being guessed at.

Cost: one pass over at most `MAX_TURNS` turns and over the message's own matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from mesh.i18n import replies
from prompt_svc.intents import ANGLES, MAX_TURNS, Context, FollowUp, Intent, Subject, Turn
from prompt_svc.local.features import Features
from prompt_svc.local.subject import ALL_SIDES, EXTRA_VIEWS

NO_SOURCE = "reply.no_source"  # a catalogue key: worded in the prompt's language
NO_SOURCE_REPLY = replies(NO_SOURCE, "en")
# Tags of the words that name a thing to draw (a new subject unless they refer to the source).
_NAMING = frozenset(
    {"noun:person", "noun:animal", "noun:scene", "noun:object", "vehicle", "brand", "unk"}
)
# Words that point back at the last result or mark the message as a continuation of it.
_POINTING = ("ref", "pron", "fnow", "var", "make", "transform")
_VEHICLE_WORDS = frozenset({"vehicle", "body"})


@dataclass(frozen=True)
class Plan:
    """A follow-up decision: what to draw, from which turn (an index into `Context.turns`)."""

    follow_up: FollowUp
    intent: Intent
    confidence: float
    source: int = 0
    subject: Subject = field(default_factory=Subject)
    angles: tuple[str, ...] = ()
    reply: str = ""  # a key of the message catalogue, or ""
    turn: Turn | None = None


EditDecision = Callable[[], tuple[Intent, float] | None]


def resolve(f: Features, context: Context, *, has_image: bool, edit: EditDecision) -> Plan | None:
    """The follow-up `f` asks for, or None when the ordinary rules should answer.

    `edit` says which image intent the message would have if an image came with it.
    """
    if has_image or f.has("q") or f.has("chatverb"):
        return None
    turns = context.turns[-MAX_TURNS:]
    window = _Window(Context(turns), len(context.turns) - len(turns))
    decided = edit()
    if decided is not None:
        return _edit(f, window, *decided)
    if f.angles or f.multiview:
        return _views(f, window)
    change = _change(f)
    if change or f.has("var"):
        return _again(f, window, change)
    return None


@dataclass(frozen=True)
class _Window:
    """The turns read (the last `MAX_TURNS`) and how many came before them."""

    context: Context
    offset: int

    def find(self, *, images: bool = False, subject: bool = False) -> tuple[int, Turn] | None:
        index = self.context.last(images=images, subject=subject)
        return None if index is None else (index + self.offset, self.context.turns[index])


def _edit(f: Features, window: _Window, intent: Intent, confidence: float) -> Plan | None:
    found = window.find(images=True)
    if found is None:
        return None if f.content else _no_source()
    index, turn = found
    # "put it on a beach background": the named scene is the new background, not a subject.
    if intent is not Intent.EDIT_BACKGROUND and _new_subject(f, turn):
        return None
    return Plan(FollowUp.EDIT, intent, confidence, index, turn.subject, turn=turn)


def _again(f: Features, window: _Window, change: dict[str, str | int]) -> Plan | None:
    found = window.find()
    if found is None:
        return None if _names_anything(f) else _no_source()
    index, turn = found
    if _new_subject(f, turn, brand_change_ok=bool(change)):
        return None
    intent = turn.intent or Intent.GENERATE_IMAGE
    angles = turn.angles if intent is Intent.GENERATE_ANGLES else ()
    if change:
        subject = changed(turn.subject, **change)
        return Plan(FollowUp.CHANGE_SUBJECT, intent, 0.8, index, subject, angles, turn=turn)
    return Plan(FollowUp.VARIATION, intent, 0.85, index, turn.subject, angles, turn=turn)


def _no_source() -> Plan:
    return Plan(FollowUp.NONE, Intent.CHAT, 0.8, reply=NO_SOURCE)


def _views(f: Features, window: _Window) -> Plan | None:
    found = window.find(subject=True)
    if found is None:
        return None if _names_anything(f) else _no_source()
    index, turn = found
    if _new_subject(f, turn):
        return None
    angles = f.angles
    if not angles:
        # "the other sides", "more views", "з інших боків": the views not drawn yet; "two
        # more views" that many of them (all sides first, then top and the right-hand views).
        drawn = set(turn.angles)
        order = dict.fromkeys((*ALL_SIDES, *EXTRA_VIEWS, *ANGLES))
        undrawn = tuple(a for a in order if a not in drawn)
        count = int(f.multiview[1:]) if f.multiview.startswith("n") else 0
        if count:
            angles = undrawn[:count]
        else:
            angles = tuple(a for a in ALL_SIDES if a not in drawn) or undrawn
        angles = angles or ALL_SIDES
    return Plan(
        FollowUp.MORE_VIEWS, Intent.GENERATE_ANGLES, 0.85, index, turn.subject, angles, turn=turn
    )


def _change(f: Features) -> dict[str, str | int]:
    """The subject changes the message asks for: colour, body type, make (with model), year."""
    found: dict[str, str | int] = {}
    if f.has("color"):
        found["color"] = f.first("color")
    if f.has("body"):
        found["body_type"] = f.first("body")
    if f.vehicle.brand and any(f.has(tag) for tag in _POINTING):
        found["brand"] = f.vehicle.brand
        found["model"] = f.vehicle.model
    if f.vehicle.year:
        found["year"] = f.vehicle.year
    return found


def _names_anything(f: Features) -> bool:
    return any(f.matches[i].tags & _NAMING for i in f.content)


def _new_subject(f: Features, turn: Turn, *, brand_change_ok: bool = False) -> bool:
    """True when the message names something that is not the source turn's subject."""
    subject = turn.subject
    words = _words(f"{subject.text} {subject.body_type} {subject.category}")
    pointing = any(f.has(tag) for tag in _POINTING)
    vehicle = subject.category == "vehicle" or bool(subject.brand)
    for i in f.content:
        tags = f.matches[i].tags
        if not tags & _NAMING:
            continue
        if i in f.vehicle.used:
            same_brand = f.vehicle.brand.casefold() == subject.brand.casefold()
            if same_brand or brand_change_ok or (vehicle and not subject.brand):
                continue
            return True
        if tags & _VEHICLE_WORDS and vehicle:
            continue
        if "unk" in tags:
            if pointing:
                continue  # "make it shiny", "зроби його блискучим": words we do not know
            return True
        if not _words(f.matches[i].gloss) <= words:
            return True
    return False


_WORD_RE = re.compile(r"[^\W_]+")


def _words(text: str) -> set[str]:
    """Lower-case words, with a plural "s" also read as the singular ("cats" ~ "cat")."""
    found = set()
    for word in _WORD_RE.findall(text.casefold()):
        found.add(word)
        if len(word) > 3 and word.endswith("s"):
            found.add(word[:-1])
    return found


def changed(
    subject: Subject,
    *,
    color: str | int = "",
    body_type: str | int = "",
    brand: str | int = "",
    model: str | int = "",
    year: str | int = 0,
) -> Subject:
    """`subject` with the given fields changed, its text rewritten to say so."""
    text = subject.text
    vehicle = subject.category == "vehicle" or bool(subject.brand or brand)
    if brand and str(brand).casefold() != subject.brand.casefold():
        old = " ".join(p for p in (subject.brand, subject.model) if p)
        new = " ".join(p for p in (str(brand), str(model)) if p)
        text = _swap(text, old, new) if old else f"{new} {text}".strip()
        subject = replace(subject, brand=str(brand), model=str(model))
    if year and int(year) != subject.year:
        text = _swap(text, str(subject.year), str(year)) if subject.year else f"{year} {text}"
        subject = replace(subject, year=int(year))
    if body_type and body_type != subject.body_type:
        new_body = "SUV" if body_type == "suv" else str(body_type)
        if subject.body_type and _has_word(text, subject.body_type):
            text = _swap(text, subject.body_type, new_body)
        else:
            text = f"{text}, {new_body} body" if text else new_body
        subject = replace(subject, body_type=str(body_type))
    if color and color != subject.color:
        if subject.color and _has_word(text, subject.color):
            text = _swap(text, subject.color, str(color))
        elif vehicle:
            text = f"{text}, {color} paint" if text else f"{color} car"
        else:
            text = f"{color} {text}" if text else str(color)
        subject = replace(subject, color=str(color))
    category = subject.category or ("vehicle" if vehicle else "")
    return replace(subject, text=text.strip(), category=category)


def _has_word(text: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE) is not None


def _swap(text: str, old: str, new: str) -> str:
    """`text` with the whole words `old` replaced by `new` (case-blind); appended if absent."""
    pattern = re.compile(rf"(?<!\w){re.escape(old)}(?!\w)", re.IGNORECASE)
    if not pattern.search(text):
        return f"{text}, {new}" if text else new
    return pattern.sub(new, text)
