"""Composition root of the image service: render pool, providers, Media client, servicer."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from pydantic import SecretStr

from image_svc.brands import BrandKnowledge, HttpBrandLookup
from image_svc.chain import ProviderChain
from image_svc.edit import ImageEditor
from image_svc.generator import ImageGenerator
from image_svc.limits import ProviderLimits, parse_concurrency
from image_svc.providers import openai_images, pollinations
from image_svc.providers.base import Provider
from image_svc.providers.mock import MockProvider, warm
from image_svc.providers.openai_images import OpenAIImagesProvider
from image_svc.providers.pollinations import PollinationsProvider
from image_svc.render import RenderPool
from image_svc.servicer import ImageServicer
from image_svc.settings import Settings
from mesh.logs import get_logger
from mesh.media import MediaClient
from mesh.server import ServiceBinding, bind
from photofun.v1 import image_service_pb2, image_service_pb2_grpc

log = get_logger(__name__)
SERVICE_NAME = image_service_pb2.DESCRIPTOR.services_by_name["ImageService"].full_name
LIMITED = ("Generate", "GenerateAngles", "EditImage")


async def build(settings: Settings, stack: contextlib.AsyncExitStack) -> Sequence[ServiceBinding]:
    """Create the pool and clients (closed by ``stack`` on shutdown) and the servicer."""
    pool = RenderPool(settings.render_mode, settings.render_workers)
    stack.callback(pool.close)
    if pool.mode == "process":
        await pool.warm_up(warm)
    providers: list[Provider] = [*configured_providers(settings, stack)]
    providers.append(MockProvider(pool, settings.mock_latency, settings.mock_jitter))
    limits = ProviderLimits(
        parse_concurrency(settings.provider_concurrency), settings.provider_queue
    )
    chain = ProviderChain(providers, timeout=settings.provider_timeout, limits=limits)
    stack.push_async_callback(chain.aclose)
    media = MediaClient(settings.media_service_url, public_url=settings.media_public_url)
    stack.push_async_callback(media.aclose)
    lookup = None
    if settings.brand_lookup_url:
        lookup = HttpBrandLookup(settings.brand_lookup_url)
        stack.push_async_callback(lookup.aclose)
    brands = BrandKnowledge(lookup, timeout=settings.brand_lookup_timeout)
    generator = ImageGenerator(chain, brands, max_concurrency=settings.max_concurrency)
    editor = ImageEditor(
        media, pool, max_bytes=settings.max_input_bytes, max_pixels=settings.max_input_pixels
    )
    servicer = ImageServicer(generator, editor)
    add = image_service_pb2_grpc.add_ImageServiceServicer_to_server
    # Every image costs render time or a provider's money: one bucket per user (mesh.ratelimit).
    return [bind(servicer, add, SERVICE_NAME, limits=dict.fromkeys(LIMITED, "images"))]


def configured_providers(settings: Settings, stack: contextlib.AsyncExitStack) -> list[Provider]:
    """The real providers named in ``IMAGE_SVC_PROVIDERS``, in order (the mock comes after).

    Gemini or OpenAI named without its key, or any model missing from its provider's
    capability table, is a configuration error reported at start-up; Pollinations without its
    key is left out with a warning (it is the free option, often listed "just in case").
    """
    del stack  # the chain closes its providers
    out: list[Provider] = []
    for name in (n.strip().lower() for n in settings.providers.split(",") if n.strip()):
        if name == "pollinations":
            key = settings.pollinations_api_key
            if key is None or not key.get_secret_value():
                # The gateway refuses keyless calls: trying would cost every job a 401.
                log.warning(
                    "provider off",
                    provider=name,
                    reason="POLLINATIONS_API_KEY is not set; the Pollinations gateway needs one",
                )
                continue
            out.append(
                PollinationsProvider(
                    api_key=key.get_secret_value(),
                    model=settings.pollinations_model,
                    base_url=settings.pollinations_base_url or pollinations.DEFAULT_BASE_URL,
                )
            )
        elif name == "openai":
            out.append(
                OpenAIImagesProvider(
                    api_key=_key(settings.openai_api_key, "OPENAI_API_KEY", name),
                    model=settings.openai_image_model,
                    base_url=settings.openai_base_url or openai_images.DEFAULT_BASE_URL,
                )
            )
        elif name == "gemini":
            # google-genai costs ~2 s of imports: paid only by a service that names Gemini.
            from image_svc.providers import gemini_images
            from image_svc.providers.gemini_images import GeminiImagesProvider

            out.append(
                GeminiImagesProvider(
                    api_key=_key(settings.gemini_api_key, "GEMINI_API_KEY", name),
                    model=settings.gemini_image_model,
                    base_url=settings.gemini_base_url or gemini_images.DEFAULT_BASE_URL,
                )
            )
        else:
            raise ValueError(f"IMAGE_SVC_PROVIDERS: unknown provider {name!r}")
    return out


def _key(secret: SecretStr | None, variable: str, provider: str) -> str:
    if secret is None or not secret.get_secret_value():
        raise ValueError(f"IMAGE_SVC_PROVIDERS names {provider} but {variable} is not set")
    return secret.get_secret_value()
