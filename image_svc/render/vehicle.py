"""A procedural car, built once per session: body solids plus painted details.

Identity (body type, paint, wheels, lights, badge, plate, tint) comes from the subject and the
session id only; the viewpoint is applied later by the studio painter (studio.py), so every view
of a session shows the same car.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

from image_svc.render.car_body import (
    RIM_COLORS,
    SPECS,
    TINTS,
    BodySpec,
    Wheel,
    build_cabin,
    build_interior,
    build_lower_body,
    build_mirror,
    build_rails,
    build_wheels,
)
from image_svc.render.car_details import (
    add_bed,
    add_front_details,
    add_glass,
    add_rear_details,
    add_side_details,
    add_sunroof,
    badge_initials,
    plate_text,
)
from image_svc.render.geometry import RGB, Solid, Vec3
from image_svc.render.subject import RenderSubject, luma, stable_rng

__all__ = ["CarModel", "badge_initials", "build_car", "plate_text"]


@dataclass(frozen=True)
class CarModel:
    """Everything needed to draw the car from any angle."""

    spec: BodySpec
    paint: RGB
    lower: Solid
    cabin: Solid
    extras: tuple[Solid, ...]  # roof rails, seats: drawn after the cabin
    mirrors: tuple[Solid, Solid]  # left, right
    wheels: tuple[Wheel, ...]
    rim_style: str
    rim_color: RGB
    caliper: RGB

    def footprint(self) -> list[Vec3]:
        """The ground outline (slightly larger than the body) that casts the soft shadow."""
        s = self.spec
        hl, hw = s.length / 2 + 0.08, s.width / 2 + 0.08
        c = 0.35
        return [
            (hl, hw - c, 0.0),
            (hl - c, hw, 0.0),
            (-hl + c, hw, 0.0),
            (-hl, hw - c, 0.0),
            (-hl, -hw + c, 0.0),
            (-hl + c, -hw, 0.0),
            (hl - c, -hw, 0.0),
            (hl, -hw + c, 0.0),
        ]


def build_car(subject: RenderSubject, session_id: str) -> CarModel:
    """The car for ``subject`` in ``session_id`` (cached: identity never depends on the view)."""
    body = subject.resolved_body_type(session_id)
    return _build(body, subject.paint(session_id), subject.resolved_brand(), session_id)


@functools.lru_cache(maxsize=64)
def _build(body: str, paint: RGB, brand: str, session_id: str) -> CarModel:
    rng = stable_rng(session_id, "car", body)
    spec = SPECS[body]
    # Small per-session variation so two sessions of one body type are not clones.
    stretch = 1.0 + rng.uniform(-0.02, 0.02)
    spec = replace(spec, length=spec.length * stretch, height=spec.height * (2 - stretch))
    lower = build_lower_body(spec, paint)
    cabin = build_cabin(spec, paint)
    tint = rng.choice(TINTS)
    extras: list[Solid] = []
    add_side_details(spec, lower, cabin, tint, rng.random() < 0.5)
    add_front_details(spec, lower, rng.randrange(3), brand, session_id)
    add_rear_details(spec, lower, cabin, brand, session_id)
    add_glass(spec, cabin, tint)
    if rng.random() < 0.3 and not spec.open_top and luma(paint) > 70:
        roof = (24, 25, 28) if luma(paint) > 150 or rng.random() < 0.7 else (232, 232, 228)
        for face in cabin.faces:
            if face.normal[2] > 0.95:
                face.color = roof
    if spec.bed:
        add_bed(spec, lower)
    if spec.open_top:
        extras.extend(build_interior(spec, lower))
    if spec.rails:
        extras.extend(build_rails(spec))
    elif not spec.open_top and rng.random() < 0.4:
        add_sunroof(spec, cabin, tint)
    wheels = build_wheels(spec)
    mirror_l = build_mirror(spec, paint, 1)
    mirror_r = build_mirror(spec, paint, -1)
    rim_style = rng.choice(("spokes5", "spokes10", "turbine", "twin"))
    rim_color = rng.choice(RIM_COLORS)
    caliper = rng.choice(((190, 30, 30), (70, 72, 76), (230, 180, 30)))
    return CarModel(
        spec,
        paint,
        lower,
        cabin,
        tuple(extras),
        (mirror_l, mirror_r),
        wheels,
        rim_style,
        rim_color,
        caliper,
    )
