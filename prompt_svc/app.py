"""Composition root of the prompt service: builds its clients and servicers."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from mesh.server import ServiceBinding, bind
from photofun.v1 import prompt_service_pb2, prompt_service_pb2_grpc
from prompt_svc.settings import Settings

SERVICE_NAME = prompt_service_pb2.DESCRIPTOR.services_by_name["PromptService"].full_name


async def build(settings: Settings, stack: contextlib.AsyncExitStack) -> Sequence[ServiceBinding]:
    """Create the servicer; every RPC answers UNIMPLEMENTED until its issue lands."""
    del settings, stack
    servicer = prompt_service_pb2_grpc.PromptServiceServicer()  # type: ignore[abstract]
    return [
        bind(servicer, prompt_service_pb2_grpc.add_PromptServiceServicer_to_server, SERVICE_NAME)
    ]
