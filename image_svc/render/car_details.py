"""Details painted onto the car's body: lights, grille, plate, badge, doors, windows.

Details are decals projected along an axis onto every face that looks that way (so a lamp
wraps round a rounded corner); identity choices (lamp style, tint, pillars) come from the
caller's session-seeded generator.
"""

from __future__ import annotations

import functools

from image_svc.render.car_body import (
    HOUSING,
    LAMP,
    TAIL,
    TRIM,
    BodySpec,
    ellipse,
    rect,
    window_outline,
    x_at,
)
from image_svc.render.geometry import (
    RGB,
    Decal,
    Face,
    Solid,
    Vec2,
    Vec3,
    X,
    Y,
    Z,
    clip_2d,
    clip_polygon,
    dot,
    face_at,
    inset_face,
    lift,
    project_decal,
    scale,
    unit,
)
from image_svc.render.subject import BRAND_EMBLEMS, stable_rng
from image_svc.render.textures import badge_texture, plate_texture


def plate_text(session_id: str) -> str:
    """A Vietnamese-style plate ("30A-123.45") derived from the session."""
    rng = stable_rng(session_id, "plate")
    province = rng.choice((29, 30, 43, 51, 59, 61, 92, 14, 15, 36, 37, 47, 65, 75))
    letter = rng.choice("ABCDEFGHKLMNPRSTUVX")
    digits = f"{rng.randrange(1000):03d}.{rng.randrange(100):02d}"
    return f"{province}{letter}-{digits}"


def badge_initials(brand: str) -> str:
    clean = brand.strip()
    if not clean:
        return ""
    if len(clean) <= 3:
        return clean.upper()
    parts = [p for p in clean.replace("-", " ").split() if p]
    return "".join(p[0] for p in parts[:2]).upper()


def add_front_details(s: BodySpec, lower: Solid, style: int, brand: str, session: str) -> None:
    hw, hf, c = s.width / 2, s.hood, s.clearance
    top = hf - 0.03
    if style == 0:  # swept, with a light strip along the lower edge
        lamp = [
            (0.50 * hw, top - 0.03),
            (1.02 * hw, top),
            (1.02 * hw, top - 0.12),
            (0.62 * hw, top - 0.15),
        ]
        strip = [
            (0.60 * hw, top - 0.12),
            (1.02 * hw, top - 0.095),
            (1.02 * hw, top - 0.115),
            (0.62 * hw, top - 0.145),
        ]
        lenses = [(0.86 * hw, top - 0.055, 0.05), (0.72 * hw, top - 0.07, 0.04)]
    elif style == 1:  # slim, with the light strip on top
        lamp = [
            (0.46 * hw, top - 0.01),
            (1.02 * hw, top),
            (1.02 * hw, top - 0.10),
            (0.50 * hw, top - 0.11),
        ]
        strip = [
            (0.47 * hw, top - 0.012),
            (1.02 * hw, top - 0.002),
            (1.02 * hw, top - 0.022),
            (0.47 * hw, top - 0.032),
        ]
        lenses = [(0.80 * hw, top - 0.062, 0.036), (0.64 * hw, top - 0.066, 0.036)]
    else:  # rounded
        lamp = ellipse(0.76 * hw, top - 0.075, 0.21 * hw, 0.075)
        strip = ellipse(0.76 * hw, top - 0.075, 0.19 * hw, 0.062)
        lenses = [(0.76 * hw, top - 0.075, 0.05)]
    grille = [
        (-0.44 * hw, hf - 0.04),
        (0.44 * hw, hf - 0.04),
        (0.40 * hw, hf - 0.17),
        (-0.40 * hw, hf - 0.17),
    ]
    intake = [
        (-0.66 * hw, c + 0.30),
        (0.66 * hw, c + 0.30),
        (0.58 * hw, c + 0.06),
        (-0.58 * hw, c + 0.06),
    ]
    project_decal(lower, X, 1, grille, TRIM, finish="trim")
    for slat in range(3):
        z = hf - 0.075 - slat * 0.035
        project_decal(
            lower, X, 1, rect(-0.40 * hw, z, 0.40 * hw, z + 0.008), (70, 72, 78), finish="trim"
        )
    project_decal(lower, X, 1, intake, TRIM, finish="trim")
    lamp_parts = [(lamp, HOUSING, "glass"), (strip, LAMP, "emit")]
    if style == 2:
        lamp_parts.append((ellipse(0.76 * hw, top - 0.075, 0.16 * hw, 0.05), HOUSING, "glass"))
    for poly, colour, finish in lamp_parts:
        for part in _sym(poly):
            project_decal(lower, X, 1, part, colour, finish=finish)
    for lens_u, lens_v, radius in lenses:
        for part in _sym(ellipse(lens_u, lens_v, radius, radius * 0.8, 14)):
            project_decal(lower, X, 1, part, (214, 222, 232), finish="emit")
    for poly in _sym(ellipse(0.80 * hw, c + 0.17, 0.06, 0.03, 14)):
        project_decal(lower, X, 1, poly, (200, 204, 210), finish="emit")
    _plate(lower, 1.0, c + 0.25, session)
    _badge(lower, 1.0, (0.0, hf - 0.105), 0.11, brand=brand, session=session)


