"""The size limits the three services agree on, and how derived text is cut to fit them.

What a user types is checked once, at the door (conversation_svc's SendMessage, prompt_svc's
Refine / DetectIntent): a request over a limit is INVALID_ARGUMENT there. What the services
*derive* from it (prompt_svc's refined prompt and subject, from the local analyser or Gemini,
and the pipeline's requests to image_svc) is cut to the next service's limits instead, so a
prompt SendMessage accepts can always end DONE: Unicode normalisation alone can make a text
18 times longer (U+FDFA), and a model may answer with anything.

Lengths are counted in code points (Python's ``len``), the same everywhere.
"""

from __future__ import annotations

import unicodedata

from mesh.errors import InvalidArgument
from photofun.v1 import common_pb2

MAX_PROMPT_CHARS = 2000  # SendMessage.prompt, Refine/DetectIntent.prompt
MAX_STYLE_CHARS = 100
MAX_TOPIC_CHARS = 200
MAX_REFINED_PROMPT_CHARS = 4000  # image_svc's Generate/GenerateAngles prompt
MAX_SUBJECT_CHARS = 500  # each text field of a Subject, in image_svc
MAX_REPLY_CHARS = 2000  # the reply shown to the user
MAX_KEYWORDS, MAX_KEYWORD_CHARS = 32, 100
MIN_YEAR, MAX_YEAR = 1886, 2100  # a plausible model year (the first car: 1886)
MAX_DERIVED_TITLE_CHARS = 60  # a conversation title taken from its first prompt, "…" included
_SUBJECT_TEXTS = ("text", "category", "brand", "model", "color", "body_type")


_ALLOWED_CONTROLS = frozenset("\t\n\r")


def user_text(value: str, field: str, limit: int, *, required: bool = True) -> str:
    """What a user typed, trimmed: INVALID_ARGUMENT naming ``field`` when it is empty (and
    ``required``), longer than ``limit``, or holds control characters other than tab and line
    breaks (a NUL or an escape sequence is never part of a prompt, and would reach logs,
    models and the page as is)."""
    text = value.strip()
    if required and not text:
        raise InvalidArgument(field, "must not be empty")
    if len(text) > limit:
        raise InvalidArgument(field, f"must be at most {limit} characters")
    for char in text:
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) == "Cc":
            raise InvalidArgument(
                field, f"must not contain control characters (found U+{ord(char):04X})"
            )
    return text


def cut(text: str, limit: int) -> str:
    """``text`` trimmed, and cut to at most ``limit`` characters (at a space when one is
    near the end, so words stay whole)."""
    text = text.strip()
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    return (head[:space] if space >= limit * 3 // 4 else head).rstrip()


_ZWJ = "\u200d"


def _joined(text: str, at: int) -> bool:
    """Whether ``text[at - 1]`` and ``text[at]`` belong to one grapheme cluster as far as a
    title cares: a combining mark (Vietnamese tones written decomposed, "a" + U+0301), an
    enclosing mark, an emoji skin-tone modifier or a zero-width joiner never starts a cluster."""
    after = text[at]
    return (
        unicodedata.category(after) in {"Mn", "Mc", "Me"}
        or after == _ZWJ
        or text[at - 1] == _ZWJ
        or 0x1F3FB <= ord(after) <= 0x1F3FF
    )


def title_of(prompt: str, limit: int = MAX_DERIVED_TITLE_CHARS) -> str:
    """A conversation title from a prompt: its whitespace folded, and when longer than
    ``limit`` characters, cut after its last whole word that fits and ended with "…" (which
    counts in ``limit``). A prompt with no space to cut at (one long word, or a script written
    without spaces) is cut between two grapheme clusters, never inside one."""
    text = " ".join(prompt.split())
    if len(text) <= limit:
        return text
    room = max(limit - 1, 1)
    end = room if text[room] == " " else text.rfind(" ", 0, room)
    if end <= 0:  # no word boundary: the last cluster boundary that fits
        end = room
        while end > 1 and _joined(text, end):
            end -= 1
    return (text[:end].rstrip(" ,;:") or text[:end]) + "…"


def fit_subject(subject: common_pb2.Subject, fallback: str = "") -> common_pb2.Subject:
    """A copy of ``subject`` that image_svc accepts: every text field cut to
    ``MAX_SUBJECT_CHARS``, an implausible year dropped, and ``fallback`` (cut) as its text
    when it names nothing at all (GenerateAngles needs a subject)."""
    out = common_pb2.Subject()
    for name in _SUBJECT_TEXTS:
        setattr(out, name, cut(getattr(subject, name), MAX_SUBJECT_CHARS))
    if MIN_YEAR <= subject.year <= MAX_YEAR:
        out.year = subject.year
    if not (out.text or out.brand or out.model or out.body_type):
        out.text = cut(fallback, MAX_SUBJECT_CHARS)
    return out


def fit_keywords(keywords: list[str] | tuple[str, ...]) -> list[str]:
    """At most ``MAX_KEYWORDS`` non-empty keywords of at most ``MAX_KEYWORD_CHARS`` each."""
    out = [cut(k, MAX_KEYWORD_CHARS) for k in keywords]
    return [k for k in out if k][:MAX_KEYWORDS]
