"""Wheels of the procedural car: tyre, rim design and brake caliper, drawn in 3D."""

from __future__ import annotations

import functools
import math

from PIL import ImageDraw

from image_svc.render.car_body import RUBBER, Wheel
from image_svc.render.geometry import RGB, Vec3, View, add, convex_hull, dot, scale
from image_svc.render.subject import mix
from image_svc.render.vehicle import CarModel


def paint_wheel(draw: ImageDraw.ImageDraw, view: View, wheel: Wheel, model: CarModel) -> None:
    """The tyre as seen from ``view``; the rim only when its outer face is visible."""
    cam = view.camera
    steps = 28
    inner_y = wheel.y_outer - wheel.side * wheel.width
    ring = [(wheel.x + wheel.r * c, wheel.r + wheel.r * s) for c, s in _circle(steps)]
    sides = (wheel.y_outer, inner_y)
    hull = convex_hull(cam.project_all([(x, y, z) for x, z in ring for y in sides]))
    tyre = view.shade(RUBBER, (0.0, 0.0, 1.0), "rubber", (wheel.x, wheel.y_outer, 0.0))
    outline = (24, 24, 28) if view.outline else None
    draw.polygon(hull, fill=tyre, outline=outline, width=view.line_width)
    normal: Vec3 = (0.0, float(wheel.side), 0.0)
    centre: Vec3 = (wheel.x, wheel.y_outer, wheel.r)
    if dot(normal, add(cam.eye, scale(centre, -1.0))) > 0:
        _Rim(draw, view, wheel, model).paint(tyre)


@functools.cache
def _circle(steps: int) -> tuple[tuple[float, float], ...]:
    """Cosine and sine of ``steps`` angles evenly around a circle (the same for every wheel)."""
    return tuple(
        (math.cos(2 * math.pi * i / steps), math.sin(2 * math.pi * i / steps)) for i in range(steps)
    )


@functools.lru_cache(maxsize=512)
def _turn(degrees: float) -> tuple[float, float]:
    """Cosine and sine of ``degrees`` (the rims use a few hundred fixed angles)."""
    a = math.radians(degrees)
    return math.cos(a), math.sin(a)


class _Rim:
    def __init__(self, draw: ImageDraw.ImageDraw, view: View, wheel: Wheel, model: CarModel):
        self.draw = draw
        self.view = view
        self.wheel = wheel
        self.model = model
        self.y = wheel.y_outer + wheel.side * 0.004  # just outside the tyre wall
        self.normal: Vec3 = (0.0, float(wheel.side), 0.0)

    def _at(self, radius: float, degrees: float) -> Vec3:
        """The point of the rim's plane ``radius`` from the hub at angle ``degrees``."""
        c, s = _turn(degrees)
        w = self.wheel
        return (w.x + radius * c, self.y, w.r + radius * s)

    def _polygon(self, points: list[Vec3], colour: RGB) -> None:
        self.draw.polygon(self.view.camera.project_all(points), fill=colour)

    def _disc(self, radius: float, colour: RGB) -> None:
        self._polygon([self._at(radius, 360 * i / 24) for i in range(24)], colour)

    def _hole(self, radius: float, degrees: float, size: float, colour: RGB) -> None:
        """A round hole of ``size`` centred ``radius`` from the hub at angle ``degrees``."""
        w = self.wheel
        a = math.radians(degrees)
        hx, hz = w.x + radius * math.cos(a), w.r + radius * math.sin(a)
        pts = [
            (hx + size * math.cos(t * math.pi / 6), self.y, hz + size * math.sin(t * math.pi / 6))
            for t in range(12)
        ]
        self._polygon(pts, colour)

    def _spoke(self, degrees: float, widths: tuple[float, float], colour: RGB) -> None:
        """A tapered spoke from the hub to the rim; ``widths`` are half-angles in degrees."""
        r = self.wheel.r
        inner, outer = widths
        pts = [
            self._at(0.14 * r, degrees - inner),
            self._at(0.64 * r, degrees - outer),
            self._at(0.64 * r, degrees + outer),
            self._at(0.14 * r, degrees + inner),
        ]
        self._polygon(pts, colour)

    def paint(self, tyre: RGB) -> None:
        w, m, view = self.wheel, self.model, self.view
        r = w.r
        centre: Vec3 = (w.x, w.y_outer, w.r)
        rim = view.shade(m.rim_color, self.normal, "chrome", centre)
        well = mix(rim, (0, 0, 0), 0.75)
        self._disc(r * 0.97, mix(tyre, (255, 255, 255), 0.06))
        self._disc(r * 0.68, rim)
        self._disc(r * 0.62, well)
        # The caliper sits towards the car's middle: behind the front axle, ahead of the rear.
        mid = 150.0 if w.x > 0 else 30.0
        caliper = view.shade(m.caliper, self.normal, "trim", centre)
        band = [self._at(0.55 * r, mid - 28 + 56 * i / 8) for i in range(9)]
        band += [self._at(0.36 * r, mid + 28 - 56 * i / 8) for i in range(9)]
        self._polygon(band, caliper)
        if m.rim_style == "turbine":
            self._disc(r * 0.6, rim)
            for i in range(9):
                self._hole(0.42 * r, 90 + i * 40, 0.08 * r, well)
        elif m.rim_style == "spokes10":
            for i in range(10):
                self._spoke(90 + i * 36, (7, 4), rim)
        elif m.rim_style == "twin":
            for i in range(5):
                self._spoke(90 + i * 72 - 8, (6, 3.5), rim)
                self._spoke(90 + i * 72 + 8, (6, 3.5), rim)
        else:
            for i in range(5):
                self._spoke(90 + i * 72, (16, 8), rim)
        self._disc(r * 0.17, mix(rim, (255, 255, 255), 0.15))
        self._disc(r * 0.08, mix(rim, (0, 0, 0), 0.5))
