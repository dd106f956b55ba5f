"""Tiny 3D kit for the mock renderer: convex solids, plane clipping, decals and a camera.

Solids are convex polyhedra built by extruding a side profile and cutting it with planes, so
back-face culling alone gives correct visibility inside one solid; the vehicle module orders
the solids. Decals are flat polygons lying on a face, drawn right after it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from PIL import Image

Vec2 = tuple[float, float]
Vec3 = tuple[float, float, float]
RGB = tuple[int, int, int]

_EPS = 1e-9
X, Y, Z = 0, 1, 2  # axis indices (car frame: x forward, y to the car's left, z up)


def sub(a: Vec3, b: Vec3) -> Vec3:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def add(a: Vec3, b: Vec3) -> Vec3:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def scale(a: Vec3, k: float) -> Vec3:
    return (a[0] * k, a[1] * k, a[2] * k)


def dot(a: Vec3, b: Vec3) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def cross(a: Vec3, b: Vec3) -> Vec3:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def unit(a: Vec3) -> Vec3:
    n = math.sqrt(dot(a, a))
    return (0.0, 0.0, 0.0) if n < _EPS else (a[0] / n, a[1] / n, a[2] / n)


def mirror_y(p: Vec3) -> Vec3:
    return (p[0], -p[1], p[2])


def centroid(points: Sequence[Vec3]) -> Vec3:
    k = 1.0 / len(points)
    return (
        sum(p[0] for p in points) * k,
        sum(p[1] for p in points) * k,
        sum(p[2] for p in points) * k,
    )


def newell_normal(points: Sequence[Vec3]) -> Vec3:
    """Unit normal of a planar polygon, robust to collinear vertices."""
    nx = ny = nz = 0.0
    for i, a in enumerate(points):
        b = points[(i + 1) % len(points)]
        nx += (a[1] - b[1]) * (a[2] + b[2])
        ny += (a[2] - b[2]) * (a[0] + b[0])
        nz += (a[0] - b[0]) * (a[1] + b[1])
    return unit((nx, ny, nz))


TextureFactory = Callable[[int, int], Image.Image]


@dataclass
class Decal:
    """A flat polygon on a face; ``finish`` picks the shading ("emit" ignores the light)."""

    points: list[Vec3]
    color: RGB
    finish: str = "paint"
    # For texture decals: points are the quad (top-left, top-right, bottom-right, bottom-left)
    # as seen from outside, and the factory draws the texture at a requested pixel size.
    texture: TextureFactory | None = None


@dataclass
class Face:
    points: list[Vec3]
    normal: Vec3
    decals: list[Decal] = field(default_factory=list)
    color: RGB | None = None  # overrides the solid's colour (e.g. a contrasting roof)


@dataclass
class Solid:
    faces: list[Face]
    color: RGB
    finish: str = "paint"

    def clip(self, normal: Vec3, offset: float) -> Solid:
        """Keep the part with dot(normal, p) <= offset; the cut becomes a new face."""
        n = unit(normal)
        faces: list[Face] = []
        cut: list[Vec3] = []
        for face in self.faces:
            kept = clip_polygon(face.points, n, offset, cut)
            if len(kept) >= 3:
                faces.append(Face(kept, face.normal, face.decals, face.color))
        cap = _order_on_plane(_dedupe(cut), n)
        if len(cap) >= 3:
            faces.append(Face(cap, n))
        return Solid(faces, self.color, self.finish)

    def vertices(self) -> list[Vec3]:
        return [p for f in self.faces for p in f.points]


def clip_polygon(
    points: Sequence[Vec3], n: Vec3, offset: float, cut: list[Vec3] | None = None
) -> list[Vec3]:
    """Sutherland-Hodgman against one plane; intersection points are appended to ``cut``."""
    out: list[Vec3] = []
    count = len(points)
    for i in range(count):
        a = points[i]
        b = points[(i + 1) % count]
        da = dot(n, a) - offset
        db = dot(n, b) - offset
        if da <= _EPS:
            out.append(a)
            if da >= -_EPS and cut is not None:
                cut.append(a)
        if (da < -_EPS and db > _EPS) or (da > _EPS and db < -_EPS):
            t = da / (da - db)
            p = add(a, scale(sub(b, a), t))
            out.append(p)
            if cut is not None:
                cut.append(p)
    return out


def _dedupe(points: list[Vec3]) -> list[Vec3]:
    out: list[Vec3] = []
    for p in points:
        if all(abs(p[0] - q[0]) + abs(p[1] - q[1]) + abs(p[2] - q[2]) > 1e-7 for q in out):
            out.append(p)
    return out


def _order_on_plane(points: list[Vec3], n: Vec3) -> list[Vec3]:
    """Sort points counter-clockwise around ``n`` (so the polygon's normal is ``n``)."""
    if len(points) < 3:
        return points
    c = centroid(points)
    helper: Vec3 = (1.0, 0.0, 0.0) if abs(n[0]) < 0.9 else (0.0, 1.0, 0.0)
    u = unit(cross(helper, n))
    v = cross(n, u)
    return sorted(points, key=lambda p: math.atan2(dot(sub(p, c), v), dot(sub(p, c), u)))


def prism_y(
    profile: Sequence[Vec2], y0: float, y1: float, color: RGB, finish: str = "paint"
) -> Solid:
    """Extrude a convex (x, z) profile between y0 and y1 into a solid with outward normals."""
    near = [(x, y1, z) for x, z in profile]
    far = [(x, y0, z) for x, z in profile]
    polys = [near, far]
    count = len(profile)
    for i in range(count):
        j = (i + 1) % count
        polys.append([near[i], near[j], far[j], far[i]])
    inside = centroid(near + far)
    faces: list[Face] = []
    for poly in polys:
        n = newell_normal(poly)
        if n == (0.0, 0.0, 0.0):
            continue
        outward = dot(n, sub(centroid(poly), inside)) >= 0
        faces.append(Face(poly if outward else poly[::-1], n if outward else scale(n, -1.0)))
    return Solid(faces, color, finish)


def clip_2d(poly: Sequence[Vec2], clipper: Sequence[Vec2]) -> list[Vec2]:
    """Clip ``poly`` (any simple polygon) to the convex counter-clockwise ``clipper``."""
    out = list(poly)
    m = len(clipper)
    for i in range(m):
        if len(out) < 3:
            return []
        ax, ay = clipper[i]
        bx, by = clipper[(i + 1) % m]
        ex, ey = bx - ax, by - ay
        src = out
        out = []
        for k in range(len(src)):
            p = src[k]
            q = src[(k + 1) % len(src)]
            dp = ex * (p[1] - ay) - ey * (p[0] - ax)
            dq = ex * (q[1] - ay) - ey * (q[0] - ax)
            if dp >= 0:
                out.append(p)
            if (dp < 0 < dq) or (dq < 0 < dp):
                t = dp / (dp - dq)
                out.append((p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t))
    return out if len(out) >= 3 else []


def signed_area(poly: Sequence[Vec2]) -> float:
    return 0.5 * sum(
        poly[i][0] * poly[(i + 1) % len(poly)][1] - poly[(i + 1) % len(poly)][0] * poly[i][1]
        for i in range(len(poly))
    )


def _axes(axis: int) -> tuple[int, int]:
    return ((1, 2), (0, 2), (0, 1))[axis]


def lift(face: Face, axis: int, uv: Vec2) -> Vec3:
    """The point of ``face``'s plane whose other two coordinates are ``uv``."""
    a, b = _axes(axis)
    n = face.normal
    d = dot(n, face.points[0])
    p = [0.0, 0.0, 0.0]
    p[a], p[b] = uv
    p[axis] = (d - n[a] * uv[0] - n[b] * uv[1]) / n[axis]
    return (p[0], p[1], p[2])


def project_decal(
    solid: Solid,
    axis: int,
    direction: float,
    poly: Sequence[Vec2],
    color: RGB,
    *,
    finish: str = "paint",
    min_facing: float = 0.3,
) -> None:
    """Project a 2D polygon along ``axis`` onto every face that looks that way (a projector
    decal), clipping it to each face, so a light wraps around a chamfered corner."""
    a, b = _axes(axis)
    for face in solid.faces:
        if face.normal[axis] * direction < min_facing:
            continue
        outline = [(p[a], p[b]) for p in face.points]
        if signed_area(outline) < 0:
            outline.reverse()
        clipped = clip_2d(poly, outline)
        if clipped:
            face.decals.append(Decal([lift(face, axis, uv) for uv in clipped], color, finish))


def face_at(solid: Solid, axis: int, direction: float, uv: Vec2) -> Face | None:
    """The face seen along ``axis`` that contains ``uv`` (for texture quads)."""
    a, b = _axes(axis)
    best: Face | None = None
    for face in solid.faces:
        if face.normal[axis] * direction < 0.3:
            continue
        outline = [(p[a], p[b]) for p in face.points]
        if signed_area(outline) < 0:
            outline.reverse()
        if clip_2d(
            [(uv[0] - 1e-4, uv[1] - 1e-4), (uv[0] + 1e-4, uv[1] - 1e-4), (uv[0], uv[1] + 1e-4)],
            outline,
        ):
            best = face
    return best


def inset_face(face: Face, inset: Callable[[Vec3, Vec3], float]) -> list[Vec3]:
    """The face polygon shrunk inwards; ``inset(a, b)`` gives the margin for edge a->b."""
    pts = list(face.points)
    edges = [(pts[i], pts[(i + 1) % len(pts)]) for i in range(len(pts))]
    for a, b in edges:
        inward = unit(cross(face.normal, sub(b, a)))
        margin = inset(a, b)
        pts = clip_polygon(pts, scale(inward, -1.0), -(dot(inward, a) + margin))
        if len(pts) < 3:
            return []
    return pts


@dataclass
class Camera:
    """Pinhole camera; screen y grows downwards."""

    eye: Vec3
    right: Vec3
    up: Vec3
    forward: Vec3
    focal: float
    cx: float = 0.0
    cy: float = 0.0

    @classmethod
    def orbit(
        cls, target: Vec3, distance: float, azimuth: float, elevation: float, focal: float
    ) -> Camera:
        """Camera on a sphere around ``target``; azimuth 0 looks at the +x face, 90 at +y."""
        a = math.radians(azimuth)
        e = math.radians(max(-89.0, min(90.0, elevation)))
        offset = (
            math.cos(e) * math.cos(a) * distance,
            math.cos(e) * math.sin(a) * distance,
            math.sin(e) * distance,
        )
        eye = add(target, offset)
        forward = unit(scale(offset, -1.0))
        right: Vec3 = (-math.sin(a), math.cos(a), 0.0)
        up = cross(right, forward)
        return cls(eye, right, up, forward, focal)

    def project(self, p: Vec3) -> Vec2:
        return self.project_all((p,))[0]

    def project_all(self, points: Iterable[Vec3]) -> list[Vec2]:
        """``project`` of every point; the renderer's hottest loop, so written out inline."""
        ex, ey, ez = self.eye
        rx, ry, rz = self.right
        ux, uy, uz = self.up
        fx, fy, fz = self.forward
        focal, cx, cy = self.focal, self.cx, self.cy
        out = []
        for px, py, pz in points:
            vx, vy, vz = px - ex, py - ey, pz - ez
            depth = vx * fx + vy * fy + vz * fz
            k = focal / (depth if depth > 1e-3 else 1e-3)  # max(depth, 1e-3) without a call
            x = cx + (vx * rx + vy * ry + vz * rz) * k
            out.append((x, cy - (vx * ux + vy * uy + vz * uz) * k))
        return out

    def sees(self, face: Face) -> bool:
        return dot(face.normal, sub(self.eye, face.points[0])) > 1e-6

    def toward(self, p: Vec3) -> Vec3:
        return unit(sub(self.eye, p))


def convex_hull(points: Sequence[Vec2]) -> list[Vec2]:
    """Andrew's monotone chain (the turn test written out inline: a wheel's hull is the
    renderer's busiest Python loop)."""
    pts = sorted(set(points))
    if len(pts) < 3:
        return pts

    def chain(ordered: Sequence[Vec2]) -> list[Vec2]:
        out: list[Vec2] = []
        for p in ordered:
            px, py = p
            while len(out) >= 2:
                (ox, oy), (ax, ay) = out[-2], out[-1]
                if (ax - ox) * (py - oy) - (ay - oy) * (px - ox) > 0:
                    break
                out.pop()
            out.append(p)
        return out

    return chain(pts)[:-1] + chain(pts[::-1])[:-1]


def perspective_coefficients(dst: Sequence[Vec2], src: Sequence[Vec2]) -> tuple[float, ...]:
    """Coefficients for ``Image.transform(PERSPECTIVE)`` mapping output ``dst`` to ``src``."""
    rows: list[list[float]] = []
    rhs: list[float] = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y])
        rhs.append(u)
        rows.append([0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y])
        rhs.append(v)
    return tuple(_solve(rows, rhs))


