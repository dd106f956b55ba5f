"""PromptService over gRPC: proto in → validation → the refiner → proto out.

The conversation context is checked at the door (at most `MAX_TURNS` turns, every string of a
turn at most `MAX_TURN_CHARS` characters, at most `MAX_TURN_IMAGES` image URLs of at most
`MAX_URL_CHARS` characters each) and converted to the domain's `Context`; its image URLs are
passed through, never fetched.
"""

from __future__ import annotations

import grpc
from google.protobuf import duration_pb2

from mesh.errors import InvalidArgument
from mesh.limits import (
    MAX_REFINED_PROMPT_CHARS,
    MAX_REPLY_CHARS,
    MAX_STYLE_CHARS,
    MAX_TOPIC_CHARS,
    cut,
    fit_keywords,
    fit_subject,
    user_text,
)
from mesh.media import MAX_URL_CHARS, check_media_url
from mesh.vocabulary import ANGLES, LANGUAGE_CHOICES, Intent, Language, angle_name, angle_value
from photofun.v1 import common_pb2, prompt_service_pb2, prompt_service_pb2_grpc
from prompt_svc.intents import MAX_TURNS, Context, Subject, Turn
from prompt_svc.refiner import Refined, Refiner

LOCAL_MARGIN = 0.25  # seconds kept for the local analyser when Gemini runs out of time
MAX_TURN_CHARS = 2000  # every string of a context turn
MAX_TURN_IMAGES = 9
_SUBJECT_FIELDS = ("text", "category", "brand", "model", "color", "body_type")


class PromptServicer(prompt_service_pb2_grpc.PromptServiceServicer):
    """Refine and DetectIntent."""

    def __init__(
        self,
        refiner: Refiner,
        *,
        media_service_url: str,
        max_prompt_chars: int,
        media_public_url: str | None = None,
    ) -> None:
        self._refiner = refiner
        self._media = media_service_url
        self._media_public = media_public_url
        self._max = max_prompt_chars

    def _checked(self, prompt: str, lang: str, image_url: str) -> tuple[str, str, bool]:
        text = user_text(prompt, "prompt", self._max)
        try:
            code = Language.parse(lang)
        except ValueError:
            msg = f"must be one of {LANGUAGE_CHOICES}, or empty to detect it"
            raise InvalidArgument("lang", msg) from None
        if image_url.strip():
            check_media_url(image_url.strip(), self._media, self._media_public, field="image_url")
        return text, code.value if code else "", bool(image_url.strip())

    async def Refine(
        self,
        request: prompt_service_pb2.RefineRequest,
        context: grpc.aio.ServicerContext[
            prompt_service_pb2.RefineRequest, prompt_service_pb2.RefineResponse
        ],
    ) -> prompt_service_pb2.RefineResponse:
        """Refined prompt, intent, keywords, subject and angles."""
        text, lang, has_image = self._checked(request.prompt, request.lang, request.image_url)
        refined = await self._refiner.refine(
            text,
            style=cut(request.style, MAX_STYLE_CHARS),
            lang=lang,
            topic=cut(request.topic, MAX_TOPIC_CHARS),
            has_image=has_image,
            budget=_budget(context.time_remaining()),
            context=_context(request.context) if request.HasField("context") else None,
        )
        a = refined.analysis
        # What the analyser derived is cut to what image_svc takes (mesh.limits): NFKC can
        # make a prompt 18 times longer, and Gemini may answer with anything.
        return prompt_service_pb2.RefineResponse(
            refined_prompt=cut(a.refined_prompt, MAX_REFINED_PROMPT_CHARS),
            intent=a.intent.to_proto(),
            intent_confidence=a.confidence,
            keywords=fit_keywords(a.keywords),
            subject=fit_subject(
                common_pb2.Subject(
                    text=a.subject.text,
                    category=a.subject.category,
                    brand=a.subject.brand,
                    model=a.subject.model,
                    year=a.subject.year,
                    color=a.subject.color,
                    body_type=a.subject.body_type,
                )
            ),
            angles=[angle_value(name) for name in a.angles if name in ANGLES],
            lang=a.lang,
            reply=cut(a.reply, MAX_REPLY_CHARS),
            metadata=_metadata(refined),
            follow_up=a.follow_up.to_proto(),
            source_turn=a.source_turn,
        )

    async def DetectIntent(
        self,
        request: prompt_service_pb2.DetectIntentRequest,
        context: grpc.aio.ServicerContext[
            prompt_service_pb2.DetectIntentRequest, prompt_service_pb2.DetectIntentResponse
        ],
    ) -> prompt_service_pb2.DetectIntentResponse:
        """Only the intent and its confidence."""
        text, lang, has_image = self._checked(request.prompt, request.lang, request.image_url)
        refined = await self._refiner.refine(
            text,
            style="",
            lang=lang,
            topic="",
            has_image=has_image,
            budget=_budget(context.time_remaining()),
            context=_context(request.context) if request.HasField("context") else None,
        )
        a = refined.analysis
        return prompt_service_pb2.DetectIntentResponse(
            intent=a.intent.to_proto(),
            confidence=a.confidence,
            lang=a.lang,
            metadata=_metadata(refined),
            follow_up=a.follow_up.to_proto(),
            source_turn=a.source_turn,
        )


