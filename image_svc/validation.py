"""Request checks of the image service: every bad field is INVALID_ARGUMENT naming the field."""

from __future__ import annotations

import re
from collections.abc import Sequence

from image_svc.angles import VIEWS, View
from image_svc.consistency import SubjectSpec
from image_svc.generator import Canvas
from mesh.errors import InvalidArgument
from mesh.limits import MAX_REFINED_PROMPT_CHARS, MAX_SUBJECT_CHARS, MAX_YEAR, MIN_YEAR, user_text
from photofun.v1 import common_pb2, image_service_pb2

MIN_SIDE, MAX_SIDE, DEFAULT_SIDE = 64, 2048, 1024
MAX_PROMPT_CHARS = MAX_REFINED_PROMPT_CHARS  # the limits the services agree on: mesh.limits
_SESSION = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FORMATS: dict[int, str] = {
    common_pb2.IMAGE_FORMAT_UNSPECIFIED: "png",
    common_pb2.IMAGE_FORMAT_PNG: "png",
    common_pb2.IMAGE_FORMAT_JPEG: "jpeg",
    common_pb2.IMAGE_FORMAT_WEBP: "webp",
}


def canvas(width: int, height: int, fmt: int) -> Canvas:
    """Size and format with defaults applied; bounds checked."""
    sides = []
    for name, given in (("width", width), ("height", height)):
        value = given or DEFAULT_SIDE
        if not MIN_SIDE <= value <= MAX_SIDE:
            raise InvalidArgument(name, f"must be between {MIN_SIDE} and {MAX_SIDE} pixels")
        sides.append(value)
    if fmt not in FORMATS:
        raise InvalidArgument("format", f"unknown image format {fmt}")
    return Canvas(sides[0], sides[1], FORMATS[fmt])


def prompt(text: str, *, field: str = "prompt", required: bool = True) -> str:
    """A prompt within the length limit, without control characters."""
    return user_text(text, field, MAX_PROMPT_CHARS, required=required)


def subject(msg: common_pb2.Subject, *, required: bool) -> SubjectSpec:
    """The structured subject, trimmed; with ``required`` text or vehicle fields must be set."""
    spec = SubjectSpec(
        text=msg.text.strip(),
        category=msg.category.strip().lower(),
        brand=msg.brand.strip(),
        model=msg.model.strip(),
        year=msg.year,
        color=msg.color.strip().lower(),
        body_type=msg.body_type.strip().lower(),
    )
    for name in ("text", "brand", "model", "color", "body_type", "category"):
        if len(getattr(spec, name)) > MAX_SUBJECT_CHARS:
            raise InvalidArgument(f"subject.{name}", f"must be at most {MAX_SUBJECT_CHARS} chars")
    if spec.year and not MIN_YEAR <= spec.year <= MAX_YEAR:
        raise InvalidArgument(
            "subject.year", f"must be a plausible model year ({MIN_YEAR}..{MAX_YEAR})"
        )
    if required and not (spec.text or spec.brand or spec.model or spec.body_type):
        raise InvalidArgument("subject", "give the subject's text or its brand, model or body type")
    return spec


def views(angles: Sequence[int]) -> list[View]:
    """The requested views: at least one, each known and at most once."""
    if not angles:
        raise InvalidArgument("angles", "at least one angle is required")
    seen: set[int] = set()
    out = []
    for i, angle in enumerate(angles):
        if angle not in VIEWS:
            raise InvalidArgument(f"angles[{i}]", f"unknown angle {angle}")
        if angle in seen:
            name = common_pb2.Angle.Name(common_pb2.Angle.ValueType(angle))
            raise InvalidArgument(f"angles[{i}]", f"duplicate angle {name}")
        seen.add(angle)
        out.append(VIEWS[angle])
    return out


def session_id(value: str) -> str:
    """A caller's session id, or empty for "derive it from the subject"."""
    if value and not _SESSION.match(value):
        raise InvalidArgument("session_id", "must be 1..64 characters of A-Z a-z 0-9 _ -")
    return value


def consistency_mode(value: int) -> bool:
    """True for reference mode."""
    known = image_service_pb2.ConsistencyMode.values()
    if value not in known:
        raise InvalidArgument("consistency_mode", f"unknown consistency mode {value}")
    return value == image_service_pb2.CONSISTENCY_MODE_REFERENCE
