"""The prompt service's domain: Gemini when configured, the local analyser otherwise or on failure.

The caller never sees a Gemini error while the local analyser can answer; the metadata says
which provider answered and why the fallback was used. Gemini is told to reply in the user's
language; its reply is checked with the local analyser's language detection, and one in another
language is replaced by the local analyser's reply from the message catalogue.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass
from typing import Protocol

from mesh.i18n import DEFAULT, replies
from mesh.logs import get_logger
from prompt_svc import local
from prompt_svc.intents import Analysis, Context, Intent

log = get_logger(__name__)


class RemoteAnalyzer(Protocol):
    """A model-backed analyser (Gemini) that raises on any failure."""

    name: str
    model: str

    async def analyze(
        self,
        prompt: str,
        *,
        style: str,
        lang: str,
        topic: str,
        has_image: bool,
        context: Context | None = None,
    ) -> Analysis:
        """Analyse one prompt or raise an exception carrying a ``reason``."""
        ...


@dataclass(frozen=True)
class Refined:
    """An analysis and how it was produced."""

    analysis: Analysis
    provider: str
    model: str
    fallback_used: bool
    fallback_reason: str
    seconds: float


class Refiner:
    """Chooses the analyser for each request."""

    def __init__(self, remote: RemoteAnalyzer | None) -> None:
        self._remote = remote

    async def refine(
        self,
        prompt: str,
        *,
        style: str,
        lang: str,
        topic: str,
        has_image: bool,
        budget: float | None = None,
        context: Context | None = None,
    ) -> Refined:
        """Analyse ``prompt``: remotely if possible within ``budget`` seconds, locally otherwise."""
        started = time.perf_counter()
        reason = "GEMINI_NOT_CONFIGURED"
        if self._remote is not None:
            try:
                async with asyncio.timeout(budget):
                    analysis = await self._remote.analyze(
                        prompt,
                        style=style,
                        lang=lang,
                        topic=topic,
                        has_image=has_image,
                        context=context,
                    )
            except TimeoutError:
                reason = "GEMINI_DEADLINE"
                log.warning("remote analyser out of time; local fallback answers")
            except Exception as exc:  # any remote failure: the local analyser answers
                reason = str(getattr(exc, "reason", "") or type(exc).__name__)
                log.warning("remote analyser failed; local fallback answers", reason=reason)
            else:
                return Refined(
                    _in_language(analysis, prompt, lang=lang, has_image=has_image, context=context),
                    self._remote.name,
                    self._remote.model,
                    fallback_used=False,
                    fallback_reason="",
                    seconds=time.perf_counter() - started,
                )
        analysis = local.analyze(
            prompt, style=style, lang=lang, topic=topic, has_image=has_image, context=context
        )
        return Refined(
            analysis,
            "local",
            local.MODEL_NAME,
            fallback_used=self._remote is not None,
            fallback_reason=reason,
            seconds=time.perf_counter() - started,
        )


def _in_language(
    analysis: Analysis, prompt: str, *, lang: str, has_image: bool, context: Context | None
) -> Analysis:
    """A remote analysis whose reply is in the user's language: `lang` when the caller set it,
    else the prompt's language when the local detection is sure of it (its script, or words
    only Vietnamese has: not Gemini's own label, which can be wrong along with its reply), else
    the language the analysis read. A reply the local analyser's language detection places in
    another language gives way to the local analyser's reply from the catalogue (for chat, the
    catalogue's "not sure" answer when the local analyser has none). The analysis's ``lang``
    is put right too, so what the pipeline writes later is in the same language."""
    detected = local.detect_language(prompt)
    wanted = lang or (detected if detected != DEFAULT else analysis.lang)
    if wanted != analysis.lang:
        log.info("remote analysis read the wrong language", said=analysis.lang, lang=wanted)
        analysis = dataclasses.replace(analysis, lang=wanted)
    if not analysis.reply or local.detect_language(analysis.reply) == wanted:
        return analysis
    fallback = local.analyze(prompt, lang=wanted, has_image=has_image, context=context).reply
    if not fallback and analysis.intent is Intent.CHAT:
        fallback = replies("reply.unknown", wanted)
    log.info("remote reply not in the user's language; the catalogue answers", lang=wanted)
    return dataclasses.replace(analysis, reply=fallback)
