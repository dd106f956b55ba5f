"""What an image is of: the one subject type of the image service (requests, jobs, renderer)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SubjectSpec:
    """The structured subject of a set (empty strings and 0 mean unknown)."""

    text: str = ""
    category: str = ""
    brand: str = ""
    model: str = ""
    year: int = 0
    color: str = ""
    body_type: str = ""

    @property
    def is_vehicle(self) -> bool:
        """True when the subject is a vehicle (by category or by vehicle fields)."""
        return self.category == "vehicle" or bool(self.brand or self.body_type)

    def describe(self) -> str:
        """The subject in prompt words: "2019 Renault Clio hatchback, blue" or the text."""
        if self.is_vehicle:
            name = " ".join(
                p for p in (str(self.year) if self.year else "", self.brand, self.model) if p
            )
            kind = self.body_type or "car"
            head = f"{name} {kind}".strip()
            return f"{head}, {self.color}" if self.color else head
        return self.text.strip()
