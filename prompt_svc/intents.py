"""Domain types of intent detection: what the user wants, about what, from which angles."""

from __future__ import annotations

from dataclasses import dataclass

from mesh.vocabulary import ANGLES, Intent

__all__ = ["ANGLES", "Analysis", "Intent", "Subject"]


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
    reply: str  # short English message for the user, "" when nothing needs saying
    untranslated_terms: tuple[str, ...]  # vi/uk words kept as written in refined_prompt