def _solve(m: list[list[float]], r: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (8x8, stdlib only)."""
    size = len(r)
    a = [[*row, r[i]] for i, row in enumerate(m)]
    for col in range(size):
        pivot = max(range(col, size), key=lambda i: abs(a[i][col]))
        if abs(a[pivot][col]) < 1e-12:
            raise ValueError("degenerate quad")
        a[col], a[pivot] = a[pivot], a[col]
        for i in range(col + 1, size):
            f = a[i][col] / a[col][col]
            for j in range(col, size + 1):
                a[i][j] -= f * a[col][j]
    x = [0.0] * size
    for i in range(size - 1, -1, -1):
        x[i] = (a[i][size] - sum(a[i][j] * x[j] for j in range(i + 1, size))) / a[i][i]
    return x


def inset_2d(poly: Sequence[Vec2], margins: Sequence[float]) -> list[Vec2]:
    """A counter-clockwise convex polygon with edge i (poly[i] -> poly[i+1]) moved inwards."""
    big = 1e3
    out: list[Vec2] = [(-big, -big), (big, -big), (big, big), (-big, big)]
    count = len(poly)
    for i in range(count):
        (ax, ay), (bx, by) = poly[i], poly[(i + 1) % count]
        length = math.hypot(bx - ax, by - ay)
        nx, ny = -(by - ay) / length, (bx - ax) / length  # left normal = inside
        m = margins[i]
        a2 = (ax + nx * m, ay + ny * m)
        b2 = (bx + nx * m, by + ny * m)
        ex, ey = (bx - ax) / length * big, (by - ay) / length * big
        half = [
            (a2[0] - ex, a2[1] - ey),
            (b2[0] + ex, b2[1] + ey),
            (b2[0] + ex + nx * big, b2[1] + ey + ny * big),
            (a2[0] - ex + nx * big, a2[1] - ey + ny * big),
        ]
        out = clip_2d(out, half)
        if not out:
            return []
    return out


@dataclass(frozen=True)
class Finish:
    """Flat shading parameters of a material."""

    ambient: float
    diffuse: float
    specular: float
    power: float
    sky: float  # extra light on faces turned up, as a studio's softbox reflects in them


FINISHES: dict[str, Finish] = {
    "paint": Finish(0.52, 0.50, 0.34, 18, 0.10),
    "trim": Finish(0.80, 0.30, 0.12, 8, 0.05),
    "glass": Finish(0.86, 0.12, 0.30, 40, 0.12),
    "rubber": Finish(0.85, 0.25, 0.05, 4, 0.0),
    "chrome": Finish(0.55, 0.55, 0.70, 14, 0.15),
}


@dataclass
class View:
    """A camera plus the studio light that moves with it."""

    camera: Camera
    light: Vec3
    near_side: int  # +1 camera on the car's left, -1 right, 0 front/rear/top
    outline: bool  # cartoon ink lines
    line_width: int

    def shade(self, base: RGB, n: Vec3, finish: str, at: Vec3) -> RGB:
        """Colour of a flat face with normal ``n`` at point ``at`` (Blinn-Phong, no shadows)."""
        f = FINISHES.get(finish, FINISHES["paint"])
        ndl = max(0.0, dot(n, self.light))
        half = unit(add(self.light, self.camera.toward(at)))
        lift = 255 * (f.specular * max(0.0, dot(n, half)) ** f.power + f.sky * max(0.0, n[2]))
        k = f.ambient + f.diffuse * ndl
        return (_clamp(base[0] * k + lift), _clamp(base[1] * k + lift), _clamp(base[2] * k + lift))


def _clamp(v: float) -> int:
    return max(0, min(255, round(v)))
