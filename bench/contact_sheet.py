"""Writes a front | side | rear contact sheet of one mock-rendered car (docs/img picture).

Usage: python bench/contact_sheet.py OUT.png [--size 512]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from PIL import Image

from image_svc.render import RenderSubject, render

SUBJECT = RenderSubject(
    brand="Renault", model="Clio", year=2019, color="blue", body_type="hatchback"
)
SESSION = "clio-demo"
VIEWS = (("front", 0.0, 5.0), ("side", 90.0, 5.0), ("rear", 180.0, 5.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    size: int = args.size
    sheet = Image.new("RGB", (size * len(VIEWS), size))
    for index, (name, azimuth, elevation) in enumerate(VIEWS):
        started = time.perf_counter()
        image = render(SUBJECT, azimuth=azimuth, elevation=elevation, session_id=SESSION,
                       seed=index, width=size, height=size)  # fmt: skip
        print(f"{name:6} {1000 * (time.perf_counter() - started):6.1f} ms")
        sheet.paste(image, (index * size, 0))
    sheet.save(args.out, optimize=True)
    print(f"wrote {args.out} ({sheet.width}x{sheet.height})")


if __name__ == "__main__":
    main()
