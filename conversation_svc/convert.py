"""The typed model → protobuf messages (the one place that knows both shapes)."""

from __future__ import annotations

import datetime as dt

from google.protobuf import timestamp_pb2

from conversation_svc.model import Conversation, Failure, Message, ResultRef, Status, Subject
from mesh.vocabulary import angle_value
from photofun.v1 import common_pb2, conversation_service_pb2

STATUS_TO_PROTO = {
    Status.PROCESSING: conversation_service_pb2.MESSAGE_STATUS_PROCESSING,
    Status.DONE: conversation_service_pb2.MESSAGE_STATUS_DONE,
    Status.FAILED: conversation_service_pb2.MESSAGE_STATUS_FAILED,
    Status.CANCELLED: conversation_service_pb2.MESSAGE_STATUS_CANCELLED,
}


def timestamp(value: dt.datetime | None) -> timestamp_pb2.Timestamp | None:
    """A BSON date (naive UTC or aware) → Timestamp."""
    if value is None:
        return None
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
    return out


def failure(value: Failure | None) -> common_pb2.Failure | None:
    """A failure as the API shows it."""
    return common_pb2.Failure(reason=value.reason, message=value.message) if value else None


def subject_from_proto(s: common_pb2.Subject) -> Subject:
    """A subject from the wire."""
    return Subject(
        text=s.text,
        category=s.category,
        brand=s.brand,
        model=s.model,
        year=s.year,
        color=s.color,
        body_type=s.body_type,
    )


def subject_to_proto(s: Subject) -> common_pb2.Subject:
    """A subject for the wire."""
    return common_pb2.Subject(
        text=s.text,
        category=s.category,
        brand=s.brand,
        model=s.model,
        year=s.year,
        color=s.color,
        body_type=s.body_type,
    )


def result_ref(value: ResultRef | None) -> conversation_service_pb2.ResultReference | None:
    """A reference to an earlier result as the API shows it."""
    if value is None:
        return None
    return conversation_service_pb2.ResultReference(
        message_id=value.message_id, image_index=value.image_index
    )


def conversation(value: Conversation) -> conversation_service_pb2.Conversation:
    """A stored conversation as the API shows it."""
    return conversation_service_pb2.Conversation(
        conversation_id=str(value.id),
        title=value.title,
        create_time=timestamp(value.create_time),
        update_time=timestamp(value.update_time),
        message_count=value.message_count,
    )


def message(value: Message) -> conversation_service_pb2.Message:
    """A stored message as the API shows it."""
    analysis = value.analysis
    return conversation_service_pb2.Message(
        message_id=str(value.id),
        conversation_id=str(value.conversation_id),
        prompt=value.prompt,
        style=value.style,
        lang=value.lang,
        topic=value.topic,
        input_image_url=value.input_image_url,
        status=STATUS_TO_PROTO[value.status],
        request_id=value.request_id,
        intent=value.intent.to_proto() if value.intent else common_pb2.INTENT_UNSPECIFIED,
        refined_prompt=value.refined_prompt,
        keywords=value.keywords,
        reply=value.reply,
        images=[
            conversation_service_pb2.MessageImage(
                image_url=i.image_url,
                angle=angle_value(i.angle),
                seed=i.seed,
                session_id=i.session_id,
                mime_type=i.mime_type,
                size_bytes=i.size_bytes,
                width=i.width,
                height=i.height,
                is_main=i.is_main,
                provider=i.provider,
                seed_reproducible=i.seed_reproducible,
            )
            for i in value.images
        ],
        expected_image_count=value.expected_image_count,
        expected_angles=[
            angle_value(a) for a in (analysis.angles if analysis else ()) if angle_value(a)
        ],
        failure=failure(value.failure),
        failed_views=[
            conversation_service_pb2.ViewFailure(
                angle=angle_value(v.angle),
                failure=common_pb2.Failure(reason=v.reason, message=v.message),
            )
            for v in value.failed_views
        ],
        create_time=timestamp(value.create_time),
        update_time=timestamp(value.update_time),
        finish_time=timestamp(value.finish_time),
        seed=value.seed,
        follow_up=value.follow_up.to_proto(),
        source=result_ref(value.source),
        variation=value.variation,
        trace_id=value.trace_id,
    )
