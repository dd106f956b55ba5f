"""Domain errors and the gRPC status each one becomes.

Raise these from domain code; ``mesh.interceptors.ServiceInterceptor`` turns them into a gRPC
status with a machine-readable reason (``google.rpc.ErrorInfo``, AIP-193). Anything else that
escapes a handler becomes ``INTERNAL`` with a generic message; the traceback goes to the log.

    ServiceError                      INTERNAL (base class)
    ├── InvalidArgument               INVALID_ARGUMENT   (names the field: google.rpc.BadRequest)
    ├── Unauthenticated               UNAUTHENTICATED
    ├── PermissionDenied              PERMISSION_DENIED  (a known caller, not allowed this)
    ├── NotFound                      NOT_FOUND          (also: someone else's resource)
    ├── AlreadyExists                 ALREADY_EXISTS
    ├── FailedPrecondition            FAILED_PRECONDITION
    ├── ResourceExhausted             RESOURCE_EXHAUSTED (``retry_after``: google.rpc.RetryInfo)
    ├── Unavailable                   UNAVAILABLE        (an upstream is down; safe to retry)
    └── DeadlineExceeded              DEADLINE_EXCEEDED

``StartupError`` is not sent to anyone: a process that cannot start prints its one line.

Clients read the reason back with ``error_info`` (a failed call) or ``decode_details`` (the raw
``grpc-status-details-bin`` bytes, e.g. from a gRPC-web trailer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import grpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2

ERROR_DOMAIN = "photofun.studio"


class ServiceError(Exception):
    """Base of every error a caller may see; carries a code, a reason and a readable message."""

    code: ClassVar[grpc.StatusCode] = grpc.StatusCode.INTERNAL
    default_reason: ClassVar[str] = "INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.metadata = dict(metadata or {})
        # Sent as ``google.rpc.RetryInfo``: how long a caller should wait before trying again.
        self.retry_after = retry_after


class InvalidArgument(ServiceError):
    """A request field is missing or malformed; ``field`` names it (e.g. ``angles[2]``)."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    default_reason = "INVALID_ARGUMENT"

    def __init__(self, field: str, message: str, *, reason: str | None = None) -> None:
        super().__init__(f"{field}: {message}", reason=reason, metadata={"field": field})
        self.field = field
        self.description = message


class Unauthenticated(ServiceError):
    """No valid credentials were presented."""

    code = grpc.StatusCode.UNAUTHENTICATED
    default_reason = "UNAUTHENTICATED"


class PermissionDenied(ServiceError):
    """The caller is known but may not do this (e.g. act for another user)."""

    code = grpc.StatusCode.PERMISSION_DENIED
    default_reason = "PERMISSION_DENIED"


class NotFound(ServiceError):
    """The resource does not exist, or belongs to someone else."""

    code = grpc.StatusCode.NOT_FOUND
    default_reason = "NOT_FOUND"


class AlreadyExists(ServiceError):
    """The resource to create exists already."""

    code = grpc.StatusCode.ALREADY_EXISTS
    default_reason = "ALREADY_EXISTS"


class FailedPrecondition(ServiceError):
    """The system is not in a state that allows the operation (e.g. cancelling a DONE message)."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    default_reason = "FAILED_PRECONDITION"


class ResourceExhausted(ServiceError):
    """A quota or limit is reached (e.g. too many messages processing)."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    default_reason = "RESOURCE_EXHAUSTED"


class Unavailable(ServiceError):
    """An upstream the operation needs is down; retrying later may succeed."""

    code = grpc.StatusCode.UNAVAILABLE
    default_reason = "UPSTREAM_UNAVAILABLE"


class DeadlineExceeded(ServiceError):
    """The operation did not finish within its deadline."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED
    default_reason = "DEADLINE_EXCEEDED"


class StartupError(Exception):
    """The process cannot start (configuration missing, a dependency unreachable); its
    message is the one line ``mesh.server.run`` prints instead of a traceback."""


@dataclass(frozen=True)
class ErrorInfo:
    """What a client can switch on in a failure (AIP-193 ``google.rpc.ErrorInfo``)."""

    reason: str = ""
    request_id: str = ""
    field: str = ""  # the first offending field of a ``google.rpc.BadRequest``
    retry_delay: float | None = None  # seconds, from a ``google.rpc.RetryInfo``


def decode_details(raw: bytes) -> ErrorInfo:
    """Read ``grpc-status-details-bin``; empty when it holds nothing readable."""
    reason = request_id = field = ""
    delay: float | None = None
    try:
        status = status_pb2.Status.FromString(raw)
    except DecodeError:  # a garbled trailer is not worth hiding the real error for
        return ErrorInfo()
    for detail in status.details:
        info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
        retry = error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            reason, request_id = info.reason, info.metadata.get("request_id", "")
        elif detail.Unpack(bad) and bad.field_violations:
            field = bad.field_violations[0].field
        elif detail.Unpack(retry):
            delay = retry.retry_delay.ToNanoseconds() / 1e9
    return ErrorInfo(reason, request_id, field, delay)


def error_info(error: grpc.aio.AioRpcError) -> ErrorInfo:
    """The details of a failed call; empty when the server sent none."""
    raw = next(
        (v for k, v in error.trailing_metadata() or () if k == "grpc-status-details-bin"), None
    )
    return decode_details(raw) if isinstance(raw, bytes) else ErrorInfo()
