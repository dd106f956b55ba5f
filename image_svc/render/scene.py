"""Generated scenes for non-vehicle prompts: sky, land layers and a subject, from keywords.

The prompt picks the ingredients (time of day, weather, sea / mountains / city / forest ...,
a subject figure); ``seed`` picks the composition (sun position, ridges, clouds, placement),
so one prompt gives a different but related picture per seed and identical pixels per seed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from PIL import Image, ImageDraw

from image_svc.render.shapes import FIGURES, Pen, Spot
from image_svc.render.style import Look
from image_svc.render.subject import RGB, RenderSubject, find_words, mix, normalize, parse_color
from image_svc.render.subject import stable_rng as _rng

_TIME_WORDS = {
    "sunset": "sunset", "sundown": "sunset", "dusk": "sunset", "evening": "sunset",
    "golden hour": "sunset", "hoàng hôn": "sunset", "twilight": "sunset",
    "sunrise": "morning", "dawn": "morning", "morning": "morning", "bình minh": "morning",
    "night": "night", "midnight": "night", "moon": "night", "moonlight": "night",
    "starry": "night", "stars": "night", "đêm": "night", "ban đêm": "night",
    "noon": "day", "day": "day", "sunny": "day", "daytime": "day",
}  # fmt: skip
_WEATHER_WORDS = {
    "rain": "rain", "rainy": "rain", "storm": "rain", "stormy": "rain", "mưa": "rain",
    "snow": "snow", "snowy": "snow", "snowing": "snow", "winter": "snow", "tuyết": "snow",
    "cloud": "clouds", "clouds": "clouds", "cloudy": "clouds", "overcast": "clouds",
    "fog": "fog", "foggy": "fog", "mist": "fog", "misty": "fog", "sương mù": "fog",
}  # fmt: skip
_TERRAIN_WORDS = {
    "sea": "sea", "ocean": "sea", "beach": "beach", "coast": "sea", "bay": "sea",
    "waves": "sea", "island": "sea", "biển": "sea", "bãi biển": "beach", "harbor": "sea",
    "mountain": "mountains", "mountains": "mountains", "hill": "hills", "hills": "hills",
    "alps": "mountains", "peak": "mountains", "volcano": "mountains", "núi": "mountains",
    "city": "city", "skyline": "city", "town": "city", "street": "city", "building": "city",
    "buildings": "city", "downtown": "city", "thành phố": "city", "phố": "city",
    "forest": "forest", "trees": "forest", "woods": "forest", "jungle": "forest",
    "park": "forest", "rừng": "forest",
    "desert": "desert", "dune": "desert", "dunes": "desert", "sa mạc": "desert",
    "lake": "lake", "river": "lake", "pond": "lake", "hồ": "lake", "sông": "lake",
    "field": "field", "meadow": "field", "garden": "field", "grass": "field", "farm": "field",
    "rice": "field", "cánh đồng": "field", "flowers": "field",
    "space": "space", "galaxy": "space", "planet": "space", "universe": "space",
}  # fmt: skip
_SUBJECT_WORDS = {
    "person": "person", "man": "person", "woman": "woman", "girl": "woman", "boy": "person",
    "child": "person", "kid": "person", "people": "person", "portrait": "person",
    "lady": "woman", "dress": "woman", "người": "person", "cô gái": "woman",
    "chàng trai": "person",
    "cat": "cat", "kitten": "cat", "kitty": "cat", "mèo": "cat",
    "dog": "dog", "puppy": "dog", "chó": "dog",
    "boat": "boat", "ship": "boat", "sailboat": "boat", "yacht": "boat", "thuyền": "boat",
    "house": "house", "home": "house", "cottage": "house", "cabin": "house", "nhà": "house",
    "tree": "tree", "cây": "tree",
    "balloon": "balloon", "hot air balloon": "balloon", "khinh khí cầu": "balloon",
    "flower": "flower", "rose": "flower", "sunflower": "flower", "hoa": "flower",
    "castle": "castle", "temple": "castle", "palace": "castle", "pagoda": "castle",
    "heart": "heart", "love": "heart", "valentine": "heart",
}  # fmt: skip

# When a prompt names several things, the first of these is the subject ("a girl in a flower
# field" shows the girl; the flowers become the field).
_SUBJECT_PRIORITY = (
    "woman",
    "person",
    "cat",
    "dog",
    "boat",
    "balloon",
    "castle",
    "house",
    "heart",
    "tree",
    "flower",
)

SKIES: dict[str, tuple[RGB, RGB, RGB, RGB]] = {
    # top, middle, horizon, sun
    "day": ((58, 128, 214), (120, 180, 236), (204, 228, 246), (255, 246, 214)),
    "morning": ((96, 150, 214), (196, 196, 214), (252, 214, 170), (255, 232, 180)),
    "sunset": ((44, 50, 118), (196, 92, 104), (255, 176, 96), (255, 214, 130)),
    "night": ((6, 10, 32), (18, 28, 66), (40, 54, 96), (236, 234, 214)),
}


@dataclass
class Plan:
    time: str
    weather: str
    terrain: set[str]
    subject: str
    subject_colour: RGB | None
    birds: bool
    rng: random.Random = field(repr=False)


def plan_scene(subject: RenderSubject, seed: int) -> Plan:
    """Read the ingredients from the prompt; the seed decides what the prompt leaves open."""
    text = normalize(f"{subject.text} {subject.model}")
    rng = _rng("scene", text, subject.category, seed)
    times = find_words(text, list(_TIME_WORDS))
    time = _TIME_WORDS[times[0]] if times else rng.choice(("day", "day", "morning", "sunset"))
    weathers = find_words(text, list(_WEATHER_WORDS))
    if weathers:
        weather = _WEATHER_WORDS[weathers[0]]
    else:  # a night sky is shown clear, for its stars
        weather = "clear" if time == "night" else rng.choice(("clear", "clouds"))
    terrain = {_TERRAIN_WORDS[w] for w in find_words(text, list(_TERRAIN_WORDS))}
    if "beach" in terrain:
        terrain.add("sea")
    found = {_SUBJECT_WORDS[w] for w in find_words(text, list(_SUBJECT_WORDS))}
    figure = next((f for f in _SUBJECT_PRIORITY if f in found), "")
    category = subject.category.strip().lower()
    if not figure and category in {"person", "animal", "object"}:
        figure = {"person": "person", "animal": rng.choice(("cat", "dog")), "object": "object"}[
            category
        ]
    if figure == "boat":
        terrain.add("sea")
    if not terrain:
        terrain.add(rng.choice(("hills", "mountains", "sea", "field", "forest")))
    colour = parse_color(subject.color) or parse_color(subject.text)
    return Plan(time, weather, terrain, figure, colour, "bird" in text or "birds" in text, rng)


class ScenePainter:
    """Paints a plan onto a canvas (drawn at twice the output size by the caller)."""

    def __init__(self, plan: Plan, look: Look) -> None:
        self.plan = plan
        self.look = look
        self.rng = plan.rng

    def paint(self, width: int, height: int) -> Image.Image:
        p = self.plan
        self.w, self.h = width, height
        self.unit = min(width, height)
        space = "space" in p.terrain
        self.horizon = self.h * (0.5 if space else self.rng.uniform(0.56, 0.64))
        top, mid, low, sun = SKIES["night" if space else p.time]
        canvas = self._sky(top, mid, low)
        self.pen = Pen(ImageDraw.Draw(canvas), self.look, self.unit)
        if p.time == "night" or space:
            self._stars()
        if space:
            self._planet()
        else:
            self._sun(canvas, sun, low)
            if p.weather in {"clouds", "rain", "snow"} or self.rng.random() < (
                0.25 if p.time == "night" else 0.6
            ):
                self._clouds(p.weather)
            self._land(low, sun)
        self._subject()
        self._weather(canvas)
        return canvas

    # -- sky ----------------------------------------------------------------------------

    def _sky(self, top: RGB, mid: RGB, low: RGB) -> Image.Image:
        # One exact colour per row, widened with NEAREST: no full-canvas resampling.
        column: list[RGB] = []
        cut = max(self.horizon / self.h, 0.05)
        for i in range(self.h):
            t = (i + 0.5) / self.h / cut
            colour = mix(top, mid, t / 0.6) if t < 0.6 else mix(mid, low, min(1.0, (t - 0.6) / 0.4))
            column.append(self.look.color(colour))
        strip = Image.new("RGB", (1, self.h))
        strip.putdata(column)
        return strip.resize((self.w, self.h), Image.Resampling.NEAREST)

    def _stars(self) -> None:
        for _ in range(int(120 * self.w * self.h / 4e6) + 40):
            x, y = self.rng.uniform(0, self.w), self.rng.uniform(0, self.horizon * 0.95)
            r = self.rng.choice((0.6, 0.8, 1.0, 1.6)) * self.unit / 700
            self.pen.circle(
                (x, y), r, mix((255, 255, 255), (180, 200, 255), self.rng.random()), ink=False
            )

    def _sun(self, canvas: Image.Image, sun: RGB, low: RGB) -> None:
        p = self.plan
        x = self.w * self.rng.uniform(0.22, 0.78)
        if p.time == "sunset":
            y = self.horizon - self.unit * self.rng.uniform(0.03, 0.10)
        elif p.time == "morning":
            y = self.horizon - self.unit * self.rng.uniform(0.12, 0.22)
        else:
            y = self.h * self.rng.uniform(0.12, 0.24)
        r = self.unit * (0.05 if p.time == "night" else 0.07)
        glow = max(2, int(r * 3.5))
        # The glow is smooth: build it at a quarter size and widen it with NEAREST.
        quarter = max(1, glow // 2)
        mask = Image.radial_gradient("L").resize((quarter, quarter), Image.Resampling.BILINEAR)
        mask = mask.point(lambda v: max(0, 150 - v * 150 // 180))
        mask = mask.resize((2 * glow, 2 * glow), Image.Resampling.NEAREST)
        canvas.paste(self.look.color(mix(sun, low, 0.3)), (int(x - glow), int(y - glow)), mask)
        self.pen.circle((x, y), r, sun, ink=False)
        if p.time == "night":
            self.pen.circle(
                (x + r * 0.35, y - r * 0.2), r * 0.85, mix(sun, (30, 40, 80), 0.15), ink=False
            )
            self.pen.circle(
                (x - r * 0.3, y + r * 0.3), r * 0.18, mix(sun, (0, 0, 0), 0.1), ink=False
            )
        self.sun_x, self.sun_y, self.sun = x, y, sun

    def _clouds(self, weather: str) -> None:
        p = self.plan
        base = {
            "day": (250, 252, 255),
            "morning": (255, 240, 232),
            "sunset": (255, 196, 176),
            "night": (52, 62, 96),
        }[p.time]
        if weather in {"rain", "snow"}:
            base = mix(base, (120, 126, 140), 0.45)
        count = self.rng.randint(3, 6) if weather != "clear" else self.rng.randint(1, 3)
        for _ in range(count):
            cx = self.rng.uniform(-0.1, 1.1) * self.w
            cy = self.rng.uniform(0.08, 0.42) * self.horizon
            size = self.unit * self.rng.uniform(0.05, 0.10)
            shade = mix(base, (150, 160, 190), 0.25)
            for dx, dy, k in (
                (-1.4, 0.15, 0.8),
                (1.4, 0.2, 0.75),
                (0.0, -0.3, 1.15),
                (-0.6, -0.1, 1.0),
                (0.8, -0.05, 0.95),
            ):
                r = size * k
                self.pen.circle(
                    (cx + dx * size + size * 0.1, cy + dy * size + size * 0.12), r, shade, ink=False
                )
            for dx, dy, k in (
                (-1.4, 0.15, 0.8),
                (1.4, 0.2, 0.75),
                (0.0, -0.3, 1.15),
                (-0.6, -0.1, 1.0),
                (0.8, -0.05, 0.95),
            ):
                self.pen.circle((cx + dx * size, cy + dy * size), size * k, base, ink=False)
            self.pen.rect(
                (cx - 2.2 * size, cy + 0.25 * size, cx + 2.2 * size, cy + 1.0 * size),
                base,
                ink=False,
            )

    def _planet(self) -> None:
        x, y = self.w * self.rng.uniform(0.3, 0.7), self.h * self.rng.uniform(0.35, 0.6)
        r = self.unit * self.rng.uniform(0.18, 0.26)
        palette = ((214, 150, 96), (96, 150, 214), (170, 110, 200))
        colour = self.plan.subject_colour or self.rng.choice(palette)
        ring = mix(colour, (255, 255, 255), 0.5)

        def band(k: float, start: float, stop: float) -> list[tuple[float, float]]:
            return [
                (x + r * 1.7 * k * math.cos(a), y + r * 0.3 * k * math.sin(a))
                for a in (start + (stop - start) * i / 24 for i in range(25))
            ]

        # Back half of the ring, the planet, then the front half over it.
        self.pen.poly(band(1.0, math.pi, math.tau) + band(0.78, math.tau, math.pi), ring, ink=False)
        self.pen.circle((x, y), r, colour)
        for i in range(3):
            yb = y - r * 0.5 + i * r * 0.4
            half = math.sqrt(max(0.0, r * r - (yb - y) ** 2)) * 0.96
            self.pen.rect(
                (x - half, yb, x + half, yb + r * 0.12),
                mix(colour, (255, 255, 255), 0.25),
                ink=False,
            )
        self.pen.poly(band(1.0, 0.0, math.pi) + band(0.78, math.pi, 0.0), ring, ink=False)
        self.ground = self.h * 0.9

    # -- land ---------------------------------------------------------------------------

    def _tint(self, colour: RGB, low: RGB, far: float) -> RGB:
        """Time-of-day light and distance haze applied to a land colour."""
        t = self.plan.time
        if t == "night":
            colour = mix(colour, (22, 32, 64), 0.62)
        elif t == "sunset":
            colour = mix(colour, (90, 50, 70), 0.35)
        elif t == "morning":
            colour = mix(colour, (255, 220, 190), 0.12)
        return mix(colour, low, far)

    def _ridge(self, y: float, rough: float, steps: int) -> list[tuple[float, float]]:
        pts = [(0.0, y)]
        level = y
        for i in range(1, steps + 1):
            level += self.rng.uniform(-rough, rough)
            level = min(
                self.horizon + self.unit * 0.02, max(self.horizon - self.unit * 0.45, level)
            )
            pts.append((self.w * i / steps, level))
        return pts

    def _mountains(self, low: RGB) -> None:
        h = self.horizon
        for k, far in enumerate((0.55, 0.3)):
            ridge = self._ridge(h - self.unit * (0.22 - 0.07 * k), self.unit * 0.09, 9 + 3 * k)
            base = self._tint((96, 106, 140) if k == 0 else (70, 96, 110), low, far)
            self.pen.poly([*ridge, (self.w, h + 2), (0, h + 2)], base)
            if k > 0:
                continue
            snow = self._tint((246, 248, 252), low, 0.2)
            for x, y in ridge[1:-1]:
                if y < h - self.unit * 0.26:
                    cap = self.unit * 0.035
                    tip = [(x, y), (x + cap, y + cap * 0.9), (x - cap, y + cap * 0.9)]
                    self.pen.poly(tip, snow, ink=False)

    def _land(self, low: RGB, sun: RGB) -> None:
        t = self.plan.terrain
        h = self.horizon
        self.ground = self.h * 0.9
        if "mountains" in t:
            self._mountains(low)
        if "city" in t:
            self._city(low)
        if "sea" in t or "lake" in t:
            self._water(low, sun, lake="sea" not in t)
        else:
            ground = (
                (206, 184, 130)
                if "desert" in t
                else (236, 240, 246)
                if self.plan.weather == "snow"
                else (104, 166, 82)
            )
            self.pen.rect((0, h, self.w, self.h), self._tint(ground, low, 0.1), ink=False)
        if t & {"hills", "field", "forest", "desert", "mountains"}:
            self._hills(low)
        if "city" in t and "sea" not in t:
            self._street(low)
        if "forest" in t:
            self._forest(low)
        if "beach" in t:
            sand = self._tint((236, 214, 164), low, 0.05)
            y = self.h * self.rng.uniform(0.8, 0.86)
            self.pen.poly(
                [
                    (0, y),
                    (self.w * 0.5, y + self.unit * 0.03),
                    (self.w, y - self.unit * 0.02),
                    (self.w, self.h),
                    (0, self.h),
                ],
                sand,
            )
            self.ground = (y + self.h) / 2
        if "field" in t:
            self._flowers(low)

    def _water(self, low: RGB, sun: RGB, lake: bool) -> None:
        h = self.horizon
        deep = self._tint((30, 92, 150), low, 0.0)
        near = self._tint((60, 140, 190), low, 0.25)
        if lake:
            self.pen.rect((0, h, self.w, self.h), self._tint((104, 166, 82), low, 0.1), ink=False)
            self.pen.ellipse(
                (-0.1 * self.w, h + 0.02 * self.h, 1.1 * self.w, h + 0.3 * self.h), near
            )
            self.ground = self.h * 0.92
            return
        steps = 10
        for i in range(steps):
            y0 = h + (self.h - h) * i / steps
            self.pen.rect(
                (0, y0, self.w, y0 + (self.h - h) / steps + 1),
                mix(near, deep, i / steps),
                ink=False,
            )
        glint = mix(sun, near, 0.35)
        for i in range(14):
            y = h + (self.h - h) * (i + 0.5) / 16
            half = self.unit * (0.015 + 0.012 * i) * self.rng.uniform(0.5, 1.0)
            x = getattr(self, "sun_x", self.w / 2) + self.rng.uniform(-1, 1) * half * 0.4
            self.pen.rect(
                (x - half, y, x + half, y + max(1.0, self.unit * 0.004)), glint, ink=False
            )

    def _hills(self, low: RGB) -> None:
        desert = "desert" in self.plan.terrain
        snow = self.plan.weather == "snow"
        colours = [(120, 180, 90), (84, 150, 72)]
        if desert:
            colours = [(226, 196, 140), (210, 172, 110)]
        if snow:
            colours = [(236, 240, 248), (220, 228, 240)]
        for k, colour in enumerate(colours):
            phase = self.rng.uniform(0, math.tau)
            amp = self.unit * self.rng.uniform(0.02, 0.05)
            base = self.horizon + self.unit * (0.03 + 0.09 * k)
            pts = [
                (self.w * i / 24, base - amp * math.sin(phase + i / 24 * math.tau * (1 + k)))
                for i in range(25)
            ]
            self.pen.poly(
                [*pts, (self.w, self.h), (0, self.h)], self._tint(colour, low, 0.25 - 0.2 * k)
            )

    def _forest(self, low: RGB) -> None:
        for k in range(2):
            colour = self._tint((34, 96, 58) if k else (52, 112, 78), low, 0.35 - 0.3 * k)
            y = self.horizon + self.unit * (0.02 + 0.08 * k)
            size = self.unit * (0.07 + 0.05 * k)
            x = -size * self.rng.random()
            while x < self.w + size:
                if self.rng.random() < 0.6:
                    for j in range(3):
                        top = y - size * (1.2 - j * 0.35)
                        wide = size * (0.28 + j * 0.12)
                        self.pen.poly(
                            [(x, top), (x + wide, top + size * 0.5), (x - wide, top + size * 0.5)],
                            colour,
                        )
                else:
                    self.pen.circle((x, y - size * 0.5), size * 0.42, colour)
                x += size * self.rng.uniform(0.45, 0.8)

    def _flowers(self, low: RGB) -> None:
        for _ in range(int(60 * self.w / 2048) + 20):
            x = self.rng.uniform(0, self.w)
            y = self.rng.uniform(self.horizon + self.unit * 0.12, self.h)
            r = self.unit * 0.006 * (1 + 2 * (y - self.horizon) / self.h)
            colour = self.rng.choice(
                ((236, 80, 96), (250, 210, 70), (250, 250, 250), (200, 110, 220))
            )
            self.pen.circle((x, y), r, self._tint(colour, low, 0.1), ink=False)

    def _street(self, low: RGB) -> None:
        h, w = self.horizon, self.w
        self.pen.rect((0, h, w, self.h), self._tint((120, 122, 128), low, 0.1), ink=False)
        road = self._tint((64, 66, 72), low, 0.05)
        self.pen.poly(
            [(w * 0.46, h), (w * 0.54, h), (w * 0.95, self.h), (w * 0.05, self.h)], road, ink=False
        )
        paint = self._tint((236, 230, 200), low, 0.05)
        for i in range(6):
            t0, t1 = (i / 6) ** 1.6, ((i + 0.45) / 6) ** 1.6
            y0, y1 = h + (self.h - h) * t0, h + (self.h - h) * t1
            self.pen.poly(
                [
                    (w * (0.5 - 0.002 - 0.01 * t0), y0),
                    (w * (0.5 + 0.002 + 0.01 * t0), y0),
                    (w * (0.5 + 0.002 + 0.01 * t1), y1),
                    (w * (0.5 - 0.002 - 0.01 * t1), y1),
                ],
                paint,
                ink=False,
            )
        self.ground = self.h * 0.92

    def _city(self, low: RGB) -> None:
        night = self.plan.time in {"night", "sunset"}
        for k in range(2):
            colour = self._tint((120, 132, 160) if k == 0 else (74, 84, 108), low, 0.45 - 0.35 * k)
            x = -self.rng.uniform(0, 0.05) * self.w
            while x < self.w:
                bw = self.unit * self.rng.uniform(0.05, 0.11)
                bh = self.unit * self.rng.uniform(0.10, 0.34) * (1.2 - 0.3 * k)
                top = self.horizon - bh
                self.pen.rect((x, top, x + bw, self.horizon + 2), colour)
                if k == 1:
                    win = (255, 214, 120) if night else mix(colour, (200, 220, 240), 0.35)
                    step = self.unit * 0.022
                    for wy in range(int(bh / step) - 1):
                        for wx in range(int(bw / step) - 1):
                            if not night or self.rng.random() < 0.55:
                                px, py = x + step * (wx + 0.7), top + step * (wy + 0.8)
                                self.pen.rect(
                                    (px, py, px + step * 0.45, py + step * 0.5), win, ink=False
                                )
                x += bw + self.unit * self.rng.uniform(0.0, 0.02)

    # -- subject and weather ------------------------------------------------------------

    def _subject(self) -> None:
        p = self.plan
        if p.birds or (not p.subject and p.time != "night" and self.rng.random() < 0.4):
            for _ in range(self.rng.randint(3, 6)):
                x, y = (
                    self.rng.uniform(0.15, 0.85) * self.w,
                    self.rng.uniform(0.12, 0.4) * self.horizon,
                )
                s = self.unit * self.rng.uniform(0.012, 0.025)
                self.pen.line(
                    [(x - s, y - s * 0.5), (x, y), (x + s, y - s * 0.5)], (40, 40, 50), s * 0.25
                )
        if not p.subject:
            return
        draw, fraction = FIGURES[p.subject]
        colour = p.subject_colour or self.rng.choice(
            ((220, 80, 70), (70, 120, 200), (240, 170, 60), (90, 170, 120), (150, 90, 180))
        )
        if p.subject == "cat" and p.subject_colour is None:
            colour = self.rng.choice(
                ((236, 150, 70), (60, 60, 64), (230, 226, 220), (150, 140, 130))
            )
        size = self.h * fraction
        x = self.w * self.rng.uniform(0.38, 0.62)
        ground = getattr(self, "ground", self.h * 0.9)
        if p.subject == "boat":
            ground = self.horizon + (self.h - self.horizon) * 0.45
        elif p.subject == "balloon":
            ground = self.horizon - self.unit * 0.05
        shadow = mix(self.look.color((60, 70, 60)), (0, 0, 0), 0.2)
        if p.subject not in {"balloon", "boat", "heart"}:
            self.pen.ellipse(
                (x - size * 0.32, ground - size * 0.03, x + size * 0.32, ground + size * 0.03),
                shadow,
                ink=False,
            )
        draw(self.pen, Spot(x, ground, size), colour, self.rng)

    def _weather(self, canvas: Image.Image) -> None:
        weather = self.plan.weather
        if weather == "rain":
            colour = (190, 200, 220)
            for _ in range(int(300 * self.w * self.h / 4e6) + 60):
                x, y = self.rng.uniform(0, self.w), self.rng.uniform(0, self.h)
                length = self.unit * self.rng.uniform(0.02, 0.04)
                self.pen.line([(x, y), (x - length * 0.3, y + length)], colour, self.unit / 700)
        elif weather == "snow":
            for _ in range(int(300 * self.w * self.h / 4e6) + 60):
                x, y = self.rng.uniform(0, self.w), self.rng.uniform(0, self.h)
                self.pen.circle(
                    (x, y), self.unit * self.rng.uniform(0.002, 0.006), (250, 250, 255), ink=False
                )
        elif weather == "fog":
            ramp = Image.linear_gradient("L").resize((1, self.h), Image.Resampling.BILINEAR)
            mask = ramp.point(lambda v: v * 150 // 255).resize((self.w, self.h))
            canvas.paste(self.look.color((226, 230, 236)), (0, 0), mask)
