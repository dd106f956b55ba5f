"""The studio draws only the car's box at 2x: that box must hold every pixel of the car."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops

from image_svc.render import RenderSubject
from image_svc.render.geometry import View
from image_svc.render.studio import StudioPainter, draw_car
from image_svc.render.subject import BODY_TYPES
from image_svc.render.vehicle import build_car

MAGENTA = (255, 0, 255)  # no car part is painted this colour
VIEWS = [(azimuth, 5.0) for azimuth in range(0, 360, 45)] + [(10.0, 90.0), (60.0, 40.0)]


def drawn_box(
    painter: StudioPainter, view_at_2x: View, size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """Box (in 2x pixels) of what the car paints on a plain canvas of the whole picture."""
    canvas = Image.new("RGB", (2 * size[0], 2 * size[1]), MAGENTA)
    draw_car(painter.model, view_at_2x, canvas)
    box = ImageChops.difference(canvas, Image.new("RGB", canvas.size, MAGENTA)).getbbox()
    assert box is not None, "the car drew nothing"
    return box


@pytest.mark.parametrize("body", BODY_TYPES)
@pytest.mark.parametrize(
    ("outline", "size"), [(False, (160, 120)), (True, (97, 333))], ids=["plain", "outlined"]
)
def test_car_box_holds_the_whole_car(body: str, outline: bool, size: tuple[int, int]) -> None:
    subject = RenderSubject(brand="Peugeot", model="X", color="green", body_type=body)
    painter = StudioPainter(build_car(subject, f"box-{body}"), f"box-{body}", outline=outline)
    for azimuth, elevation in VIEWS:
        view = painter.frame(azimuth, elevation, 2 * size[0], 2 * size[1])
        x0, y0, x1, y1 = painter.car_box(view, *size)
        box = (2 * x0, 2 * y0, 2 * x1, 2 * y1)
        d0, e0, d1, e1 = drawn_box(painter, view, size)
        where = f"{body} {azimuth}/{elevation} {size}"
        assert (min(box[0], d0), min(box[1], e0), max(box[2], d1), max(box[3], e1)) == box, where
        # ... and it is the car's box, not the whole picture.
        assert (x1 - x0) * (y1 - y0) < 0.8 * size[0] * size[1], where
