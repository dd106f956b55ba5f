"""The car's body as convex solids: proportions per body type, lower body, cabin, mirrors.

Car frame: x forward (front bumper at +L/2), y towards the car's LEFT side, z up, ground z = 0.
Each solid is a side profile extruded across the car and rounded off by cutting planes
(geometry.py), so back-face culling alone draws it correctly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from image_svc.render.geometry import (
    RGB,
    Solid,
    Vec2,
    Vec3,
    X,
    Z,
    inset_2d,
    prism_y,
    project_decal,
)

TRIM: RGB = (30, 31, 34)
RUBBER: RGB = (28, 28, 30)
LAMP: RGB = (232, 238, 244)
TAIL: RGB = (186, 18, 28)
HOUSING: RGB = (44, 48, 56)


@dataclass(frozen=True)
class BodySpec:
    """Proportions in metres; ``*_d`` are distances back from the front bumper."""

    length: float
    width: float
    height: float
    wheelbase: float
    overhang: float
    wheel_r: float
    clearance: float
    belt: float
    hood: float  # top of the front fascia
    rake: float  # how far the top of the fascia sits behind the bumper
    cowl_d: float  # base of the windscreen
    roof_front_d: float
    roof_rear_d: float
    glass_rear_d: float  # base of the rear window
    deck: float  # height of the rear top edge of the lower body
    rear_top: float  # top of the vertical rear face
    tumble: float  # how much narrower the roof is than the beltline
    doors: int = 4
    pillars: tuple[float, ...] = (0.47,)  # window splits, as fractions of the glass length
    open_top: bool = False
    bed: bool = False
    cladding: bool = False
    rails: bool = False


SPECS: dict[str, BodySpec] = {
    "hatchback": BodySpec(4.05, 1.77, 1.44, 2.58, 0.80, 0.32, 0.15, 0.91, 0.76, 0.12, 1.18,
                          1.96, 3.50, 3.93, 0.91, 0.83, 0.16, pillars=(0.50,)),
    "sedan": BodySpec(4.70, 1.82, 1.45, 2.80, 0.95, 0.33, 0.15, 0.91, 0.71, 0.12, 1.55,
                      2.32, 3.45, 3.86, 0.95, 0.88, 0.17, pillars=(0.48, 0.88)),
    "suv": BodySpec(4.65, 1.88, 1.72, 2.72, 0.92, 0.37, 0.21, 1.07, 0.95, 0.10, 1.45,
                    2.20, 4.30, 4.52, 1.07, 1.00, 0.12, pillars=(0.40, 0.80),
                    cladding=True, rails=True),
    "coupe": BodySpec(4.55, 1.85, 1.31, 2.70, 0.95, 0.34, 0.12, 0.83, 0.62, 0.16, 1.72,
                      2.45, 3.20, 4.05, 0.88, 0.82, 0.19, doors=2, pillars=(0.74,)),
    "pickup": BodySpec(5.30, 1.90, 1.82, 3.22, 0.95, 0.39, 0.25, 1.12, 1.02, 0.08, 1.55,
                       2.12, 3.08, 3.16, 1.12, 1.10, 0.12, pillars=(0.55,), bed=True,
                       cladding=True),
    "van": BodySpec(4.95, 1.92, 1.98, 3.00, 0.82, 0.34, 0.17, 1.02, 0.88, 0.10, 0.95,
                    1.85, 4.85, 4.90, 1.02, 1.00, 0.08, pillars=(0.22, 0.62)),
    "wagon": BodySpec(4.75, 1.83, 1.50, 2.80, 0.95, 0.33, 0.15, 0.93, 0.72, 0.12, 1.55,
                      2.30, 4.45, 4.64, 0.93, 0.86, 0.16, pillars=(0.36, 0.72), rails=True),
    "convertible": BodySpec(4.40, 1.80, 1.24, 2.60, 0.90, 0.33, 0.13, 0.85, 0.64, 0.14,
                            1.62, 2.02, 2.06, 2.10, 0.89, 0.82, 0.10, doors=2,
                            open_top=True),
    # Low, wide and long-nosed: a mid-engined sports car's wedge with a fast rear screen.
    "sports": BodySpec(4.45, 1.95, 1.17, 2.62, 0.98, 0.35, 0.10, 0.76, 0.55, 0.22, 1.88,
                       2.50, 3.05, 3.98, 0.82, 0.78, 0.22, doors=2, pillars=(0.78,)),
}  # fmt: skip


RIM_COLORS: tuple[RGB, ...] = ((196, 200, 206), (200, 200, 204), (84, 87, 92), (36, 37, 40))
TINTS: tuple[RGB, ...] = ((36, 44, 56), (58, 72, 88), (92, 110, 128))


@dataclass(frozen=True)
class Wheel:
    x: float
    side: int  # +1 left, -1 right
    r: float
    width: float
    y_outer: float


def x_at(spec: BodySpec, d: float) -> float:
    """x of a point ``d`` metres behind the front bumper."""
    return spec.length / 2 - d


def ellipse(cu: float, cv: float, ru: float, rv: float, n: int = 20) -> list[Vec2]:
    return [
        (cu + ru * math.cos(2 * math.pi * i / n), cv + rv * math.sin(2 * math.pi * i / n))
        for i in range(n)
    ]


def rect(u0: float, v0: float, u1: float, v1: float) -> list[Vec2]:
    return [(u0, v0), (u1, v0), (u1, v1), (u0, v1)]


def build_lower_body(s: BodySpec, paint: RGB) -> Solid:
    front, rear = s.length / 2, -s.length / 2
    c = s.clearance
    bumper = c + (s.hood - c) * 0.45
    profile: list[Vec2] = [
        (front - 0.16, c),
        (front - 0.02, c + 0.10),
        (front, bumper),
        (front - s.rake, s.hood),
        (x_at(s, s.cowl_d), s.belt),
        (rear + 0.10, s.deck),
        (rear + 0.02, s.rear_top),
        (rear, c + 0.12),
        (rear + 0.18, c),
    ]
    solid = prism_y(profile, -s.width / 2, s.width / 2, paint)
    hw = s.width / 2
    # Rounded corners in plan view: three tangent planes per corner.
    for cx, radius in ((front, 0.32), (rear, 0.26)):
        sx = 1.0 if cx > 0 else -1.0
        for side in (1.0, -1.0):
            centre = (cx - sx * radius, side * (hw - radius))
            for deg in (22.5, 45.0, 67.5):
                n: Vec3 = (sx * math.cos(math.radians(deg)), side * math.sin(math.radians(deg)), 0)
                solid = solid.clip(n, n[0] * centre[0] + n[1] * centre[1] + radius)
    # The side is two facets meeting at the crease: the upper one leans in, the lower tucks under.
    crease = s.belt - 0.14
    for side in (1.0, -1.0):
        for deg in (8.0, -7.0):
            n = (0.0, side * math.cos(math.radians(deg)), math.sin(math.radians(deg)))
            solid = solid.clip(n, n[1] * side * hw + n[2] * crease)
    # Shoulder and sill bevels along the sides.
    for side in (1.0, -1.0):
        for nz, z0, r in ((1.0, s.belt, 0.07), (-1.0, c, 0.09)):
            n = (0.0, side * math.cos(math.radians(45)), nz * math.sin(math.radians(45)))
            centre_y, centre_z = side * (hw - r), z0 - nz * r
            solid = solid.clip(n, n[1] * centre_y + n[2] * centre_z + r)
    return solid


def build_cabin(s: BodySpec, paint: RGB) -> Solid:
    base_hw = s.width / 2 - 0.05
    if s.open_top:
        # A convertible keeps only its windscreen frame.
        x0 = x_at(s, s.cowl_d)
        profile: list[Vec2] = [
            (x0, s.belt - 0.02),
            (x0 - 0.36, s.height),
            (x0 - 0.44, s.height),
            (x0 - 0.08, s.belt - 0.02),
        ]
    else:
        mid = (x_at(s, s.roof_front_d) + x_at(s, s.roof_rear_d)) / 2
        profile = [
            (x_at(s, s.cowl_d), s.belt - 0.02),
            (x_at(s, s.roof_front_d), s.height - 0.02),
            (mid, s.height),
            (x_at(s, s.roof_rear_d), s.height - 0.025),
            (x_at(s, s.glass_rear_d), s.belt - 0.02),
        ]
    solid = prism_y(profile, -base_hw, base_hw, paint)
    rise = s.height - s.belt
    for side in (1.0, -1.0):
        n = (0.0, side * rise, s.tumble)
        length = math.hypot(rise, s.tumble)
        n = (0.0, n[1] / length, n[2] / length)
        solid = solid.clip(n, n[1] * side * base_hw + n[2] * s.belt)
    return solid


def build_interior(s: BodySpec, lower: Solid) -> list[Solid]:
    hw = s.width / 2
    x0, x1 = x_at(s, s.cowl_d) - 0.05, x_at(s, s.cowl_d) - 1.55
    project_decal(
        lower,
        Z,
        1,
        rect(x1, -hw + 0.14, x0, hw - 0.14),
        (40, 34, 32),
        finish="trim",
        min_facing=0.8,
    )
    seats: list[Solid] = []
    seat_x = x1 + 0.35
    for y in (0.36, -0.36):
        profile: list[Vec2] = [
            (seat_x, s.belt - 0.1),
            (seat_x + 0.12, s.belt - 0.1),
            (seat_x + 0.03, s.belt + 0.16),
            (seat_x - 0.06, s.belt + 0.17),
        ]
        seats.append(prism_y(profile, y - 0.2, y + 0.2, (92, 58, 44), "trim"))
        head: list[Vec2] = [
            (seat_x - 0.02, s.belt + 0.15),
            (seat_x + 0.06, s.belt + 0.15),
            (seat_x + 0.04, s.belt + 0.28),
            (seat_x - 0.05, s.belt + 0.28),
        ]
        seats.append(prism_y(head, y - 0.1, y + 0.1, (92, 58, 44), "trim"))
    return seats


def build_rails(s: BodySpec) -> list[Solid]:
    x0, x1 = x_at(s, s.roof_front_d) - 0.1, x_at(s, s.roof_rear_d) + 0.1
    y = s.width / 2 - 0.05 - s.tumble - 0.06
    profile: list[Vec2] = [
        (x0, s.height - 0.02),
        (x1, s.height - 0.02),
        (x1 + 0.05, s.height + 0.06),
        (x0 - 0.05, s.height + 0.06),
    ]
    return [
        prism_y(profile, y - 0.035, y + 0.035, TRIM, "trim"),
        prism_y(profile, -y - 0.035, -y + 0.035, TRIM, "trim"),
    ]


def build_mirror(s: BodySpec, paint: RGB, side: int) -> Solid:
    x = x_at(s, s.cowl_d) - 0.10
    z = s.belt + 0.05
    profile: list[Vec2] = [
        (x, z),
        (x + 0.05, z + 0.04),
        (x + 0.03, z + 0.13),
        (x - 0.14, z + 0.12),
        (x - 0.15, z + 0.02),
    ]
    hw = s.width / 2
    y0, y1 = (hw - 0.08, hw + 0.13) if side > 0 else (-hw - 0.13, -hw + 0.08)
    solid = prism_y(profile, y0, y1, paint)
    glass = rect(min(y0, y1) + 0.05, z + 0.025, max(y0, y1) - 0.02, z + 0.105)
    project_decal(solid, X, -1, glass, TRIM, finish="glass", min_facing=0.5)
    return solid


def build_wheels(s: BodySpec) -> tuple[Wheel, ...]:
    front_axle = x_at(s, s.overhang)
    y = s.width / 2 - 0.03
    width = 0.20 + 0.02 * (s.wheel_r > 0.35)
    return tuple(
        Wheel(x, side, s.wheel_r, width, side * y)
        for x in (front_axle, front_axle - s.wheelbase)
        for side in (1, -1)
    )


def window_outline(s: BodySpec) -> list[Vec2]:
    """Side glass in (x, z): the cabin profile inset by the pillar and frame widths."""
    xa, xr = x_at(s, s.cowl_d), x_at(s, s.glass_rear_d)
    xf, xb = x_at(s, s.roof_front_d), x_at(s, s.roof_rear_d)
    c_pillar = 0.13 if s.glass_rear_d > s.length - 0.3 else 0.09
    # Counter-clockwise: bottom, A-pillar, roof, C-pillar.
    profile = [(xr, s.belt), (xa, s.belt), (xf, s.height), (xb, s.height)]
    return inset_2d(profile, (0.035, 0.065, 0.055, c_pillar))
