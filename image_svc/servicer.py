"""ImageService over gRPC: proto in → validation → one call into the domain → proto out."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import grpc
from google.protobuf import duration_pb2

from image_svc import validation
from image_svc.chain import Produced
from image_svc.consistency import seed_for
from image_svc.edit import MODEL as EDIT_MODEL
from image_svc.edit import EditOp, ImageEditor, parse_hex_color
from image_svc.generator import AngleOutcome, ImageGenerator
from mesh.errors import InvalidArgument
from photofun.v1 import common_pb2, image_service_pb2, image_service_pb2_grpc

_STYLES = {
    image_service_pb2.TRANSFER_STYLE_CARTOON: "cartoon",
    image_service_pb2.TRANSFER_STYLE_POSTERIZE: "posterize",
    image_service_pb2.TRANSFER_STYLE_PENCIL: "pencil",
    image_service_pb2.TRANSFER_STYLE_WATERCOLOR: "watercolor",
    image_service_pb2.TRANSFER_STYLE_ANIME: "anime",
}
_ACTIONS = {
    image_service_pb2.BACKGROUND_ACTION_REMOVE: "remove",
    image_service_pb2.BACKGROUND_ACTION_REPLACE_COLOR: "replace_color",
    image_service_pb2.BACKGROUND_ACTION_REPLACE_SCENE: "replace_scene",
    image_service_pb2.BACKGROUND_ACTION_BLUR: "blur",
}


def _duration(seconds: float) -> duration_pb2.Duration:
    out = duration_pb2.Duration()
    out.FromNanoseconds(int(seconds * 1e9))
    return out


def _metadata(produced: Produced) -> common_pb2.GenerationMetadata:
    return common_pb2.GenerationMetadata(
        processing_time=_duration(produced.seconds),
        model=produced.model,
        size=f"{produced.width}x{produced.height}",
        provider=produced.provider,
        fallbacks=list(produced.fallbacks),
    )


def _image(produced: Produced) -> common_pb2.Image:
    return common_pb2.Image(
        data=produced.data,
        mime_type=produced.mime_type,
        width=produced.width,
        height=produced.height,
        seed=produced.seed,
        seed_reproducible=produced.seed_reproducible,
    )


class ImageServicer(image_service_pb2_grpc.ImageServiceServicer):
    """Generate, GenerateAngles and EditImage."""

    def __init__(self, generator: ImageGenerator, editor: ImageEditor) -> None:
        self._generator = generator
        self._editor = editor

    async def Generate(
        self,
        request: image_service_pb2.GenerateRequest,
        context: grpc.aio.ServicerContext[
            image_service_pb2.GenerateRequest, image_service_pb2.GenerateResponse
        ],
    ) -> image_service_pb2.GenerateResponse:
        """One image from a prompt."""
        prompt = validation.prompt(request.prompt)
        canvas = validation.canvas(request.width, request.height, request.format)
        subject = validation.subject(request.subject, required=False)
        take = request.variation
        seed = request.seed if request.HasField("seed") else seed_for(prompt, "single", take=take)
        produced = await self._generator.single(
            prompt, canvas, seed=seed, style=request.style.strip(), subject=subject, take=take
        )
        return image_service_pb2.GenerateResponse(
            request_id=request.request_id or uuid.uuid4().hex,
            image=_image(produced),
            metadata=_metadata(produced),
        )

    async def GenerateAngles(
        self,
        request: image_service_pb2.GenerateAnglesRequest,
        context: grpc.aio.ServicerContext[
            image_service_pb2.GenerateAnglesRequest, image_service_pb2.GenerateAnglesResponse
        ],
    ) -> AsyncIterator[image_service_pb2.GenerateAnglesResponse]:
        """Every requested view, each streamed as soon as it is ready."""
        subject = validation.subject(request.subject, required=True)
        views = validation.views(request.angles)
        canvas = validation.canvas(request.width, request.height, request.format)
        extra = validation.prompt(request.prompt, required=False)
        session_id = validation.session_id(request.session_id)
        reference_mode = validation.consistency_mode(request.consistency_mode)
        request_id = request.request_id or uuid.uuid4().hex
        outcomes = self._generator.angles(
            subject,
            views,
            canvas,
            extra_prompt=extra,
            style=request.style.strip(),
            session_id=session_id,
            base_seed=request.seed if request.HasField("seed") else None,
            reference_mode=reference_mode,
            take=request.variation,
        )
        async for outcome in outcomes:
            yield _angle_response(outcome, request_id)

    async def EditImage(
        self,
        request: image_service_pb2.EditImageRequest,
        context: grpc.aio.ServicerContext[
            image_service_pb2.EditImageRequest, image_service_pb2.EditImageResponse
        ],
    ) -> image_service_pb2.EditImageResponse:
        """Restyle, re-background or enhance a Media Service image."""
        if not request.image_url.strip():
            raise InvalidArgument("image_url", "must not be empty")
        canvas = validation.canvas(0, 0, request.format)
        edited = await self._editor.edit(request.image_url.strip(), _edit_op(request), canvas.fmt)
        return image_service_pb2.EditImageResponse(
            request_id=request.request_id or uuid.uuid4().hex,
            image=common_pb2.Image(
                data=edited.data,
                mime_type=edited.mime_type,
                width=edited.width,
                height=edited.height,
            ),
            metadata=common_pb2.GenerationMetadata(
                processing_time=_duration(edited.seconds),
                model=EDIT_MODEL,
                size=f"{edited.width}x{edited.height}",
                provider="mock",
            ),
        )


def _angle_response(
    outcome: AngleOutcome, request_id: str
) -> image_service_pb2.GenerateAnglesResponse:
    response = image_service_pb2.GenerateAnglesResponse(
        angle=outcome.view.angle,  # type: ignore[arg-type]
        index=outcome.index,
        total=outcome.total,
        session_id=outcome.session_id,
        seed=outcome.seed,
        is_main=outcome.is_main,
        prompt=outcome.prompt,
        request_id=request_id,
    )
    if outcome.image is not None:
        response.image.CopyFrom(_image(outcome.image))
        response.metadata.CopyFrom(_metadata(outcome.image))
    else:
        response.error.CopyFrom(
            common_pb2.Failure(reason=outcome.failure_reason, message=outcome.failure_message)
        )
    return response


def _edit_op(request: image_service_pb2.EditImageRequest) -> EditOp:
    which = request.WhichOneof("operation")
    if which == "style_transfer":
        st = request.style_transfer
        if st.style not in _STYLES:
            raise InvalidArgument(
                "style_transfer.style", "choose one of the TRANSFER_STYLE_ values"
            )
        if not 0 <= st.strength <= 1:
            raise InvalidArgument("style_transfer.strength", "must be between 0 and 1")
        return EditOp("style", style=_STYLES[st.style], strength=st.strength or 1.0)
    if which == "background_edit":
        bg = request.background_edit
        if bg.action not in _ACTIONS:
            raise InvalidArgument("background_edit.action", "choose a BACKGROUND_ACTION_ value")
        color = (255, 255, 255)
        if bg.color:
            try:
                color = parse_hex_color(bg.color)
            except ValueError as exc:
                raise InvalidArgument("background_edit.color", str(exc)) from exc
        if bg.action == image_service_pb2.BACKGROUND_ACTION_REPLACE_SCENE and not bg.scene.strip():
            raise InvalidArgument("background_edit.scene", "describe the scene to draw")
        if not 0 <= bg.blur_radius <= 100:
            raise InvalidArgument("background_edit.blur_radius", "must be between 1 and 100")
        return EditOp(
            "background",
            action=_ACTIONS[bg.action],
            color=color,
            scene=bg.scene.strip()[:500],
            blur_radius=bg.blur_radius or 12,
        )
    if which == "enhancement":
        en = request.enhancement
        if not 0 <= en.scale <= 4:
            raise InvalidArgument("enhancement.scale", "must be between 1 and 4")
        return EditOp(
            "enhance", scale=en.scale or 1, sharpen=en.sharpen, auto_contrast=en.auto_contrast
        )
    raise InvalidArgument("operation", "set one of style_transfer, background_edit or enhancement")
