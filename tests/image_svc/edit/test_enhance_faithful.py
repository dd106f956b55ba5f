"""Enhance keeps each pixel's hue and never clips a channel (bench/enhance.py measures it)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

from image_svc.edit.operations import enhance

ROOT = Path(__file__).resolve().parents[3]


def _bench() -> ModuleType:
    # bench/ is a folder of scripts, not a package: load the script by its path.
    spec = importlib.util.spec_from_file_location("enhance_bench", ROOT / "bench" / "enhance.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


BENCH = _bench()
PICTURES = BENCH.pictures(96)


@pytest.mark.parametrize("name", list(PICTURES))
def test_enhance_keeps_hue_and_clips_nothing(name: str) -> None:
    picture = PICTURES[name]
    for out in (
        enhance(picture),
        enhance(picture, auto_contrast=True),
        enhance(picture, sharpen=True),
    ):
        assert BENCH.hue_shift(picture, out) < 2.0, name
        assert BENCH.clipped(picture, out) == 0.0, name


@pytest.mark.parametrize("name", list(PICTURES))
def test_enhance_sharpens_and_adds_contrast(name: str) -> None:
    picture = PICTURES[name]
    measured = BENCH.measure(picture, enhance)

    assert measured.sharpness > 1.0
    assert measured.contrast >= 1.0


def test_a_pale_blue_and_orange_photo_stays_pale_blue_and_orange() -> None:
    photo = Image.new("RGB", (64, 32), (176, 200, 228))
    photo.paste((240, 204, 168), (32, 0, 64, 32))
    out = enhance(photo)
    blue, orange = out.getpixel((8, 16)), out.getpixel((56, 16))

    assert isinstance(blue, tuple)
    assert isinstance(orange, tuple)
    assert blue != (0, 255, 255)
    assert orange[0] > orange[1] > orange[2] > 0  # still orange, not pure red
    assert blue[2] > blue[1] > blue[0] > 0  # still blue, not cyan
    assert max(blue) < 255
    assert max(orange) < 255


def test_a_saturated_gradient_keeps_its_colour_and_its_shading() -> None:
    ramp = Image.linear_gradient("L").rotate(90).resize((64, 8))
    gradient = Image.composite(
        Image.new("RGB", (64, 8), (140, 28, 44)), Image.new("RGB", (64, 8), (199, 40, 60)), ramp
    )
    out = enhance(gradient)
    row = [out.getpixel((x, 4)) for x in range(0, 64, 8)]

    assert all(isinstance(p, tuple) and min(p) > 0 and max(p) < 255 for p in row)
    luma = out.convert("L")
    shades = [int(luma.getpixel((x, 4)) or 0) for x in range(0, 64, 8)]  # type: ignore[arg-type]
    assert shades == sorted(shades, reverse=True)  # still a gradient: no flat clipped run
    assert len(set(shades)) == len(shades)
    assert BENCH.hue_shift(gradient, out) < 1.0
