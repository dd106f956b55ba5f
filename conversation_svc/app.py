"""Composition root of the conversation service: builds its clients and servicers."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from conversation_svc.settings import Settings
from mesh.server import ServiceBinding, bind
from photofun.v1 import conversation_service_pb2, conversation_service_pb2_grpc

SERVICE_NAME = conversation_service_pb2.DESCRIPTOR.services_by_name["ConversationService"].full_name


async def build(settings: Settings, stack: contextlib.AsyncExitStack) -> Sequence[ServiceBinding]:
    """Create the servicer; every RPC answers UNIMPLEMENTED until its issue lands."""
    del settings, stack
    servicer = conversation_service_pb2_grpc.ConversationServiceServicer()  # type: ignore[abstract]
    return [
        bind(
            servicer,
            conversation_service_pb2_grpc.add_ConversationServiceServicer_to_server,
            SERVICE_NAME,
        )
    ]
