"""Draws a CarModel from a viewpoint on a studio backdrop (floor gradient + soft shadow).

The light and the backdrop move with the camera, as on a turntable in a photo studio, so every
view of one session is lit and framed the same way; only the car turns.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from image_svc.render.geometry import (
    RGB,
    Camera,
    Decal,
    Face,
    Solid,
    Vec2,
    Vec3,
    View,
    add,
    centroid,
    perspective_coefficients,
    scale,
    unit,
)
from image_svc.render.subject import luma, mix, stable_rng
from image_svc.render.vehicle import CarModel
from image_svc.render.wheels import paint_wheel

# Backdrop palettes (wall top, wall at horizon, floor at horizon, floor near camera, shadow).
BACKDROPS: tuple[tuple[RGB, RGB, RGB, RGB, RGB], ...] = (
    ((196, 202, 210), (234, 236, 239), (226, 228, 231), (200, 203, 208), (58, 62, 70)),
    ((206, 200, 192), (238, 235, 230), (229, 226, 221), (204, 199, 192), (66, 60, 54)),
    ((188, 200, 214), (230, 235, 241), (222, 227, 233), (194, 201, 210), (52, 60, 72)),
)
DARK_BACKDROP: tuple[RGB, RGB, RGB, RGB, RGB] = (
    (74, 78, 86), (128, 132, 140), (120, 124, 131), (84, 88, 95), (20, 22, 26),
)  # fmt: skip


class StudioPainter:
    """Paints one view of a car onto a canvas drawn at twice the output size."""

    def __init__(
        self, model: CarModel, session_id: str, outline: bool = False, take: int = 0
    ) -> None:
        self.model = model
        self.session_id = session_id
        self.outline = outline
        self.take = take

    def paint(self, azimuth: float, elevation: float, width: int, height: int) -> Image.Image:
        """The car seen from ``azimuth``/``elevation`` as a ``width`` x ``height`` image.

        Only the car's polygons need the 2x drawing and ``reduce(2)`` that smooth their edges:
        the backdrop and the shadow are smooth, so they are painted at a quarter of the output
        size and widened to it, and the car is drawn at 2x on a NEAREST-doubled copy of the
        backdrop under its bounding box alone. Flat areas keep their exact colours through
        doubling and reducing, so the picture is the one a whole 2x canvas would give (within
        one level), on under half the pixels.
        """
        view = self.frame(azimuth, elevation, 2 * width, 2 * height)
        canvas = self._backdrop(view, width, height)
        x0, y0, x1, y1 = self.car_box(view, width, height)
        if x1 > x0 and y1 > y0:
            patch = canvas.crop((x0, y0, x1, y1))
            patch = patch.resize((2 * (x1 - x0), 2 * (y1 - y0)), Image.Resampling.NEAREST)
            camera = dataclasses.replace(view.camera, cx=view.camera.cx - 2 * x0)
            camera.cy -= 2 * y0
            draw_car(self.model, dataclasses.replace(view, camera=camera), patch)
            canvas.paste(patch.reduce(2), (x0, y0))
        return canvas

    def car_box(self, view: View, width: int, height: int) -> tuple[int, int, int, int]:
        """The box of the ``width`` x ``height`` image the car may touch (``view`` is at 2x).

        Every polygon of the car lies on one of its convex solids or wheels, so the projected
        corners of those bound it; the margin covers outlines and decals that overhang a crease.
        """
        m = self.model
        cam = view.camera
        solids = (m.lower, m.cabin, *m.extras, *m.mirrors)
        # A corner belongs to several faces: project each once (the box is the same).
        points = list(dict.fromkeys(p for solid in solids for p in solid.vertices()))
        for w in m.wheels:
            inner = w.y_outer - w.side * w.width
            for x in (w.x - w.r, w.x + w.r):
                for y in (w.y_outer, inner):
                    points.extend(((x, y, 0.0), (x, y, 2 * w.r)))
        projected = cam.project_all(points)
        margin = 2 * view.line_width + 4
        xs = [p[0] for p in projected]
        ys = [p[1] for p in projected]
        return (
            max(0, math.floor((min(xs) - margin) / 2)),
            max(0, math.floor((min(ys) - margin) / 2)),
            min(width, math.ceil((max(xs) + margin) / 2)),
            min(height, math.ceil((max(ys) + margin) / 2)),
        )

    # -- framing -------------------------------------------------------------------------

    def frame(self, azimuth: float, elevation: float, width: int, height: int) -> View:
        """Camera and light that fit the car in a ``width`` x ``height`` picture."""
        spec = self.model.spec
        target: Vec3 = (0.0, 0.0, spec.height * 0.42)
        distance = 2.8 * max(spec.length, 4.2)
        # Same scale for every eye-level view, set by the side view, so the car keeps its size.
        ppm = min(0.80 * width / spec.length, 0.62 * height / spec.height)
        camera = Camera.orbit(target, distance, azimuth, elevation, ppm * distance)
        points = camera.project_all(self._all_points())
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        span_x, span_y = max(xs) - min(xs), max(ys) - min(ys)
        fit = min(1.0, 0.88 * width / span_x, 0.84 * height / span_y)
        camera.focal *= fit
        camera.cx = width / 2 - fit * (max(xs) + min(xs)) / 2
        centre_y = 0.5 if elevation > 60 else 0.53
        camera.cy = height * centre_y - fit * (max(ys) + min(ys)) / 2
        toward = scale(camera.forward, -1.0)
        light = unit(
            add(add(scale(camera.right, -0.45), scale(camera.up, 0.8)), scale(toward, 0.6))
        )
        # Within ~15 degrees of the front or rear the sides are slivers: wheels go behind the
        # whole body, which hides all but the bottom of the tyres, as in a photo.
        near = 0
        if abs(camera.eye[1]) > 0.25 * distance:
            near = 1 if camera.eye[1] > 0 else -1
        return View(camera, light, near, self.outline, max(1, round(min(width, height) / 400)))

    def _all_points(self) -> list[Vec3]:
        m = self.model
        pts = m.lower.vertices() + m.cabin.vertices()
        for w in m.wheels:
            pts.append((w.x + w.r, w.y_outer, 0.0))
            pts.append((w.x - w.r, w.y_outer, 0.0))
        for mirror in m.mirrors:
            pts.extend(mirror.vertices())
        return list(dict.fromkeys(pts))  # each corner once: only the extremes matter

    # -- backdrop and shadow -------------------------------------------------------------

    def _palette(self) -> tuple[RGB, RGB, RGB, RGB, RGB]:
        """The studio's colours: one per session, so every view of a set shares them; another
        take of the set tints walls and floor towards a colour of its own."""
        palette = (
            DARK_BACKDROP
            if luma(self.model.paint) > 200
            else stable_rng(self.session_id, "backdrop").choice(BACKDROPS)
        )
        if not self.take:
            return palette
        rng = stable_rng(self.session_id, "take", self.take)
        tint = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        k = 0.2 + 0.15 * rng.random()
        *surfaces, shadow = palette
        wall_top, wall_low, floor_far, floor_near = (mix(c, tint, k) for c in surfaces)
        return wall_top, wall_low, floor_far, floor_near, shadow

    def _backdrop(self, view: View, width: int, height: int) -> Image.Image:
        """Walls, floor and shadow as a ``width`` x ``height`` image (``view`` is at 2x)."""
        wall_top, wall_low, floor_far, floor_near, shadow = self._palette()
        cam = view.camera
        down = math.degrees(math.asin(max(-1.0, min(1.0, -cam.forward[2]))))
        # Walls and floor are painted at a quarter of the output size: across four pixels their
        # colours change by well under one level, so widening with NEAREST shows no steps.
        small_w, small_h = max(8, width // 4), max(8, height // 4)
        if down < 80:
            horizon = (cam.cy - cam.focal * math.tan(math.radians(down))) / (2 * height)
        else:
            horizon = -1.0
        strip = Image.frombytes(
            "RGB",
            (1, small_h),
            _gradient(small_h, horizon, wall_top, wall_low, floor_far, floor_near),
        )
        small = strip.resize((small_w, small_h), Image.Resampling.NEAREST)
        # Pasting an image through a mask costs Pillow under half of pasting a colour.
        vignette = _vignette(small_w, small_h)
        corners = Image.new("RGB", vignette.size, mix(floor_near, (0, 0, 0), 0.25))
        small.paste(corners, mask=vignette)
        # NEAREST is ten times cheaper than a full-canvas BILINEAR upscale; the shadow is smooth
        # too, so its opacity is computed at the same quarter size and only the box where it
        # shows is widened smoothly.
        canvas = small.resize((width, height), Image.Resampling.NEAREST)
        shade = self._shadow_mask(view, small_w / (2 * width), (small_w, small_h))
        if shade is None:
            return canvas
        mask, (mx, my) = shade
        box = mask.point(lambda v: 255 if v > 2 else 0).getbbox()  # ignore the blur's faint tails
        if box is not None:
            sx, sy = width / small_w, height / small_h
            x0, y0 = round((mx + box[0]) * sx), round((my + box[1]) * sy)
            x1, y1 = round((mx + box[2]) * sx), round((my + box[3]) * sy)
            big = mask.crop(box).resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR)
            canvas.paste(Image.new("RGB", big.size, shadow), (x0, y0), big)
        return canvas

    def _shadow_mask(
        self, view: View, k: float, size: tuple[int, int]
    ) -> tuple[Image.Image, tuple[int, int]] | None:
        """The shadow's opacity on the backdrop of ``size`` (``k`` from the view's pixels), as
        the part of it around the car and that part's top-left corner; None if none shows.

        Only the region the shadow can reach is blurred: its polygons' box widened by three
        standard deviations of the blur, past which a Gaussian leaves nothing visible.
        """
        cam = view.camera

        def project(points: Sequence[Vec3]) -> list[Vec2]:
            return [(x * k, y * k) for x, y in cam.project_all(points)]

        # The soft shadow's blur, in pixels of ``size`` (a quarter of the output's side).
        radius = max(0.5, 0.009 * min(size) + 0.6 * k * cam.focal / 60)
        footprint = project(self.model.footprint())
        contacts = []
        for w in self.model.wheels:
            inner = w.y_outer - w.side * w.width
            patch = [
                (w.x + 0.22, w.y_outer, 0.0),
                (w.x - 0.22, w.y_outer, 0.0),
                (w.x - 0.22, inner, 0.0),
                (w.x + 0.22, inner, 0.0),
            ]
            contacts.append((project(patch), 235))
        s = self.model.spec
        body = [
            (s.length / 2 - 0.3, s.width / 2 - 0.1, 0.0),
            (-s.length / 2 + 0.3, s.width / 2 - 0.1, 0.0),
            (-s.length / 2 + 0.3, -s.width / 2 + 0.1, 0.0),
            (s.length / 2 - 0.3, -s.width / 2 + 0.1, 0.0),
        ]
        contacts.append((project(body), 110))
        xs = [x for x, _ in footprint] + [x for poly, _ in contacts for x, _ in poly]
        ys = [y for _, y in footprint] + [y for poly, _ in contacts for _, y in poly]
        reach = 3 * radius + 2
        x0 = max(0, math.floor(min(xs) - reach))
        y0 = max(0, math.floor(min(ys) - reach))
        x1 = min(size[0], math.ceil(max(xs) + reach))
        y1 = min(size[1], math.ceil(max(ys) + reach))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        region = (x1 - x0, y1 - y0)
        soft = Image.new("L", region, 0)
        ImageDraw.Draw(soft).polygon([(x - x0, y - y0) for x, y in footprint], 150)
        soft = soft.filter(ImageFilter.GaussianBlur(radius))
        # The contact patches are small and sharp: drawn at 2x and halved, so that the coarse
        # grid does not move their edges by up to a pixel before their short blur.
        contact = Image.new("L", (2 * region[0], 2 * region[1]), 0)
        contact_draw = ImageDraw.Draw(contact)
        for poly, fill in contacts:
            contact_draw.polygon([(2 * (x - x0), 2 * (y - y0)) for x, y in poly], fill=fill)
        contact = contact.reduce(2).filter(ImageFilter.GaussianBlur(max(0.3, radius / 4)))
        return ImageChops.lighter(soft, contact), (x0, y0)


def _gradient(rows: int, horizon: float, *stops: RGB) -> bytes:
    """The backdrop's column of ``rows`` RGB pixels: wall from top to horizon, a smooth band
    across it, floor below (``horizon`` as a fraction of the height; ``stops``: wall top, wall
    at the horizon, floor at the horizon, floor nearest the camera).

    NumPy, written as the per-row Python it replaced (same operations in the same order, and
    ``rint`` rounds halves to even as ``round`` does), so the pixels are the same; ~20x faster.
    """
    import numpy as np  # loaded by the pool's warm-up (see encoding.py), not at import

    wall_top, wall_low, floor_far, floor_near = (np.array(c, np.float64) for c in stops)
    band = 0.06
    t = ((np.arange(rows, dtype=np.float64) + 0.5) / rows)[:, None]
    wall = t / max(horizon - band, 1e-6)
    seam = (t - horizon + band) / (2 * band)
    seam = seam * seam * (3 - 2 * seam)
    floor = np.minimum(1.0, (t - horizon - band) / max(1 - horizon - band, 1e-6))
    column = np.where(
        t < horizon - band,
        wall_top + (wall_low - wall_top) * wall,
        np.where(
            t < horizon + band,
            wall_low + (floor_far - wall_low) * seam,
            floor_far + (floor_near - floor_far) * floor,
        ),
    )
    return np.rint(column).astype(np.uint8).tobytes()


@functools.lru_cache(maxsize=4)
def _vignette(width: int, height: int) -> Image.Image:
    """The floor's darker corners as a paste mask (only the size changes it: cached, at most
    4 sizes of at most 512x512 one-byte pixels, 1 MiB)."""
    ramp = Image.radial_gradient("L").resize((width, height), Image.Resampling.BILINEAR)
    return ramp.point(lambda v: v * 70 // 255)


def draw_car(model: CarModel, view: View, canvas: Image.Image) -> None:
    """Draw ``model`` as ``view`` sees it onto ``canvas`` (whose pixels are the view's)."""
    _CarPass(model, view, canvas).run()


class _CarPass:
    """One view of the car: draws solids back to front with their decals."""

    def __init__(self, model: CarModel, view: View, canvas: Image.Image) -> None:
        self.model = model
        self.view = view
        self.canvas = canvas
        self.draw = ImageDraw.Draw(canvas)

    def run(self) -> None:
        # Painter's order for a view from above the ground: far wheels and far mirror, the
        # body's sides, near wheels (in front of the sides, behind the bumpers), the rest of
        # the body, the cabin, roof extras, near mirrors. Inside one convex solid, back-face
        # culling alone is exact.
        m = self.model
        near = self.view.near_side
        for wheel in m.wheels:
            if near == 0 or wheel.side != near:
                paint_wheel(self.draw, self.view, wheel, m)
        if near != 0:
            self._solid(m.mirrors[0] if near < 0 else m.mirrors[1])
        self._solid(m.lower, [f for f in m.lower.faces if abs(f.normal[1]) > 0.6])
        for wheel in m.wheels:
            if near != 0 and wheel.side == near:
                paint_wheel(self.draw, self.view, wheel, m)
        self._solid(m.lower, [f for f in m.lower.faces if abs(f.normal[1]) <= 0.6])
        self._solid(m.cabin)
        for extra in m.extras:
            self._solid(extra)
        for index, mirror in enumerate(m.mirrors):
            if near in (0, 1 if index == 0 else -1):
                self._solid(mirror)

    def _solid(self, solid: Solid, faces: Sequence[Face] | None = None) -> None:
        view = self.view
        cam = view.camera
        textured: list[tuple[Face, Decal, RGB]] = []
        for face in solid.faces if faces is None else faces:
            if not cam.sees(face):
                continue
            base = face.color or solid.color
            colour = view.shade(base, face.normal, solid.finish, centroid(face.points))
            # A hairline a shade darker than the face keeps same-coloured facets apart.
            edge = (24, 24, 28) if view.outline else mix(colour, (0, 0, 0), 0.12)
            self.draw.polygon(
                cam.project_all(face.points),
                fill=colour,
                outline=edge,
                width=view.line_width if view.outline else 1,
            )
            for decal in face.decals:
                if decal.texture is None:
                    self._decal(face, decal, colour)
                else:
                    textured.append((face, decal, colour))
        # Plates and badges may overhang a crease into the next face: draw them last.
        for face, decal, colour in textured:
            self._decal(face, decal, colour)

    def _decal(self, face: Face, decal: Decal, face_colour: RGB) -> None:
        view = self.view
        pts = view.camera.project_all(decal.points)
        finish = decal.finish
        if decal.texture is not None and self._texture(pts, decal):
            return
        if finish == "emit":
            colour = decal.color
        elif finish == "highlight":
            colour = mix(face_colour, decal.color, 0.22)
        elif finish == "line":
            colour = mix(face_colour, (0, 0, 0), 0.45)
        elif finish == "handle":
            colour = mix(face_colour, (0, 0, 0), 0.28)
        elif finish == "reflect":
            glass = view.shade(decal.color, face.normal, "glass", decal.points[0])
            colour = mix(glass, (255, 255, 255), 0.13)
        elif finish == "body":
            colour = face_colour
        else:
            kind = "trim" if finish in {"plate", "badge"} else finish
            colour = view.shade(decal.color, face.normal, kind, decal.points[0])
        self.draw.polygon(pts, fill=colour)

    def _texture(self, pts: list[Vec2], decal: Decal) -> bool:
        """Warp the decal's texture onto its projected quad; False if too small to matter."""
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        x0, y0 = math.floor(min(xs)), math.floor(min(ys))
        x1, y1 = math.ceil(max(xs)), math.ceil(max(ys))
        tw = round(max(math.dist(pts[0], pts[1]), math.dist(pts[3], pts[2])))
        th = round(max(math.dist(pts[0], pts[3]), math.dist(pts[1], pts[2])))
        if tw < 6 or th < 3 or decal.texture is None:
            return False
        texture = decal.texture(tw, th)
        local = [(x - x0, y - y0) for x, y in pts]
        src = [(0.0, 0.0), (float(tw), 0.0), (float(tw), float(th)), (0.0, float(th))]
        try:
            coeffs = perspective_coefficients(local, src)
        except ValueError:
            return False
        warped = texture.transform(
            (x1 - x0, y1 - y0), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR
        )
        self.canvas.paste(warped, (x0, y0), warped)
        return True