def add_rear_details(s: BodySpec, lower: Solid, cabin: Solid, brand: str, session: str) -> None:
    hw, c, top = s.width / 2, s.clearance, min(s.rear_top, s.deck)
    if s.bed or s.rear_top > 0.95:
        lamp = rect(0.84 * hw, top - 0.42, 1.02 * hw, top - 0.04)
    else:
        lamp = [
            (0.52 * hw, top - 0.05),
            (1.02 * hw, top - 0.02),
            (1.02 * hw, top - 0.17),
            (0.70 * hw, top - 0.15),
        ]
    for poly in _sym(lamp):
        project_decal(lower, X, -1, poly, (120, 10, 18), finish="glass", min_facing=0.25)
        project_decal(lower, X, -1, _shrink(poly, 0.6), TAIL, finish="emit", min_facing=0.25)
    project_decal(
        lower, X, -1, rect(-0.70 * hw, c + 0.04, 0.70 * hw, c + 0.14), TRIM, finish="trim"
    )
    for poly in _sym(ellipse(0.58 * hw, c + 0.09, 0.035, 0.02, 10)):
        project_decal(lower, X, -1, poly, (220, 60, 50), finish="emit")
    plate_z = c + 0.30 if s.bed else (c + top) / 2 + 0.02
    _plate(lower, -1.0, plate_z, session)
    badge_at = (0.0, min(top - 0.1, plate_z + 0.2))
    _badge(lower, -1.0, badge_at, 0.1, brand=brand, session=session)
    if not s.open_top:
        stop = rect(-0.16, s.height - 0.06, 0.16, s.height - 0.03)
        project_decal(cabin, X, -1, stop, (200, 20, 30), finish="emit", min_facing=0.15)


def add_side_details(
    s: BodySpec, lower: Solid, cabin: Solid, tint: RGB, black_pillar: bool
) -> None:
    """Wheel arches, sills, crease, door cuts and handles; side windows and pillars."""
    c, belt = s.clearance, s.belt
    front_axle = x_at(s, s.overhang)
    axles = (front_axle, front_axle - s.wheelbase)
    glass_x0, glass_x1 = x_at(s, s.cowl_d), x_at(s, s.glass_rear_d)
    b_pillar = glass_x0 + (glass_x1 - glass_x0) * s.pillars[0]
    door_lines = [glass_x0 + 0.02, b_pillar]
    if s.doors == 4 and not s.bed:
        door_lines.append(axles[1] + s.wheel_r * 1.2)
    elif s.bed:
        door_lines.append(x_at(s, s.glass_rear_d) + 0.02)
    for side in (1.0, -1.0):
        for axle in axles:
            arch = ellipse(axle, s.wheel_r, s.wheel_r * 1.17, s.wheel_r * 1.17, 24)
            if s.cladding:
                project_decal(
                    lower,
                    Y,
                    side,
                    ellipse(axle, s.wheel_r, s.wheel_r * 1.3, s.wheel_r * 1.3, 24),
                    TRIM,
                    finish="trim",
                    min_facing=0.5,
                )
            project_decal(lower, Y, side, arch, (18, 18, 20), finish="trim", min_facing=0.5)
        sill_h = 0.12 if s.cladding else 0.05
        project_decal(
            lower,
            Y,
            side,
            rect(axles[1], c - 0.1, axles[0], c + sill_h),
            TRIM,
            finish="trim",
            min_facing=0.5,
        )
        crease = rect(x_at(s, 0.25), belt - 0.14, x_at(s, s.length - 0.2), belt - 0.125)
        project_decal(lower, Y, side, crease, (255, 255, 255), finish="highlight", min_facing=0.5)
        for x in door_lines:
            project_decal(
                lower,
                Y,
                side,
                rect(x - 0.006, c + 0.08, x + 0.006, belt),
                (0, 0, 0),
                finish="line",
                min_facing=0.5,
            )
        for x in door_lines[1:]:
            handle = rect(x - 0.24, belt - 0.11, x - 0.1, belt - 0.085)
            project_decal(lower, Y, side, handle, (0, 0, 0), finish="handle", min_facing=0.5)
        if not s.open_top:
            glass = window_outline(s)
            project_decal(cabin, Y, side, glass, tint, finish="glass", min_facing=0.5)
            xs = [glass_x0 + (glass_x1 - glass_x0) * f for f in s.pillars]
            width = 0.09 if black_pillar else 0.07
            for x in xs:
                pillar = clip_2d(
                    rect(x - width / 2, belt - 0.1, x + width / 2, s.height + 0.1), glass
                )
                if pillar:
                    colour, finish = (TRIM, "trim") if black_pillar else ((0, 0, 0), "body")
                    project_decal(cabin, Y, side, pillar, colour, finish=finish, min_facing=0.5)


