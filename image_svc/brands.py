"""What a car brand's badge looks like, for the "Show {logo} on the front grille" prompt hint.

A curated local table answers at once; an optional ``BrandLookup`` (e.g. a search endpoint)
may enrich unknown brands, always behind a timeout that falls back to the table.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import httpx

from mesh.logs import get_logger

log = get_logger(__name__)

LOGOS: dict[str, str] = {
    "audi": "the four interlocking silver rings Audi logo",
    "bmw": "the round blue-and-white roundel BMW logo",
    "byd": "the oval silver BYD lettering logo",
    "chevrolet": "the gold bowtie Chevrolet logo",
    "ferrari": "the yellow shield Ferrari logo with the black prancing horse",
    "fiat": "the round red Fiat logo with silver lettering",
    "ford": "the blue oval Ford logo with white script lettering",
    "honda": "the chrome H Honda logo",
    "hyundai": "the slanted chrome H Hyundai logo in an oval",
    "jaguar": "the leaping jaguar emblem",
    "jeep": "the Jeep lettering badge above the seven-slot grille",
    "kia": "the angular KIA lettering logo",
    "lamborghini": "the gold shield Lamborghini logo with the charging bull",
    "land rover": "the green oval Land Rover badge",
    "lexus": "the stylised L in an oval Lexus logo",
    "mazda": "the winged M Mazda logo in a circle",
    "mercedes-benz": "the three-pointed star Mercedes-Benz logo in a circle",
    "mitsubishi": "the three red diamonds Mitsubishi logo",
    "nissan": "the chrome circle-and-bar Nissan logo",
    "peugeot": "the lion head shield Peugeot logo",
    "porsche": "the Porsche crest with the black horse on a gold shield",
    "renault": "the chrome diamond-shaped Renault logo",
    "skoda": "the winged arrow Skoda logo in a circle",
    "subaru": "the blue oval Subaru logo with six stars",
    "suzuki": "the red stylised S Suzuki logo",
    "tesla": "the stylised T Tesla logo",
    "toyota": "the three overlapping ovals Toyota logo",
    "vinfast": "the V-shaped wings VinFast logo",
    "volkswagen": "the round VW Volkswagen logo",
    "volvo": "the circle-and-arrow Volvo iron mark on a diagonal bar",
}
_ALIASES = {"mercedes": "mercedes-benz", "vw": "volkswagen", "chevy": "chevrolet"}


def table_logo(brand: str) -> str:
    """The curated description, or a generic one naming the brand."""
    key = " ".join(brand.lower().split())
    key = _ALIASES.get(key, key)
    return LOGOS.get(key) or (f"the official {brand.strip()} logo" if brand.strip() else "")


class BrandLookup(Protocol):
    """An optional online source of logo descriptions."""

    async def logo_description(self, brand: str) -> str | None:
        """A description of the brand's logo, or None when unknown."""
        ...


class HttpBrandLookup:
    """A search endpoint answering ``GET {url}?brand=NAME`` with ``{"description": "..."}``
    (e.g. a small service in front of a web-search API)."""

    def __init__(self, url: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._url = url
        self._http = httpx.AsyncClient(transport=transport, follow_redirects=False)

    async def logo_description(self, brand: str) -> str | None:
        """The description, or None when the endpoint does not know the brand."""
        response = await self._http.get(self._url, params={"brand": brand})
        if response.status_code == 404:
            return None
        response.raise_for_status()
        value = response.json().get("description")
        return value[:300] if isinstance(value, str) else None

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()


class BrandKnowledge:
    """The table, optionally enriched online within ``timeout`` seconds."""

    def __init__(self, lookup: BrandLookup | None = None, timeout: float = 1.5) -> None:
        self._lookup = lookup
        self._timeout = timeout
        self._cache: dict[str, str] = {}

    async def logo(self, brand: str) -> str:
        """Describe the brand's logo; never fails, never waits longer than the timeout."""
        if not brand.strip():
            return ""
        key = brand.lower().strip()
        if key in LOGOS or _ALIASES.get(key) in LOGOS or self._lookup is None:
            return table_logo(brand)
        if key in self._cache:
            return self._cache[key]
        try:
            found = await asyncio.wait_for(self._lookup.logo_description(brand), self._timeout)
        except Exception as exc:  # enrichment is optional: the table answers
            log.info("brand lookup failed; using the table", brand=brand, error=type(exc).__name__)
            found = None
        result = found.strip() if found and found.strip() else table_logo(brand)
        self._cache[key] = result
        return result
