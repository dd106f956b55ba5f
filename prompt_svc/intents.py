"""Domain types of intent detection: what the user wants, about what, from which angles, and
what a message does with the earlier turns of its conversation."""

from __future__ import annotations

from dataclasses import dataclass

from mesh.vocabulary import ANGLES, FollowUp, Intent

__all__ = ["ANGLES", "Analysis", "Context", "FollowUp", "Intent", "Subject", "Turn"]

MAX_TURNS = 8  # turns of context read; callers send at most this many (the servicer checks)


@dataclass(frozen=True)
class Subject:
    """What the picture is of; empty strings and 0 mean "not stated"."""

    text: str = ""
    category: str = ""  # vehicle | person | animal | scene | object, or ""
    brand: str = ""
    model: str = ""
    year: int = 0
    color: str = ""  # English, lower case
    body_type: str = ""  # English, lower case: hatchback, sedan, suv, coupe, pickup, van, ...

    @property
    def known(self) -> bool:
        """True when something about the subject is stated (colour alone is not a subject)."""
        return any((self.text, self.category, self.brand, self.model, self.year))


@dataclass(frozen=True)
class Turn:
    """One earlier turn of the conversation, as the caller remembers it."""

    prompt: str = ""
    intent: Intent | None = None  # None: not known
    refined_prompt: str = ""
    subject: Subject = Subject()
    session_id: str = ""
    angles: tuple[str, ...] = ()  # names from ANGLES, in the order drawn
    image_urls: tuple[str, ...] = ()  # its result images, the main one first; never fetched

    @property
    def has_result(self) -> bool:
        """True when the turn produced images a follow-up can act on."""
        return bool(self.image_urls)

    @property
    def drew(self) -> bool:
        """True when the turn drew something (not a chat turn) with a result or a subject."""
        return self.intent is not Intent.CHAT and (self.has_result or self.subject.known)


@dataclass(frozen=True)
class Context:
    """The recent turns of a conversation, oldest first; at most `MAX_TURNS` are read."""

    turns: tuple[Turn, ...] = ()

    def last(self, *, images: bool = False, subject: bool = False) -> int | None:
        """Index of the most recent turn that drew something (with images / a subject)."""
        for i in range(len(self.turns) - 1, -1, -1):
            turn = self.turns[i]
            if not turn.drew:
                continue
            if images and not turn.has_result:
                continue
            if subject and not turn.subject.known:
                continue
            return i
        return None


@dataclass(frozen=True)
class Analysis:
    """Everything one analysis of a prompt found, ready for the image pipeline."""

    intent: Intent
    confidence: float  # 0..1, how clear the match was
    lang: str  # en | vi | uk
    keywords: tuple[str, ...]  # lower case, English where known, no stop-words
    subject: Subject
    angles: tuple[str, ...]  # names from ANGLES, in the order asked; empty unless views
    refined_prompt: str  # English prompt for the image model (normalised text for chat)
    reply: str  # short message for the user in `lang`, "" when nothing needs saying
    untranslated_terms: tuple[str, ...]  # vi/uk words kept as written in refined_prompt
    follow_up: FollowUp = FollowUp.NONE  # what it does with an earlier turn of the context
    source_turn: int = 0  # index into Context.turns of that turn; 0 unless follow_up is set