def add_glass(s: BodySpec, cabin: Solid, tint: RGB) -> None:
    """Windscreen and rear window inset in their frames, and reflections on every window."""
    for face in cabin.faces:
        n = face.normal
        if abs(n[1]) > 0.5 or n[2] > 0.97:
            continue
        if n[0] > 0.2 or n[0] < -0.2:

            def margin(a: Vec3, b: Vec3) -> float:
                flat = abs(a[2] - b[2]) < 0.02
                return (0.05 if a[2] > s.belt + 0.1 else 0.03) if flat else 0.075

            pts = inset_face(face, margin)
            if pts:
                face.decals.insert(0, Decal(pts, tint, "glass"))
    for face in cabin.faces:
        decals: list[Decal] = []
        for decal in face.decals:
            decals.append(decal)
            if decal.finish == "glass":
                decals.extend(_reflections(face, decal))
        face.decals = decals


def add_sunroof(s: BodySpec, cabin: Solid, tint: RGB) -> None:
    x0, x1 = x_at(s, s.roof_front_d) - 0.15, x_at(s, s.roof_front_d) - 0.85
    project_decal(cabin, Z, 1, rect(x1, -0.42, x0, 0.42), tint, finish="glass", min_facing=0.9)


def add_bed(s: BodySpec, lower: Solid) -> None:
    hw = s.width / 2
    x0, x1 = x_at(s, s.glass_rear_d) - 0.08, -s.length / 2 + 0.08
    project_decal(
        lower,
        Z,
        1,
        rect(x1, -hw + 0.08, x0, hw - 0.08),
        (38, 38, 40),
        finish="trim",
        min_facing=0.8,
    )
    for i in range(1, 6):
        x = x1 + (x0 - x1) * i / 6
        project_decal(
            lower,
            Z,
            1,
            rect(x - 0.01, -hw + 0.1, x + 0.01, hw - 0.1),
            (58, 58, 60),
            finish="trim",
            min_facing=0.8,
        )


def _sym(poly: list[Vec2]) -> list[list[Vec2]]:
    """A (y, z) polygon for the car's left side and its mirror image for the right."""
    return [poly, [(-u, v) for u, v in reversed(poly)]]


def _shrink(poly: list[Vec2], k: float) -> list[Vec2]:
    cu = sum(p[0] for p in poly) / len(poly)
    cv = sum(p[1] for p in poly) / len(poly)
    return [(cu + (u - cu) * k, cv + (v - cv) * k) for u, v in poly]


def _plate(lower: Solid, direction: float, z: float, session: str) -> None:
    """The number plate (same text front and rear) centred at height ``z``."""
    w, h = 0.52, 0.12
    face = face_at(lower, X, direction, (0.0, z))
    if face is None:
        return
    # Quad corners in (y, z): top-left, top-right, bottom-right, bottom-left as seen from outside.
    left = -w / 2 if direction > 0 else w / 2
    corners = [(left, z + h / 2), (-left, z + h / 2), (-left, z - h / 2), (left, z - h / 2)]
    quad = [lift(face, X, uv) for uv in corners]
    text = plate_text(session)
    face.decals.append(
        Decal(quad, (240, 240, 236), "plate", functools.partial(plate_texture, text))
    )


def _badge(
    lower: Solid, direction: float, at: Vec2, size: float, *, brand: str, session: str
) -> None:
    """The brand emblem on the face seen from ``direction`` along x (front +1, rear -1)."""
    face = face_at(lower, X, direction, at)
    if face is None:
        return
    shape = BRAND_EMBLEMS.get(brand.lower(), "")
    if not shape:
        shape = stable_rng(session, "emblem", brand).choice(("oval", "circle", "shield", "rounded"))
    half_w = size / 2
    half_h = size * (0.5 if shape in {"circle", "diamond", "shield"} else 0.32)
    u0 = -half_w if direction > 0 else half_w
    corners = [
        (u0, at[1] + half_h),
        (-u0, at[1] + half_h),
        (-u0, at[1] - half_h),
        (u0, at[1] - half_h),
    ]
    quad = [lift(face, X, uv) for uv in corners]
    factory = functools.partial(badge_texture, badge_initials(brand), shape)
    face.decals.append(Decal(quad, (200, 204, 210), "badge", factory))


def _reflections(face: Face, glass: Decal) -> list[Decal]:
    """Two diagonal bands of sky reflected in a window, as in a studio photo."""
    along: Vec3 = (1.0, 0.0, 1.25) if abs(face.normal[1]) > 0.5 else (0.0, 1.0, 1.25)
    n = unit(along)
    proj = [dot(n, p) for p in glass.points]
    lo, hi = min(proj), max(proj)
    out: list[Decal] = []
    for a, b in ((0.30, 0.47), (0.55, 0.61)):
        pts = clip_polygon(glass.points, n, lo + (hi - lo) * b)
        pts = clip_polygon(pts, scale(n, -1.0), -(lo + (hi - lo) * a))
        if len(pts) >= 3:
            out.append(Decal(pts, glass.color, "reflect"))
    return out
