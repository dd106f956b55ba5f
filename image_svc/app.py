"""Composition root of the image service: builds its clients and servicers."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from image_svc.settings import Settings
from mesh.server import ServiceBinding, bind
from photofun.v1 import image_service_pb2, image_service_pb2_grpc

SERVICE_NAME = image_service_pb2.DESCRIPTOR.services_by_name["ImageService"].full_name


async def build(settings: Settings, stack: contextlib.AsyncExitStack) -> Sequence[ServiceBinding]:
    """Create the servicer; every RPC answers UNIMPLEMENTED until its issue lands."""
    del settings, stack
    servicer = image_service_pb2_grpc.ImageServiceServicer()  # type: ignore[abstract]
    return [bind(servicer, image_service_pb2_grpc.add_ImageServiceServicer_to_server, SERVICE_NAME)]
