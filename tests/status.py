"""Reading the rich error status (AIP-193) the services attach to failures."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2, status_pb2


@dataclass(frozen=True)
class ErrorDetails:
    """What a client can switch on: code, reason, offending field, request id."""

    code: grpc.StatusCode
    message: str
    reason: str
    field: str
    request_id: str


def details_of(error: grpc.aio.AioRpcError) -> ErrorDetails:
    """Decode ``grpc-status-details-bin`` of a failed call."""
    raw = next(
        (v for k, v in error.trailing_metadata() or () if k == "grpc-status-details-bin"), None
    )
    reason = field = request_id = ""
    if isinstance(raw, bytes):
        status = status_pb2.Status.FromString(raw)
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            bad = error_details_pb2.BadRequest()
            if detail.Unpack(info):
                reason = info.reason
                request_id = info.metadata.get("request_id", "")
            elif detail.Unpack(bad) and bad.field_violations:
                field = bad.field_violations[0].field
    return ErrorDetails(error.code(), error.details() or "", reason, field, request_id)
