"""How the views of one set stay one subject: a session from the subject, seeds from the session.

- ``session_id`` is a digest of the *normalised* subject (brand, model, year, colour, body type,
  or the subject text): the same car always gets the same session, never one from the clock.
- Each view's seed is a stable digest of ``session_id`` and the view's name (BLAKE2b, not
  Python's ``hash()``, which is salted per process), so every worker on every machine derives
  the same seeds. A caller's own session id or base seed wins.
- A *take* (``variation``) other than 0 is another version of the same subject: every view gets
  a new seed, the session (and so the subject's identity) stays; take 0 keeps the seeds above.
- Prompts carry the consistency hints of the seed document.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from image_svc.angles import View
from image_svc.subject import SubjectSpec

__all__ = ["SubjectSpec", "angle_prompt", "normalise", "seed_for", "session_id_for"]

SEED_SPACE = 2**32
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower case, no diacritics, single spaces: "Ô tô  Đỏ" → "o to do"."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", stripped.lower()).strip()


def _digest(text: str, size: int) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=size, person=b"photofun-v1").digest()


def session_id_for(subject: SubjectSpec) -> str:
    """12 hex characters identifying the subject; identical for identical subjects."""
    if subject.is_vehicle:
        fields = (subject.brand, subject.model, str(subject.year or ""), subject.color)
        key = "vehicle|" + "|".join(normalise(f) for f in (*fields, subject.body_type))
    else:
        key = f"{normalise(subject.category)}|{normalise(subject.text)}"
    return _digest(key, 6).hex()


def seed_for(session_id: str, view_name: str, base_seed: int | None = None, take: int = 0) -> int:
    """The seed of one view: from the caller's base seed if given, else from the session and
    the take (0, the first, gives the seeds it always gave)."""
    source = f"seed:{base_seed}" if base_seed is not None else f"session:{session_id}"
    if take and base_seed is None:
        source += f"|take:{take}"
    return int.from_bytes(_digest(f"{source}|{view_name}", 4), "big") % SEED_SPACE


def angle_prompt(
    subject: SubjectSpec,
    view: View,
    *,
    session_id: str,
    seed: int,
    logo: str = "",
    extra: str = "",
    style: str = "",
) -> str:
    """The full prompt of one view, with the consistency hints."""
    lines = [f"{subject.describe()}, {view.phrase}."]
    if extra.strip():
        lines.append(extra.strip().rstrip(".") + ".")
    if subject.is_vehicle:
        lines.append(
            f"CONSISTENCY: Same vehicle across all angles (Session: {session_id}, Seed: {seed})."
        )
        if logo and view.shows_front:
            lines.append(f"Show {logo} on the front grille, clearly visible.")
        elif logo and view.shows_rear:
            lines.append(f"Show {logo} on the tailgate, clearly visible.")
        look = f"{style} style" if style else "Photorealistic automotive photography"
        brand = f", authentic {subject.brand} design" if subject.brand else ""
        lines.append(f"{look}{brand}.")
        lines.append("Same exact vehicle from a different angle, identical color and details.")
    else:
        lines.append(
            f"CONSISTENCY: Same subject across all angles (Session: {session_id}, Seed: {seed})."
        )
        if style:
            lines.append(f"{style} style.")
        lines.append("Same exact subject from a different angle, identical colors and details.")
    return " ".join(lines)
