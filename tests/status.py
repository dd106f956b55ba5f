"""Reading the rich error status (AIP-193) the services attach to failures."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from mesh.errors import error_info


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
    info = error_info(error)
    return ErrorDetails(
        error.code(), error.details() or "", info.reason, info.field, info.request_id
    )
