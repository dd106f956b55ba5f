"""Stored documents → protobuf messages (the one place that knows both shapes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.protobuf import timestamp_pb2

from photofun.v1 import common_pb2, conversation_service_pb2

Doc = dict[str, Any]

INTENT_TO_PROTO: dict[str, common_pb2.Intent.ValueType] = {
    "generateImage": common_pb2.INTENT_GENERATE_IMAGE,
    "generateAngles": common_pb2.INTENT_GENERATE_ANGLES,
    "styleTransfer": common_pb2.INTENT_STYLE_TRANSFER,
    "editBackground": common_pb2.INTENT_EDIT_BACKGROUND,
    "enhanceImage": common_pb2.INTENT_ENHANCE_IMAGE,
    "chat": common_pb2.INTENT_CHAT,
}
INTENT_FROM_PROTO = {v: k for k, v in INTENT_TO_PROTO.items()}
STATUS_TO_PROTO = {
    "PROCESSING": conversation_service_pb2.MESSAGE_STATUS_PROCESSING,
    "DONE": conversation_service_pb2.MESSAGE_STATUS_DONE,
    "FAILED": conversation_service_pb2.MESSAGE_STATUS_FAILED,
    "CANCELLED": conversation_service_pb2.MESSAGE_STATUS_CANCELLED,
}


def angle_name(angle: int) -> str:
    """``ANGLE_FRONT_THREE_QUARTER`` → ``front_three_quarter`` ("" for unspecified)."""
    if angle == common_pb2.ANGLE_UNSPECIFIED:
        return ""
    return common_pb2.Angle.Name(angle).removeprefix("ANGLE_").lower()  # type: ignore[arg-type]


def angle_value(name: str) -> common_pb2.Angle.ValueType:
    """``front`` → ``ANGLE_FRONT`` (unspecified for "" or unknown names)."""
    try:
        return (
            common_pb2.Angle.Value(f"ANGLE_{name.upper()}")
            if name
            else common_pb2.ANGLE_UNSPECIFIED
        )
    except ValueError:
        return common_pb2.ANGLE_UNSPECIFIED


def timestamp(value: dt.datetime | None) -> timestamp_pb2.Timestamp | None:
    """A BSON date (naive UTC or aware) → Timestamp."""
    if value is None:
        return None
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
    return out


def conversation(doc: Doc) -> conversation_service_pb2.Conversation:
    """A stored conversation as the API shows it."""
    return conversation_service_pb2.Conversation(
        conversation_id=str(doc["_id"]),
        title=doc.get("title", ""),
        create_time=timestamp(doc.get("create_time")),
        update_time=timestamp(doc.get("update_time")),
        message_count=int(doc.get("message_count", 0)),
    )


def message(doc: Doc) -> conversation_service_pb2.Message:
    """A stored message as the API shows it."""
    failure = doc.get("failure")
    return conversation_service_pb2.Message(
        message_id=str(doc["_id"]),
        conversation_id=str(doc["conversation_id"]),
        prompt=doc.get("prompt", ""),
        style=doc.get("style", ""),
        lang=doc.get("lang", ""),
        topic=doc.get("topic", ""),
        input_image_url=doc.get("input_image_url", ""),
        status=STATUS_TO_PROTO.get(
            doc.get("status", ""), conversation_service_pb2.MESSAGE_STATUS_UNSPECIFIED
        ),
        request_id=doc.get("request_id", ""),
        intent=INTENT_TO_PROTO.get(doc.get("intent") or "", common_pb2.INTENT_UNSPECIFIED),
        refined_prompt=doc.get("refined_prompt", ""),
        keywords=doc.get("keywords", []),
        reply=doc.get("reply", ""),
        images=[
            conversation_service_pb2.MessageImage(
                image_url=i["image_url"],
                angle=angle_value(i.get("angle", "")),
                seed=i.get("seed", 0),
                session_id=i.get("session_id", ""),
                mime_type=i.get("mime_type", ""),
                size_bytes=i.get("size_bytes", 0),
                width=i.get("width", 0),
                height=i.get("height", 0),
                is_main=i.get("is_main", False),
                provider=i.get("provider", ""),
            )
            for i in doc.get("images", [])
        ],
        expected_image_count=int(doc.get("expected_image_count", 0)),
        expected_angles=[
            angle_value(a) for a in (doc.get("analysis") or {}).get("angles", []) if angle_value(a)
        ],
        failure=common_pb2.Failure(**failure) if failure else None,
        failed_views=[
            conversation_service_pb2.ViewFailure(
                angle=angle_value(v["angle"]),
                failure=common_pb2.Failure(reason=v["reason"], message=v["message"]),
            )
            for v in doc.get("failed_views", [])
        ],
        create_time=timestamp(doc.get("create_time")),
        update_time=timestamp(doc.get("update_time")),
        finish_time=timestamp(doc.get("finish_time")),
    )
