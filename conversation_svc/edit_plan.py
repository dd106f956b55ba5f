"""Which image edit an image-input message asks for, from its intent, style and keywords."""

from __future__ import annotations

from typing import Any

from conversation_svc.model import Message
from mesh.limits import MAX_REFINED_PROMPT_CHARS, MAX_SUBJECT_CHARS, cut
from mesh.vocabulary import Intent
from photofun.v1 import common_pb2
from photofun.v1 import image_service_pb2 as pb

_STYLES: dict[str, pb.TransferStyle.ValueType] = {
    "anime": pb.TRANSFER_STYLE_ANIME,
    "manga": pb.TRANSFER_STYLE_ANIME,
    "cartoon": pb.TRANSFER_STYLE_CARTOON,
    "comic": pb.TRANSFER_STYLE_CARTOON,
    "pencil": pb.TRANSFER_STYLE_PENCIL,
    "sketch": pb.TRANSFER_STYLE_PENCIL,
    "drawing": pb.TRANSFER_STYLE_PENCIL,
    "watercolor": pb.TRANSFER_STYLE_WATERCOLOR,
    "watercolour": pb.TRANSFER_STYLE_WATERCOLOR,
    "painting": pb.TRANSFER_STYLE_WATERCOLOR,
    "poster": pb.TRANSFER_STYLE_POSTERIZE,
    "posterize": pb.TRANSFER_STYLE_POSTERIZE,
    "pop": pb.TRANSFER_STYLE_POSTERIZE,
}
_COLORS = {
    "white": "#ffffff",
    "black": "#000000",
    "red": "#d32f2f",
    "green": "#388e3c",
    "blue": "#1976d2",
    "yellow": "#fbc02d",
    "grey": "#9e9e9e",
    "gray": "#9e9e9e",
    "pink": "#f48fb1",
    "purple": "#7b1fa2",
    "orange": "#f57c00",
}
_REMOVE = {"remove", "transparent", "delete", "erase", "cutout", "cut"}
_BLUR = {"blur", "blurred", "bokeh", "blurry"}
_UPSCALE = {"upscale", "resolution", "4k", "8k", "hd", "bigger", "enlarge", "larger"}


def _words(message: Message) -> set[str]:
    text = " ".join([message.style, message.refined_prompt, *message.keywords])
    return {w.strip(".,!?;:").lower() for w in text.split()}


def image_format(message: Message) -> common_pb2.ImageFormat.ValueType:
    """The output format the message asked for (PNG when unset or unknown)."""
    try:
        return common_pb2.ImageFormat.Value(message.format or "IMAGE_FORMAT_PNG")
    except ValueError:
        return common_pb2.IMAGE_FORMAT_PNG


def request_for(message: Message) -> pb.EditImageRequest:
    """The EditImage request for a message with an image-input intent."""
    words = _words(message)
    fields: dict[str, Any] = {
        "image_url": message.input_image_url,
        "prompt": cut(message.refined_prompt, MAX_REFINED_PROMPT_CHARS),
        "request_id": message.request_id,
        "format": image_format(message),
    }
    intent = message.intent
    if intent is Intent.STYLE_TRANSFER:
        style = next((s for w, s in _STYLES.items() if w in words), pb.TRANSFER_STYLE_CARTOON)
        fields["style_transfer"] = pb.StyleTransfer(style=style)
    elif intent is Intent.EDIT_BACKGROUND:
        if words & _REMOVE:
            fields["background_edit"] = pb.BackgroundEdit(action=pb.BACKGROUND_ACTION_REMOVE)
        elif words & _BLUR:
            fields["background_edit"] = pb.BackgroundEdit(action=pb.BACKGROUND_ACTION_BLUR)
        elif color := next((c for w, c in _COLORS.items() if w in words), None):
            fields["background_edit"] = pb.BackgroundEdit(
                action=pb.BACKGROUND_ACTION_REPLACE_COLOR, color=color
            )
        else:
            scene = cut(message.refined_prompt or message.prompt, MAX_SUBJECT_CHARS)
            fields["background_edit"] = pb.BackgroundEdit(
                action=pb.BACKGROUND_ACTION_REPLACE_SCENE, scene=scene or "a plain studio"
            )
    else:
        fields["enhancement"] = pb.Enhancement(
            scale=2 if words & _UPSCALE else 1, sharpen=True, auto_contrast=True
        )
    return pb.EditImageRequest(**fields)
