"""Simple flat figures for generated scenes (person, cat, dog, boat, house, ...).

Each figure stands on ``ground`` (screen y of its feet), centred on ``x``, ``size`` tall, and is
drawn with a :class:`Pen`, which applies the style's palette and outlines.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import NamedTuple

from PIL import ImageDraw

from image_svc.render.style import Look
from image_svc.render.subject import RGB, mix

Point = tuple[float, float]


class Spot(NamedTuple):
    """Where a figure stands: centre x, screen y of its feet, and its height (pixels)."""

    x: float
    ground: float
    size: float


class Pen:
    """ImageDraw with the look applied: palette shift and, for cartoon looks, ink outlines."""

    def __init__(self, draw: ImageDraw.ImageDraw, look: Look, unit: float) -> None:
        self.draw = draw
        self.look = look
        self.ink_width = max(1, round(unit / 260))

    def _ink(self) -> tuple[RGB | None, int]:
        return ((34, 30, 40), self.ink_width) if self.look.outline else (None, 0)

    def poly(self, points: Sequence[Point], colour: RGB, *, ink: bool = True) -> None:
        outline, width = self._ink() if ink else (None, 0)
        self.draw.polygon(list(points), fill=self.look.color(colour), outline=outline, width=width)

    def ellipse(
        self, box: tuple[float, float, float, float], colour: RGB, *, ink: bool = True
    ) -> None:
        outline, width = self._ink() if ink else (None, 0)
        x0, y0, x1, y1 = box
        if x1 - x0 < 1 or y1 - y0 < 1:
            return
        self.draw.ellipse(box, fill=self.look.color(colour), outline=outline, width=width)

    def circle(self, centre: Point, r: float, colour: RGB, *, ink: bool = True) -> None:
        x, y = centre
        self.ellipse((x - r, y - r, x + r, y + r), colour, ink=ink)

    def line(self, points: Sequence[Point], colour: RGB, width: float) -> None:
        self.draw.line(list(points), fill=self.look.color(colour), width=max(1, round(width)))

    def rect(
        self, box: tuple[float, float, float, float], colour: RGB, *, ink: bool = True
    ) -> None:
        x0, y0, x1, y1 = box
        self.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], colour, ink=ink)


Figure = Callable[[Pen, Spot, RGB, random.Random], None]


def person(pen: Pen, spot: Spot, colour: RGB, rng: random.Random) -> None:
    _figure(pen, spot, colour, rng, dress=False)


def woman(pen: Pen, spot: Spot, colour: RGB, rng: random.Random) -> None:
    _figure(pen, spot, colour, rng, dress=True)


def _figure(pen: Pen, spot: Spot, colour: RGB, rng: random.Random, *, dress: bool) -> None:
    x, ground, size = spot
    skin = rng.choice(((241, 200, 170), (224, 172, 132), (176, 120, 84), (120, 80, 56)))
    hair = rng.choice(((40, 30, 26), (92, 58, 34), (200, 160, 90), (20, 20, 24)))
    legs = skin if dress else mix(colour, (20, 24, 40), 0.6)
    u = size / 10
    head_y = ground - size + 1.1 * u
    if dress:  # long hair behind the head and shoulders
        pen.circle((x, head_y + 0.9 * u), 1.45 * u, hair)
        pen.rect((x - 1.45 * u, head_y + 0.9 * u, x + 1.45 * u, head_y + 2.8 * u), hair, ink=False)
    leg = 0.6 if dress else 0.9
    pen.rect((x - 0.2 * u - leg * u, ground - 4.4 * u, x - 0.2 * u, ground), legs)
    pen.rect((x + 0.2 * u, ground - 4.4 * u, x + 0.2 * u + leg * u, ground), legs)
    hem, flare = (1.6, 3.0) if dress else (3.8, 2.0)
    pen.poly(
        [
            (x - 1.5 * u, ground - 7.6 * u),
            (x + 1.5 * u, ground - 7.6 * u),
            (x + flare * u, ground - hem * u),
            (x - flare * u, ground - hem * u),
        ],
        colour,
    )
    for side in (-1, 1):
        pen.poly(
            [
                (x + side * 1.5 * u, ground - 7.5 * u),
                (x + side * 2.3 * u, ground - 4.6 * u),
                (x + side * 1.7 * u, ground - 4.4 * u),
                (x + side * 1.0 * u, ground - 6.6 * u),
            ],
            colour,
        )
        pen.circle((x + side * 2.0 * u, ground - 4.4 * u), 0.35 * u, skin)
    pen.rect((x - 0.35 * u, ground - 8.2 * u, x + 0.35 * u, ground - 7.4 * u), skin, ink=False)
    pen.circle((x, head_y - 0.1 * u), 1.25 * u, hair)
    pen.circle((x, head_y + 0.15 * u), 1.05 * u, skin)
    pen.ellipse((x - 1.15 * u, head_y - 1.3 * u, x + 1.15 * u, head_y - 0.2 * u), hair, ink=False)
    pen.circle((x - 0.38 * u, head_y + 0.25 * u), 0.12 * u, (40, 34, 34), ink=False)
    pen.circle((x + 0.38 * u, head_y + 0.25 * u), 0.12 * u, (40, 34, 34), ink=False)


def cat(pen: Pen, spot: Spot, colour: RGB, rng: random.Random) -> None:
    x, ground, size = spot
    del rng
    u = size / 10
    dark = mix(colour, (0, 0, 0), 0.25)
    pen.poly(
        [
            (x + 2.2 * u, ground - 0.4 * u),
            (x + 4.6 * u, ground - 1.2 * u),
            (x + 4.8 * u, ground - 4.8 * u),
            (x + 4.1 * u, ground - 4.9 * u),
            (x + 3.9 * u, ground - 1.9 * u),
            (x + 2.0 * u, ground - 1.4 * u),
        ],
        dark,
    )
    pen.ellipse((x - 3.0 * u, ground - 6.2 * u, x + 3.0 * u, ground), colour)
    head_y = ground - 7.0 * u
    pen.poly(
        [
            (x - 2.3 * u, head_y - 0.6 * u),
            (x - 2.0 * u, head_y - 3.4 * u),
            (x - 0.5 * u, head_y - 2.0 * u),
        ],
        colour,
    )
    pen.poly(
        [
            (x + 2.3 * u, head_y - 0.6 * u),
            (x + 2.0 * u, head_y - 3.4 * u),
            (x + 0.5 * u, head_y - 2.0 * u),
        ],
        colour,
    )
    pen.ellipse((x - 2.5 * u, head_y - 2.4 * u, x + 2.5 * u, head_y + 1.9 * u), colour)
    for side in (-1, 1):
        pen.ellipse(
            (
                x + side * 0.95 * u - 0.45 * u,
                head_y - 0.6 * u,
                x + side * 0.95 * u + 0.45 * u,
                head_y + 0.4 * u,
            ),
            (250, 232, 120),
        )
        pen.ellipse(
            (
                x + side * 0.95 * u - 0.14 * u,
                head_y - 0.5 * u,
                x + side * 0.95 * u + 0.14 * u,
                head_y + 0.3 * u,
            ),
            (20, 20, 20),
            ink=False,
        )
    pen.poly(
        [(x - 0.3 * u, head_y + 0.7 * u), (x + 0.3 * u, head_y + 0.7 * u), (x, head_y + 1.05 * u)],
        (230, 130, 140),
        ink=False,
    )


def dog(pen: Pen, spot: Spot, colour: RGB, rng: random.Random) -> None:
    x, ground, size = spot
    del rng
    u = size / 10
    dark = mix(colour, (0, 0, 0), 0.35)
    for lx in (-3.2, -1.8, 1.6, 3.0):
        pen.rect((x + lx * u, ground - 3.5 * u, x + (lx + 0.9) * u, ground), colour)
    pen.poly(
        [
            (x - 4.4 * u, ground - 5.6 * u),
            (x - 5.8 * u, ground - 7.6 * u),
            (x - 5.2 * u, ground - 7.8 * u),
            (x - 3.9 * u, ground - 6.2 * u),
        ],
        colour,
    )
    pen.ellipse((x - 4.6 * u, ground - 6.6 * u, x + 4.4 * u, ground - 2.6 * u), colour)
    head = (x + 4.2 * u, ground - 7.4 * u)
    pen.ellipse(
        (head[0] - 0.4 * u, head[1] + 0.2 * u, head[0] + 3.0 * u, head[1] + 2.2 * u),
        mix(colour, (255, 255, 255), 0.15),
    )
    pen.circle((head[0], head[1]), 2.0 * u, colour)
    pen.ellipse((head[0] - 2.3 * u, head[1] - 1.2 * u, head[0] - 0.9 * u, head[1] + 2.0 * u), dark)
    pen.circle((head[0] + 2.8 * u, head[1] + 0.9 * u), 0.45 * u, (30, 26, 26), ink=False)
    pen.circle((head[0] + 0.6 * u, head[1] - 0.3 * u), 0.3 * u, (30, 26, 26), ink=False)


def boat(pen: Pen, spot: Spot, colour: RGB, rng: random.Random) -> None:
    x, ground, size = spot
    del rng
    u = size / 10
    pen.poly(
        [
            (x - 5 * u, ground - 2.2 * u),
            (x + 5 * u, ground - 2.2 * u),
            (x + 3.6 * u, ground),
            (x - 3.6 * u, ground),
        ],
        colour,
    )
    pen.rect((x - 0.15 * u, ground - 10 * u, x + 0.15 * u, ground - 2.2 * u), (90, 70, 50))
    pen.poly(
        [
            (x + 0.3 * u, ground - 9.6 * u),
            (x + 0.3 * u, ground - 2.8 * u),
            (x + 4.4 * u, ground - 2.8 * u),
        ],
        (248, 246, 238),
    )
    pen.poly(
        [
            (x - 0.3 * u, ground - 8.4 * u),
            (x - 0.3 * u, ground - 2.8 * u),
            (x - 3.4 * u, ground - 2.8 * u),
        ],
        (236, 232, 222),
    )


def house(pen: Pen, spot: Spot, colour: RGB, rng: random.Random) -> None:
    x, ground, size = spot
    u = size / 10
    lit = rng.random() < 0.5
    wall = mix(colour, (250, 240, 225), 0.55)
    pen.rect((x - 4.5 * u, ground - 6 * u, x + 4.5 * u, ground), wall)
    pen.poly(
        [(x - 5.4 * u, ground - 5.8 * u), (x, ground - 10 * u), (x + 5.4 * u, ground - 5.8 * u)],
        mix(colour, (120, 40, 30), 0.5),
    )
    pen.rect((x - 0.9 * u, ground - 3.4 * u, x + 0.9 * u, ground), (110, 70, 46))
    glass = (255, 214, 120) if lit else (150, 190, 220)
    for wx in (-3.2, 1.6):
        pen.rect((x + wx * u, ground - 4.6 * u, x + (wx + 1.6) * u, ground - 2.8 * u), glass)


def tree(pen: Pen, spot: Spot, colour: RGB, rng: random.Random) -> None:
    x, ground, size = spot
    u = size / 10
    pen.rect((x - 0.5 * u, ground - 4 * u, x + 0.5 * u, ground), (104, 72, 48))
    for _ in range(5):
        cx = x + rng.uniform(-2.2, 2.2) * u
        cy = ground - rng.uniform(5.5, 8.0) * u
        r = rng.uniform(1.8, 2.6) * u
        pen.circle((cx, cy), r, mix(colour, (255, 255, 255), rng.uniform(0, 0.15)))


def balloon(pen: Pen, spot: Spot, colour: RGB, rng: random.Random) -> None:
    x, ground, size = spot
    del rng
    u = size / 10
    top = ground - size
    pen.ellipse((x - 3.4 * u, top, x + 3.4 * u, top + 7.2 * u), colour)
    pen.ellipse((x - 1.2 * u, top, x + 1.2 * u, top + 7.2 * u), mix(colour, (255, 255, 255), 0.45))
    pen.line(
        [(x - 2.2 * u, top + 6.6 * u), (x - 0.7 * u, ground - 1.2 * u)], (80, 60, 40), u * 0.12
    )
    pen.line(
        [(x + 2.2 * u, top + 6.6 * u), (x + 0.7 * u, ground - 1.2 * u)], (80, 60, 40), u * 0.12
    )
    pen.rect((x - 0.8 * u, ground - 1.3 * u, x + 0.8 * u, ground), (150, 100, 60))


def flower(pen: Pen, spot: Spot, colour: RGB, rng: random.Random) -> None:
    x, ground, size = spot
    del rng
    u = size / 10
    pen.line([(x, ground), (x, ground - 7 * u)], (60, 140, 60), u * 0.5)
    pen.ellipse((x, ground - 4.5 * u, x + 2.6 * u, ground - 3.2 * u), (70, 160, 70))
    for i in range(6):
        a = i * math.pi / 3
        pen.circle(
            (x + 1.5 * u * math.cos(a), ground - 8 * u + 1.5 * u * math.sin(a)), 1.2 * u, colour
        )
    pen.circle((x, ground - 8 * u), 1.0 * u, (250, 210, 70))


def castle(pen: Pen, spot: Spot, colour: RGB, rng: random.Random) -> None:
    x, ground, size = spot
    del rng
    u = size / 10
    stone = mix(colour, (200, 196, 186), 0.7)
    pen.rect((x - 4 * u, ground - 5.5 * u, x + 4 * u, ground), stone)
    for tx in (-4.6, 2.6):
        pen.rect(
            (x + tx * u, ground - 8 * u, x + (tx + 2) * u, ground), mix(stone, (0, 0, 0), 0.08)
        )
        pen.poly(
            [
                (x + (tx - 0.3) * u, ground - 8 * u),
                (x + (tx + 1) * u, ground - 10 * u),
                (x + (tx + 2.3) * u, ground - 8 * u),
            ],
            mix(colour, (140, 40, 50), 0.6),
        )
    pen.poly(
        [
            (x - 1.2 * u, ground),
            (x - 1.2 * u, ground - 2.4 * u),
            (x, ground - 3.4 * u),
            (x + 1.2 * u, ground - 2.4 * u),
            (x + 1.2 * u, ground),
        ],
        (70, 52, 40),
    )


def heart(pen: Pen, spot: Spot, colour: RGB, rng: random.Random) -> None:
    x, ground, size = spot
    del rng
    u = size / 10
    cy = ground - 6.5 * u
    pen.circle((x - 2.2 * u, cy), 2.6 * u, colour)
    pen.circle((x + 2.2 * u, cy), 2.6 * u, colour)
    pen.poly([(x - 4.7 * u, cy + 0.6 * u), (x + 4.7 * u, cy + 0.6 * u), (x, ground)], colour)


def gem(pen: Pen, spot: Spot, colour: RGB, rng: random.Random) -> None:
    x, ground, size = spot
    """A generic hero object: a faceted sphere on a podium."""
    del rng
    u = size / 10
    pen.ellipse((x - 4.5 * u, ground - 1.6 * u, x + 4.5 * u, ground + 0.6 * u), (200, 200, 206))
    pen.rect((x - 4.5 * u, ground - 2.6 * u, x + 4.5 * u, ground - 0.5 * u), (226, 226, 230))
    pen.ellipse((x - 4.5 * u, ground - 3.6 * u, x + 4.5 * u, ground - 1.6 * u), (244, 244, 246))
    cy, r = ground - 6.6 * u, 3.6 * u
    pen.circle((x, cy), r, colour)
    pen.ellipse(
        (x - r * 0.7, cy - r * 0.8, x + r * 0.2, cy - r * 0.05),
        mix(colour, (255, 255, 255), 0.35),
        ink=False,
    )
    pen.circle((x - r * 0.35, cy - r * 0.45), r * 0.14, (255, 255, 255), ink=False)


FIGURES: dict[str, tuple[Figure, float]] = {
    # name -> (drawing function, height as a fraction of the picture height)
    "person": (person, 0.46),
    "woman": (woman, 0.46),
    "cat": (cat, 0.30),
    "dog": (dog, 0.28),
    "boat": (boat, 0.26),
    "house": (house, 0.30),
    "tree": (tree, 0.42),
    "balloon": (balloon, 0.30),
    "flower": (flower, 0.28),
    "castle": (castle, 0.34),
    "heart": (heart, 0.30),
    "object": (gem, 0.30),
}
