"""Domain types of intent detection: what the user wants, about what, from which angles."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Intent(StrEnum):
    """The six intents of DESIGN.md; the values are the seed's JSON strings."""

    GENERATE_IMAGE = "generateImage"
    GENERATE_ANGLES = "generateAngles"
    STYLE_TRANSFER = "styleTransfer"
    EDIT_BACKGROUND = "editBackground"
    ENHANCE_IMAGE = "enhanceImage"
    CHAT = "chat"

    @property
    def needs_image(self) -> bool:
        """True when the intent works on an input image the user must attach."""
        return self in _NEEDS_IMAGE


_NEEDS_IMAGE = frozenset({Intent.STYLE_TRANSFER, Intent.EDIT_BACKGROUND, Intent.ENHANCE_IMAGE})

# The canonical order of viewpoints; "_right" names mirror the left-hand defaults.
ANGLES: tuple[str, ...] = (
    "front",
    "front_three_quarter",
    "side",
    "rear_three_quarter",
    "rear",
    "top",
    "rear_three_quarter_right",
    "side_right",
    "front_three_quarter_right",
)


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
