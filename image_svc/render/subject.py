"""What the mock renderer draws: the subject, its colour words and stable hashing.

Every random choice in the renderer comes from :func:`stable_rng`, which hashes its parts with
BLAKE2b, so the same request draws the same pixels in any process on any machine (Python's
``hash()`` is salted per process and must not be used here).
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
import unicodedata
from dataclasses import dataclass

from image_svc.subject import SubjectSpec

RGB = tuple[int, int, int]

BODY_TYPES = (
    "hatchback",
    "sedan",
    "suv",
    "coupe",
    "sports",
    "pickup",
    "van",
    "wagon",
    "convertible",
)

# Words that mean a body type, longest first when matched (so "pick-up truck" beats "truck").
_BODY_WORDS: dict[str, str] = {
    "hatchback": "hatchback",
    "hatch": "hatchback",
    "sedan": "sedan",
    "saloon": "sedan",
    "suv": "suv",
    "crossover": "suv",
    "4x4": "suv",
    "jeep": "suv",
    "coupe": "coupe",
    "coupé": "coupe",
    "sports car": "sports",
    "sports": "sports",
    "supercar": "sports",
    "hypercar": "sports",
    "race car": "sports",
    "racing car": "sports",
    "muscle car": "coupe",
    "limousine": "sedan",
    "limo": "sedan",
    "people carrier": "van",
    "microcar": "hatchback",
    "city car": "hatchback",
    "pickup": "pickup",
    "pick-up": "pickup",
    "pickup truck": "pickup",
    "truck": "pickup",
    "ute": "pickup",
    "van": "van",
    "minivan": "van",
    "mpv": "van",
    "wagon": "wagon",
    "estate": "wagon",
    "station wagon": "wagon",
    "convertible": "convertible",
    "cabriolet": "convertible",
    "cabrio": "convertible",
    "roadster": "convertible",
}

_CAR_WORDS = (
    "car",
    "cars",
    "vehicle",
    "auto",
    "automobile",
    "ô tô",
    "oto",
    "xe hơi",
    "limousine",
    "taxi",
)

# Brands we recognise in free text (so "a red Toyota" is a vehicle) and their emblem shape.
BRAND_EMBLEMS: dict[str, str] = {
    "renault": "diamond",
    "toyota": "oval",
    "lexus": "oval",
    "honda": "rounded",
    "ford": "oval",
    "hyundai": "oval",
    "kia": "oval",
    "mazda": "oval",
    "nissan": "circle",
    "subaru": "oval",
    "volkswagen": "circle",
    "vw": "circle",
    "bmw": "circle",
    "mercedes": "circle",
    "mercedes-benz": "circle",
    "audi": "rounded",
    "porsche": "shield",
    "ferrari": "shield",
    "lamborghini": "shield",
    "peugeot": "shield",
    "citroen": "rounded",
    "citroën": "rounded",
    "vinfast": "shield",
    "tesla": "shield",
    "chevrolet": "rounded",
    "volvo": "circle",
    "skoda": "circle",
    "fiat": "circle",
    "mitsubishi": "diamond",
    "suzuki": "shield",
    "jeep": "rounded",
    "mini": "circle",
    "dacia": "rounded",
    "opel": "circle",
    "byd": "oval",
}

# English colour words (translations arrive already in English) -> paint colour.
COLORS: dict[str, RGB] = {
    "white": (236, 236, 232),
    "pearl white": (238, 234, 224),
    "black": (26, 27, 30),
    "silver": (178, 183, 189),
    "grey": (118, 122, 128),
    "gray": (118, 122, 128),
    "dark grey": (64, 67, 72),
    "dark gray": (64, 67, 72),
    "graphite": (58, 61, 66),
    "light grey": (170, 174, 178),
    "light gray": (170, 174, 178),
    "red": (196, 28, 36),
    "dark red": (122, 16, 26),
    "maroon": (104, 20, 30),
    "burgundy": (112, 18, 42),
    "blue": (30, 84, 178),
    "dark blue": (22, 40, 98),
    "navy": (20, 32, 76),
    "navy blue": (20, 32, 76),
    "light blue": (116, 166, 214),
    "sky blue": (96, 170, 226),
    "green": (30, 128, 64),
    "dark green": (22, 70, 42),
    "olive": (104, 108, 50),
    "lime": (140, 196, 46),
    "yellow": (240, 192, 28),
    "orange": (232, 106, 24),
    "brown": (104, 66, 40),
    "beige": (210, 192, 156),
    "champagne": (204, 184, 148),
    "cream": (236, 226, 196),
    "gold": (198, 158, 60),
    "bronze": (146, 98, 50),
    "copper": (168, 88, 50),
    "purple": (96, 46, 138),
    "violet": (118, 64, 168),
    "pink": (226, 118, 158),
    "magenta": (190, 40, 128),
    "teal": (18, 124, 126),
    "turquoise": (36, 176, 176),
    "cyan": (40, 170, 200),
}

# Used when the subject names no colour: a calm, car-like palette picked by the session.
_FALLBACK_PAINTS = (
    "white",
    "black",
    "silver",
    "grey",
    "red",
    "blue",
    "dark blue",
    "dark green",
    "orange",
    "champagne",
    "teal",
    "burgundy",
)

_MODIFIERS = ("metallic", "matte", "matt", "glossy", "pearl", "pearlescent", "solid", "paint")


def stable_int(*parts: object) -> int:
    """A 64-bit integer that depends only on ``parts`` (same on every machine)."""
    text = "|".join(str(p) for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def stable_rng(*parts: object) -> random.Random:
    """A private ``random.Random`` seeded from ``parts``; never the global generator."""
    return random.Random(stable_int(*parts))


def normalize(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


def has_word(text: str, word: str) -> bool:
    return _word_pattern(word).search(text) is not None


@functools.lru_cache(maxsize=1024)
def _word_pattern(word: str) -> re.Pattern[str]:
    """``word`` as a whole word (compiled once: a view looks up ~140 words)."""
    return re.compile(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])")


def find_words(text: str, words: list[str] | tuple[str, ...]) -> list[str]:
    """The ``words`` present in normalized ``text``, longest first."""
    return [w for w in sorted(words, key=len, reverse=True) if has_word(text, w)]


@dataclass(frozen=True)
class RenderSubject(SubjectSpec):
    """The thing to draw; empty fields are unknown and may be read from ``text``.

    Drawing reads "a red car" as a car, while the session key of a set must not (every
    unnamed car would share one session), hence the broader ``is_vehicle`` here.
    """

    @property
    def is_vehicle(self) -> bool:
        """True when the subject is a car (by category, structured fields or car words)."""
        category = self.category.strip().lower()
        if category == "vehicle":
            return True
        if category in {"person", "animal", "scene", "object"}:
            return False
        if self.brand.strip() or self.body_type.strip():
            return True
        text = normalize(self.text)
        words = (*_CAR_WORDS, *_BODY_WORDS, *BRAND_EMBLEMS)
        return bool(find_words(text, words))

    def resolved_body_type(self, session_id: str) -> str:
        """The body type named by the subject, else one picked by the session."""
        for source in (self.body_type, self.text):
            found = find_words(normalize(source), list(_BODY_WORDS))
            if found:
                return _BODY_WORDS[found[0]]
        return stable_rng(session_id, "body").choice(("hatchback", "sedan", "suv"))

    def resolved_brand(self) -> str:
        if self.brand.strip():
            return self.brand.strip()
        found = find_words(normalize(self.text), list(BRAND_EMBLEMS))
        return found[0].title() if found else ""

    def paint(self, session_id: str) -> RGB:
        """Body colour from the colour word (or the text), else picked by the session."""
        for source in (self.color, self.text):
            rgb = parse_color(source)
            if rgb is not None:
                return rgb
        return COLORS[stable_rng(session_id, "paint").choice(_FALLBACK_PAINTS)]


def parse_color(words: str) -> RGB | None:
    """Colour for a phrase like "dark metallic red"; None when no colour word is found."""
    plain = " ".join(w for w in normalize(words).replace("-", " ").split() if w not in _MODIFIERS)
    found = find_words(plain, list(COLORS)) if plain else []
    if not found:
        return None
    name = found[0]
    base = COLORS[name]
    if "dark" not in name and has_word(plain, "dark"):
        base = mix(base, (0, 0, 0), 0.45)
    elif "light" not in name and has_word(plain, "light"):
        base = mix(base, (255, 255, 255), 0.4)
    return base


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """Linear blend from ``a`` (t=0) to ``b`` (t=1)."""
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def luma(c: RGB) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