def _context(message: common_pb2.ConversationContext) -> Context:
    """The checked context as domain types; INVALID_ARGUMENT naming the first field over a cap."""
    if len(message.turns) > MAX_TURNS:
        raise InvalidArgument("context.turns", f"must be at most {MAX_TURNS} turns")
    return Context(
        tuple(_turn(turn, f"context.turns[{i}]") for i, turn in enumerate(message.turns))
    )


def _turn(turn: common_pb2.ConversationTurn, where: str) -> Turn:
    strings = {"prompt": turn.prompt, "refined_prompt": turn.refined_prompt}
    strings |= {f"subject.{name}": getattr(turn.subject, name) for name in _SUBJECT_FIELDS}
    strings["session_id"] = turn.session_id
    for name, value in strings.items():
        if len(value) > MAX_TURN_CHARS:
            raise InvalidArgument(f"{where}.{name}", f"must be at most {MAX_TURN_CHARS} characters")
    if len(turn.image_urls) > MAX_TURN_IMAGES:
        raise InvalidArgument(f"{where}.image_urls", f"must be at most {MAX_TURN_IMAGES} URLs")
    for j, url in enumerate(turn.image_urls):
        if len(url) > MAX_URL_CHARS:
            msg = f"must be at most {MAX_URL_CHARS} characters"
            raise InvalidArgument(f"{where}.image_urls[{j}]", msg)
    subject = turn.subject
    return Turn(
        prompt=" ".join(turn.prompt.split()),
        intent=Intent.from_proto(turn.intent),
        refined_prompt=" ".join(turn.refined_prompt.split()),
        subject=Subject(
            text=" ".join(subject.text.split()),
            category=subject.category.strip().lower(),
            brand=subject.brand.strip(),
            model=subject.model.strip(),
            year=subject.year,
            color=subject.color.strip().lower(),
            body_type=subject.body_type.strip().lower(),
        ),
        session_id=turn.session_id.strip(),
        angles=tuple(name for name in map(angle_name, turn.angles) if name),
        image_urls=tuple(url.strip() for url in turn.image_urls if url.strip()),
    )


def _budget(remaining: float | None) -> float | None:
    """Time the remote analyser may use: the caller's deadline less a margin for the fallback."""
    return None if remaining is None else max(remaining - LOCAL_MARGIN, 0.0)


def _metadata(refined: Refined) -> prompt_service_pb2.RefineMetadata:
    elapsed = duration_pb2.Duration()
    elapsed.FromNanoseconds(int(refined.seconds * 1e9))
    return prompt_service_pb2.RefineMetadata(
        model=refined.model,
        processing_time=elapsed,
        provider=refined.provider,
        fallback_used=refined.fallback_used,
        fallback_reason=refined.fallback_reason,
        untranslated_terms=list(refined.analysis.untranslated_terms),
    )
