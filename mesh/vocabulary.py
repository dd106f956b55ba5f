"""The words every service shares: intents, angles and languages, and their protobuf values.

The stored and logged form of each is its short name (``generateAngles``, ``front``, ``vi``);
the wire form is the ``photofun.v1`` enum. Every conversion between the two lives here, so the
services, the worker and the command-line client cannot drift apart.
"""

from __future__ import annotations

from enum import StrEnum

from photofun.v1 import common_pb2


class Intent(StrEnum):
    """What the user wants; the values are the JSON strings of the original contract."""

    GENERATE_IMAGE = "generateImage"
    GENERATE_ANGLES = "generateAngles"
    STYLE_TRANSFER = "styleTransfer"
    EDIT_BACKGROUND = "editBackground"
    ENHANCE_IMAGE = "enhanceImage"
    CHAT = "chat"

    @property
    def needs_image(self) -> bool:
        """True when the intent works on an input image."""
        return self in _NEEDS_IMAGE

    def to_proto(self) -> common_pb2.Intent.ValueType:
        """``generateAngles`` → ``INTENT_GENERATE_ANGLES``."""
        return _INTENT_TO_PROTO[self]

    @classmethod
    def from_proto(cls, value: int) -> Intent | None:
        """``INTENT_GENERATE_ANGLES`` → ``generateAngles``; None for unspecified or unknown."""
        return _INTENT_FROM_PROTO.get(value)

    @classmethod
    def parse(cls, value: str | None) -> Intent | None:
        """A stored name → the intent; None for "" or a name this version does not know."""
        try:
            return cls(value) if value else None
        except ValueError:
            return None


_NEEDS_IMAGE = frozenset({Intent.STYLE_TRANSFER, Intent.EDIT_BACKGROUND, Intent.ENHANCE_IMAGE})
_INTENT_TO_PROTO: dict[Intent, common_pb2.Intent.ValueType] = {
    Intent.GENERATE_IMAGE: common_pb2.INTENT_GENERATE_IMAGE,
    Intent.GENERATE_ANGLES: common_pb2.INTENT_GENERATE_ANGLES,
    Intent.STYLE_TRANSFER: common_pb2.INTENT_STYLE_TRANSFER,
    Intent.EDIT_BACKGROUND: common_pb2.INTENT_EDIT_BACKGROUND,
    Intent.ENHANCE_IMAGE: common_pb2.INTENT_ENHANCE_IMAGE,
    Intent.CHAT: common_pb2.INTENT_CHAT,
}
_INTENT_FROM_PROTO: dict[int, Intent] = {v: k for k, v in _INTENT_TO_PROTO.items()}

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


def angle_name(value: int) -> str:
    """``ANGLE_FRONT_THREE_QUARTER`` → ``front_three_quarter``; "" for unspecified or unknown."""
    return _ANGLE_NAMES.get(value, "")


def angle_value(name: str) -> common_pb2.Angle.ValueType:
    """``front`` → ``ANGLE_FRONT``; unspecified for "" or a name this version does not know."""
    return _ANGLE_VALUES.get(name, common_pb2.ANGLE_UNSPECIFIED)


_ANGLE_VALUES: dict[str, common_pb2.Angle.ValueType] = {
    name: common_pb2.Angle.Value(f"ANGLE_{name.upper()}") for name in ANGLES
}
# Every angle of the contract by number (not only those in ANGLES), once.
_ANGLE_NAMES: dict[int, str] = {
    value: name.removeprefix("ANGLE_").lower()
    for name, value in common_pb2.Angle.items()
    if value != common_pb2.ANGLE_UNSPECIFIED
}


class FollowUp(StrEnum):
    """What a message does with an earlier result of its conversation; the values are the
    stored names."""

    NONE = "none"  # a new request
    EDIT = "edit"  # edit the earlier result (restyle, background, enhance)
    MORE_VIEWS = "moreViews"  # more views of the same subject, in the same session
    CHANGE_SUBJECT = "changeSubject"  # the earlier request with a changed subject
    VARIATION = "variation"  # another take: the same subject and framing, new seeds

    def to_proto(self) -> common_pb2.FollowUp.ValueType:
        """``moreViews`` → ``FOLLOW_UP_MORE_VIEWS``."""
        return _FOLLOW_UP_TO_PROTO[self]

    @classmethod
    def from_proto(cls, value: int) -> FollowUp:
        """``FOLLOW_UP_MORE_VIEWS`` → ``moreViews``; NONE for unspecified or unknown."""
        return _FOLLOW_UP_FROM_PROTO.get(value, FollowUp.NONE)


_FOLLOW_UP_TO_PROTO: dict[FollowUp, common_pb2.FollowUp.ValueType] = {
    FollowUp.NONE: common_pb2.FOLLOW_UP_UNSPECIFIED,
    FollowUp.EDIT: common_pb2.FOLLOW_UP_EDIT,
    FollowUp.MORE_VIEWS: common_pb2.FOLLOW_UP_MORE_VIEWS,
    FollowUp.CHANGE_SUBJECT: common_pb2.FOLLOW_UP_CHANGE_SUBJECT,
    FollowUp.VARIATION: common_pb2.FOLLOW_UP_VARIATION,
}
_FOLLOW_UP_FROM_PROTO: dict[int, FollowUp] = {v: k for k, v in _FOLLOW_UP_TO_PROTO.items()}


class Language(StrEnum):
    """The languages users write in and the product answers in (ISO 639-1)."""

    EN = "en"
    VI = "vi"
    UK = "uk"

    @classmethod
    def parse(cls, value: str) -> Language | None:
        """``" VI "`` → ``vi``; None for "" (detect it); ValueError for a code we do not speak."""
        code = value.strip().lower()
        return cls(code) if code else None


LANGUAGES: tuple[str, ...] = tuple(lang.value for lang in Language)
LANGUAGE_CHOICES = ", ".join(LANGUAGES)
