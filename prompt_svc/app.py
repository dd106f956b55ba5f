"""Composition root of the prompt service: the Gemini client (when keyed) and the servicer."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from mesh.server import ServiceBinding, bind
from photofun.v1 import prompt_service_pb2, prompt_service_pb2_grpc
from prompt_svc.refiner import Refiner, RemoteAnalyzer
from prompt_svc.servicer import PromptServicer
from prompt_svc.settings import Settings

SERVICE_NAME = prompt_service_pb2.DESCRIPTOR.services_by_name["PromptService"].full_name


async def build(settings: Settings, stack: contextlib.AsyncExitStack) -> Sequence[ServiceBinding]:
    """Create the Gemini client when ``GEMINI_API_KEY`` is set (closed by ``stack``)."""
    remote: RemoteAnalyzer | None = None
    if settings.gemini_api_key is not None and settings.gemini_api_key.get_secret_value():
        from prompt_svc.gemini import GeminiRefiner

        gemini = GeminiRefiner(
            api_key=settings.gemini_api_key.get_secret_value(),
            model=settings.gemini_model,
            base_url=settings.gemini_base_url,
            timeout=settings.gemini_timeout,
            attempts=settings.gemini_attempts,
        )
        stack.push_async_callback(gemini.aclose)
        remote = gemini
    servicer = PromptServicer(
        Refiner(remote),
        media_service_url=settings.media_service_url,
        media_public_url=settings.media_public_url,
        max_prompt_chars=settings.max_prompt_chars,
    )
    add = prompt_service_pb2_grpc.add_PromptServiceServicer_to_server
    # Refine and DetectIntent both ask Gemini (Refiner.refine → remote.analyze) when a key is
    # set, so both spend its money and share one bucket; the local analyser costs next to nothing.
    limits = {"Refine": "gemini", "DetectIntent": "gemini"} if remote is not None else {}
    return [bind(servicer, add, SERVICE_NAME, limits=limits)]
