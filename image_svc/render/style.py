"""Visual styles ("anime", "watercolor", "noir", ...) shared by the car and scene renderers.

A style acts twice: while drawing (outlines, palette) and once on the finished image (greyscale,
sepia, softening, pixelation). Unknown styles fall back to the plain look.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from image_svc.render.subject import RGB, find_words, mix, normalize

# Style words (in the style field or the prompt) -> look name.
_STYLE_WORDS: dict[str, str] = {
    "anime": "anime",
    "manga": "anime",
    "cartoon": "anime",
    "ghibli": "anime",
    "comic": "anime",
    "chibi": "anime",
    "watercolor": "watercolor",
    "watercolour": "watercolor",
    "painting": "watercolor",
    "pastel": "pastel",
    "noir": "noir",
    "black and white": "noir",
    "black-and-white": "noir",
    "b&w": "noir",
    "monochrome": "noir",
    "grayscale": "noir",
    "greyscale": "noir",
    "sepia": "sepia",
    "vintage": "sepia",
    "retro": "sepia",
    "old photo": "sepia",
    "pixel": "pixel",
    "pixel art": "pixel",
    "8-bit": "pixel",
    "8bit": "pixel",
    "neon": "neon",
    "cyberpunk": "neon",
    "synthwave": "neon",
    "vaporwave": "neon",
}


@dataclass(frozen=True)
class Look:
    name: str = ""

    @property
    def outline(self) -> bool:
        return self.name == "anime"

    def color(self, c: RGB) -> RGB:
        """Palette shift applied to every scene colour while drawing."""
        if self.name == "anime":
            return _saturate(mix(c, (255, 255, 255), 0.08), 1.25)
        if self.name in {"pastel", "watercolor"}:
            return mix(_saturate(c, 0.85), (255, 255, 255), 0.28)
        if self.name == "neon":
            return _saturate(c, 1.5)
        return c


def look_for(style: str, text: str = "") -> Look:
    """The look named by ``style``, else by a style word in the prompt, else plain."""
    for source in (style, text):
        found = find_words(normalize(source), list(_STYLE_WORDS))
        if found:
            return Look(_STYLE_WORDS[found[0]])
    return Look()


def finish(image: Image.Image, look: Look) -> Image.Image:
    """Post-process the final-size RGB image for ``look``."""
    w, h = image.size
    if look.name == "noir":
        grey = ImageOps.autocontrast(ImageOps.grayscale(image), cutoff=1)
        return ImageEnhance.Contrast(grey).enhance(1.25).convert("RGB")
    if look.name == "sepia":
        grey = ImageOps.autocontrast(ImageOps.grayscale(image), cutoff=1)
        return ImageOps.colorize(grey, (44, 30, 18), (250, 236, 206), mid=(160, 120, 84))
    if look.name == "watercolor":
        soft = image.filter(ImageFilter.GaussianBlur(max(0.6, min(w, h) / 500)))
        return Image.blend(soft, Image.new("RGB", image.size, (250, 245, 234)), 0.12)
    if look.name == "pixel":
        block = max(2, min(w, h) // 96)
        small = image.resize((max(1, w // block), max(1, h // block)), Image.Resampling.BOX)
        small = small.quantize(48, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        return small.convert("RGB").resize((w, h), Image.Resampling.NEAREST)
    if look.name == "neon":
        return ImageEnhance.Contrast(image).enhance(1.15)
    return image


def _saturate(c: RGB, k: float) -> RGB:
    grey = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
    return (
        max(0, min(255, round(grey + (c[0] - grey) * k))),
        max(0, min(255, round(grey + (c[1] - grey) * k))),
        max(0, min(255, round(grey + (c[2] - grey) * k))),
    )
