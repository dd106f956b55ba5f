"""The one place where domain errors become gRPC statuses, and where each call gets its id.

Every unary and server-streaming handler is wrapped so that:
- the call's request id (``x-request-id`` metadata, or a new one) is bound to every log line and
  returned in the trailing metadata;
- ``ServiceError`` becomes its status code with a ``google.rpc.Status`` carrying
  ``google.rpc.ErrorInfo`` (the machine-readable reason) and, for a bad field,
  ``google.rpc.BadRequest``;
- ``NotImplementedError`` (the generated base servicers raise it) becomes UNIMPLEMENTED;
- anything else becomes INTERNAL with a generic message; the traceback is logged, not sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from mesh.errors import ERROR_DOMAIN, InvalidArgument, ServiceError
from mesh.logs import bind_context, get_logger

REQUEST_ID_KEY = "x-request-id"
_MAX_REQUEST_ID = 128
_QUIET_PREFIXES = ("/grpc.health.", "/grpc.reflection.")

log = get_logger(__name__)


class _Status(grpc.Status):
    """A concrete ``grpc.Status`` (the grpc package only ships the abstract class)."""

    def __init__(
        self, code: grpc.StatusCode, details: str, trailing_metadata: tuple[tuple[str, Any], ...]
    ) -> None:
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata


def request_id_of(metadata: Any) -> str:
    """The caller's request id from metadata, or a fresh one; bounded so logs stay sane."""
    for key, value in metadata or ():
        if key == REQUEST_ID_KEY and isinstance(value, str) and value.strip():
            return value.strip()[:_MAX_REQUEST_ID]
    return uuid.uuid4().hex


def status_for(exc: BaseException, request_id: str) -> _Status:
    """Map an exception to the status the client sees."""
    if isinstance(exc, ServiceError):
        code, message, reason = exc.code, exc.message, exc.reason
        metadata = {**exc.metadata, "request_id": request_id}
    elif isinstance(exc, NotImplementedError):
        code, message, reason = (
            grpc.StatusCode.UNIMPLEMENTED,
            "not implemented yet",
            "UNIMPLEMENTED",
        )
        metadata = {"request_id": request_id}
    else:
        code = grpc.StatusCode.INTERNAL
        message = f"internal error; quote request id {request_id} when reporting it"
        reason, metadata = "INTERNAL", {"request_id": request_id}
    details: list[any_pb2.Any] = []
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata))
    details.append(info)
    if isinstance(exc, InvalidArgument):
        bad = any_pb2.Any()
        bad.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=exc.field, description=exc.description, reason=reason
                    )
                ]
            )
        )
        details.append(bad)
    rpc_status = status_pb2.Status(code=code.value[0], message=message, details=details)
    return _Status(
        code=code,
        details=message,
        trailing_metadata=(
            ("grpc-status-details-bin", rpc_status.SerializeToString()),
            (REQUEST_ID_KEY, request_id),
        ),
    )


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    """Binds the request id, logs each call once, and maps errors (see module docstring)."""

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method: str = handler_call_details.method
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream(method, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler  # client-streaming methods (reflection) keep their own handling


def _begin(method: str, context: grpc.aio.ServicerContext[Any, Any]) -> str:
    request_id = request_id_of(context.invocation_metadata())
    bind_context(request_id=request_id, rpc=method)
    return request_id


def _finish(method: str, started: float, code: grpc.StatusCode, request_id: str) -> None:
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    level = "debug" if method.startswith(_QUIET_PREFIXES) else "info"
    getattr(log, level)("rpc finished", code=code.name, elapsed_ms=elapsed_ms)


async def _abort(
    context: grpc.aio.ServicerContext[Any, Any], exc: Exception, request_id: str
) -> None:
    status = status_for(exc, request_id)
    if isinstance(exc, ServiceError):
        log.info("rpc rejected", code=status.code.name, reason=exc.reason, message=exc.message)
    elif not isinstance(exc, NotImplementedError):
        log.exception("unhandled error in handler")
    await context.abort_with_status(status)


@contextlib.asynccontextmanager
async def _handling(method: str, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[str]:
    """Around one call: bind its id, map what escapes the handler, log it once."""
    request_id = _begin(method, context)
    started, code = time.perf_counter(), grpc.StatusCode.OK
    try:
        yield request_id
        # Add to what the handler set, never replace it.
        own = tuple(context.trailing_metadata() or ())
        context.set_trailing_metadata((*own, (REQUEST_ID_KEY, request_id)))
    except grpc.aio.AbortError:
        code = context.code() or grpc.StatusCode.UNKNOWN
        raise
    except asyncio.CancelledError:
        code = grpc.StatusCode.CANCELLED  # the client went away or the server is stopping
        raise
    except Exception as exc:
        code = status_for(exc, request_id).code
        await _abort(context, exc, request_id)
    finally:
        _finish(method, started, code, request_id)


def _wrap_unary(method: str, behavior: Callable[..., Any]) -> Callable[..., Any]:
    async def handler(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        async with _handling(method, context):
            result = behavior(request, context)
            return await result if inspect.isawaitable(result) else result

    return handler


def _wrap_stream(method: str, behavior: Callable[..., Any]) -> Callable[..., AsyncIterator[Any]]:
    async def handler(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        async with _handling(method, context):
            stream = behavior(request, context)
            if inspect.isawaitable(stream):
                await stream  # a handler that writes with context.write() (grpc health's Watch)
            else:
                async for item in stream:
                    yield item

    return handler
