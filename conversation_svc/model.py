"""The typed model of conversations and messages: what the servicer, the pipeline and the
converters work with. Only ``store.py`` sees MongoDB documents; it converts at its boundary
with ``from_doc`` / ``to_doc`` here, so a misspelt field is a type error, not a silent ``None``.

    Conversation ──< Message ──< MessageImage
                        ├── Analysis ── Subject      (what prompt_svc understood)
                        ├── ResultRef?               (the earlier result it acted on)
                        ├── ViewFailure*             (angles that could not be drawn)
                        └── Failure?                 (why it ended FAILED / CANCELLED)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, TypedDict

from bson import ObjectId

from mesh.vocabulary import FollowUp, Intent

RawDoc = Mapping[str, Any]  # a document exactly as PyMongo returns it (store.py only)


class Status(StrEnum):
    """Where a message is in its lifecycle; exactly one terminal state is ever reached."""

    PROCESSING = "PROCESSING"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        """True for DONE, FAILED and CANCELLED."""
        return self is not Status.PROCESSING


@dataclass(frozen=True)
class Failure:
    """Why a message (or one view) failed: a reason to switch on and words to show."""

    reason: str
    message: str


@dataclass(frozen=True)
class ViewFailure:
    """One angle of a set that could not be drawn while the others were."""

    angle: str
    reason: str
    message: str


class SubjectDoc(TypedDict, total=False):
    """``analysis.subject`` as stored."""

    text: str
    category: str
    brand: str
    model: str
    year: int
    color: str
    body_type: str


@dataclass(frozen=True)
class Subject:
    """What the picture is of; empty strings and 0 mean "not stated"."""

    text: str = ""
    category: str = ""
    brand: str = ""
    model: str = ""
    year: int = 0
    color: str = ""
    body_type: str = ""

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any] | None) -> Subject:
        """Read a stored subject; unknown keys are ignored, missing ones empty."""
        doc = doc or {}
        return cls(
            text=str(doc.get("text", "")),
            category=str(doc.get("category", "")),
            brand=str(doc.get("brand", "")),
            model=str(doc.get("model", "")),
            year=int(doc.get("year", 0) or 0),
            color=str(doc.get("color", "")),
            body_type=str(doc.get("body_type", "")),
        )

    def to_doc(self) -> SubjectDoc:
        """The stored form."""
        return SubjectDoc(
            text=self.text,
            category=self.category,
            brand=self.brand,
            model=self.model,
            year=self.year,
            color=self.color,
            body_type=self.body_type,
        )


@dataclass(frozen=True)
class Analysis:
    """What prompt_svc understood of the message, kept for routing and for later turns."""

    angles: tuple[str, ...] = ()
    lang: str = ""
    provider: str = ""
    fallback_used: bool = False
    subject: Subject = Subject()

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any] | None) -> Analysis:
        """Read a stored analysis."""
        doc = doc or {}
        return cls(
            angles=tuple(str(a) for a in doc.get("angles", ())),
            lang=str(doc.get("lang", "")),
            provider=str(doc.get("provider", "")),
            fallback_used=bool(doc.get("fallback_used", False)),
            subject=Subject.from_doc(doc.get("subject")),
        )

    def to_doc(self) -> dict[str, object]:
        """The stored form."""
        return {
            "angles": list(self.angles),
            "lang": self.lang,
            "provider": self.provider,
            "fallback_used": self.fallback_used,
            "subject": self.subject.to_doc(),
        }


@dataclass(frozen=True)
class MessageImage:
    """One stored result image. ``key`` is unique within the message (the angle name, or
    ``single`` / ``edit``), so a redelivered task never appends the same view twice."""

    key: str
    image_url: str
    angle: str = ""
    seed: int = 0
    session_id: str = ""
    mime_type: str = ""
    size_bytes: int = 0
    width: int = 0
    height: int = 0
    is_main: bool = False
    provider: str = ""
    # The provider that drew it reproduces it from its seed (see image_svc's providers).
    seed_reproducible: bool = False

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> MessageImage:
        """Read a stored image."""
        return cls(
            key=str(doc.get("key", "")),
            image_url=str(doc["image_url"]),
            angle=str(doc.get("angle", "")),
            seed=int(doc.get("seed", 0)),
            session_id=str(doc.get("session_id", "")),
            mime_type=str(doc.get("mime_type", "")),
            size_bytes=int(doc.get("size_bytes", 0)),
            width=int(doc.get("width", 0)),
            height=int(doc.get("height", 0)),
            is_main=bool(doc.get("is_main", False)),
            provider=str(doc.get("provider", "")),
            # Stored before the field existed: only the local renderer's seeds reproduced.
            seed_reproducible=bool(doc.get("seed_reproducible", doc.get("provider", "") == "mock")),
        )

    def to_doc(self) -> dict[str, object]:
        """The stored form."""
        return asdict(self)


@dataclass(frozen=True)
class ResultRef:
    """An earlier result of the conversation: a message and one of its images (None: main)."""

    message_id: str
    image_index: int | None = None

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any] | None) -> ResultRef | None:
        """Read a stored reference (None when there is none)."""
        if not doc:
            return None
        index = doc.get("image_index")
        return cls(str(doc["message_id"]), int(index) if index is not None else None)

    def to_doc(self) -> dict[str, object]:
        """The stored form."""
        return {"message_id": self.message_id, "image_index": self.image_index}


@dataclass(frozen=True)
class NewMessage:
    """A message as SendMessage accepted it, before it is stored."""

    prompt: str
    request_id: str
    deadline: dt.datetime
    style: str = ""
    lang: str = ""
    topic: str = ""
    input_image_url: str = ""
    format: str = "IMAGE_FORMAT_PNG"  # an ImageFormat enum name
    idempotency_key: str | None = None
    seed: int | None = None  # the seed the caller asked for
    reference: ResultRef | None = None  # the earlier result the caller picked
    variation_requested: bool = False  # the caller asked for another take
    trace_id: str = ""  # the trace SendMessage started ("" with tracing off)

    def to_doc(self) -> dict[str, object]:
        """The stored fields the request decides (the store adds state and times)."""
        doc = asdict(self)
        doc["reference"] = self.reference.to_doc() if self.reference else None
        if self.idempotency_key is None:
            del doc["idempotency_key"]  # the unique index covers only messages that have one
        return doc


@dataclass(frozen=True)
class Message:
    """A stored message: the request, what was understood, the results, and its state."""

    id: ObjectId
    conversation_id: ObjectId
    owner: str
    prompt: str
    request_id: str
    status: Status
    version: int
    create_time: dt.datetime
    update_time: dt.datetime
    deadline: dt.datetime | None = None
    style: str = ""
    lang: str = ""
    topic: str = ""
    input_image_url: str = ""
    format: str = "IMAGE_FORMAT_PNG"
    idempotency_key: str | None = None
    intent: Intent | None = None
    refined_prompt: str = ""
    keywords: tuple[str, ...] = ()
    reply: str = ""
    expected_image_count: int = 0
    analysis: Analysis | None = None
    images: tuple[MessageImage, ...] = ()
    failed_views: tuple[ViewFailure, ...] = ()
    failure: Failure | None = None
    finish_time: dt.datetime | None = None
    seed: int | None = None
    reference: ResultRef | None = None
    variation_requested: bool = False
    follow_up: FollowUp = FollowUp.NONE
    source: ResultRef | None = None  # the earlier result this message acted on
    variation: int = 0  # which take of its subject: 0 the first
    trace_id: str = ""  # the trace its work is recorded in

    @property
    def terminal(self) -> bool:
        """True once the message is DONE, FAILED or CANCELLED."""
        return self.status.terminal

    def has_image(self, key: str) -> bool:
        """True when an image with this key is stored."""
        return any(image.key == key for image in self.images)

    def image_at(self, index: int | None) -> MessageImage | None:
        """The image at ``index`` of ``images``, or the main one (else the first) for None."""
        if index is None:
            return next(
                (i for i in self.images if i.is_main), self.images[0] if self.images else None
            )
        return self.images[index] if 0 <= index < len(self.images) else None

    @property
    def session_id(self) -> str:
        """The session of its views ("" for a single picture or an edit)."""
        return next((i.session_id for i in self.images if i.session_id), "")

    @classmethod
    def from_doc(cls, doc: RawDoc) -> Message:
        """Read a stored message (documents written by older versions included)."""
        failure = doc.get("failure")
        analysis = doc.get("analysis")
        return cls(
            id=doc["_id"],
            conversation_id=doc["conversation_id"],
            owner=str(doc.get("owner", "")),
            prompt=str(doc.get("prompt", "")),
            request_id=str(doc.get("request_id", "")),
            status=Status(doc.get("status", Status.PROCESSING)),
            version=int(doc.get("version", 0)),
            create_time=doc["create_time"],
            update_time=doc.get("update_time", doc["create_time"]),
            deadline=doc.get("deadline"),
            style=str(doc.get("style", "")),
            lang=str(doc.get("lang", "")),
            topic=str(doc.get("topic", "")),
            input_image_url=str(doc.get("input_image_url", "")),
            format=str(doc.get("format") or "IMAGE_FORMAT_PNG"),
            idempotency_key=doc.get("idempotency_key"),
            intent=Intent.parse(doc.get("intent")),
            refined_prompt=str(doc.get("refined_prompt", "")),
            keywords=tuple(str(k) for k in doc.get("keywords", ())),
            reply=str(doc.get("reply", "")),
            expected_image_count=int(doc.get("expected_image_count", 0)),
            analysis=Analysis.from_doc(analysis) if analysis is not None else None,
            images=tuple(MessageImage.from_doc(i) for i in doc.get("images", ())),
            failed_views=tuple(
                ViewFailure(str(v["angle"]), str(v["reason"]), str(v["message"]))
                for v in doc.get("failed_views", ())
            ),
            failure=Failure(str(failure["reason"]), str(failure["message"])) if failure else None,
            finish_time=doc.get("finish_time"),
            seed=int(doc["seed"]) if doc.get("seed") is not None else None,
            reference=ResultRef.from_doc(doc.get("reference")),
            variation_requested=bool(doc.get("variation_requested", False)),
            follow_up=FollowUp(doc.get("follow_up") or FollowUp.NONE),
            source=ResultRef.from_doc(doc.get("source")),
            variation=int(doc.get("variation", 0)),
            trace_id=str(doc.get("trace_id", "")),
        )


@dataclass(frozen=True)
class Conversation:
    """A conversation: its owner, title and how many messages it holds."""

    id: ObjectId
    owner: str
    title: str
    create_time: dt.datetime
    update_time: dt.datetime
    message_count: int = 0
    idempotency_key: str | None = field(default=None, repr=False)  # the creating call's

    @classmethod
    def from_doc(cls, doc: RawDoc) -> Conversation:
        """Read a stored conversation."""
        return cls(
            id=doc["_id"],
            owner=str(doc["owner"]),
            title=str(doc.get("title", "")),
            create_time=doc["create_time"],
            update_time=doc.get("update_time", doc["create_time"]),
            message_count=int(doc.get("message_count", 0)),
            idempotency_key=doc.get("idempotency_key"),
        )
