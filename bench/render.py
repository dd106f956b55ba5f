"""Benchmark: CPU milliseconds per mock car view — drawing, encoding and both — per format and size.

Renders the nine views of a set (eight around the car at eye level and the top view) of a few
cars, each in its own session (so with its own studio), in this one process, and measures CPU
time (``time.process_time``) of ``render`` and of ``encode`` separately. Each view is measured
``--repeat`` times and the median kept, which is what other processes on the machine disturb the
least; the table shows the mean of those medians over the views.

The process first sets up its memory allocator as a render pool worker does
(``keep_freed_memory``), so this is what one render pool worker pays per view; a set of three
views costs three times the ``total`` column of CPU, whatever the number of cores.

    python bench/render.py [--repeat 5] [--sizes 1024 512] [--formats png jpeg webp]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Callable

from PIL import Image

from image_svc.encoding import encode
from image_svc.render import RenderSubject, render
from image_svc.render.pool import keep_freed_memory

CARS = (
    RenderSubject(brand="Renault", model="Clio", year=2019, color="blue", body_type="hatchback"),
    RenderSubject(brand="Toyota", model="RAV4", year=2021, color="white", body_type="suv"),
    RenderSubject(brand="Ford", model="Ranger", year=2020, color="red", body_type="pickup"),
)
VIEWS = (*((float(azimuth), 5.0) for azimuth in range(0, 360, 45)), (0.0, 90.0))
FORMATS = ("png", "jpeg", "webp")


def cpu_ms(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median CPU milliseconds of ``fn()`` over ``repeat`` runs, and its last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.process_time()
        result = fn()
        times.append(1000 * (time.process_time() - started))
    return statistics.median(times), result


def measure(
    size: int, formats: tuple[str, ...], repeat: int
) -> tuple[float, dict[str, tuple[float, float]]]:
    """(render ms, {format: (encode ms, KiB)}), each a mean over the views of CARS."""
    draws: list[float] = []
    encodes: dict[str, list[float]] = {fmt: [] for fmt in formats}
    sizes: dict[str, list[int]] = {fmt: [] for fmt in formats}
    for index, car in enumerate(CARS):
        for azimuth, elevation in VIEWS:
            view = functools.partial(
                render, car, azimuth=azimuth, elevation=elevation, session_id=f"bench-{index}",
                seed=1, width=size, height=size,
            )  # fmt: skip
            ms, image = cpu_ms(view, repeat)
            assert isinstance(image, Image.Image)
            draws.append(ms)
            for fmt in formats:
                ms, data = cpu_ms(functools.partial(encode, image, fmt), repeat)
                assert isinstance(data, bytes)
                encodes[fmt].append(ms)
                sizes[fmt].append(len(data))
    return statistics.fmean(draws), {
        fmt: (statistics.fmean(encodes[fmt]), statistics.fmean(sizes[fmt]) / 1024)
        for fmt in formats
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per view (median kept)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 512])
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    args = parser.parse_args(argv)
    keep_freed_memory()  # as every render pool worker does first
    render(CARS[0], azimuth=0, elevation=5, session_id="warm", seed=0, width=64, height=64)
    for fmt in args.formats:  # load the codecs before measuring
        encode(Image.new("RGB", (16, 16)), fmt)
    views = len(CARS) * len(VIEWS)
    print(f"\nMock car views, CPU ms per view (mean over {views} views, median of {args.repeat})\n")
    print(f"{'size':>9} {'format':>6} {'render':>7} {'encode':>7} {'total':>7} {'KiB':>6}")
    for size in args.sizes:
        drawn, encoded = measure(size, tuple(args.formats), args.repeat)
        for fmt, (ms, kib) in encoded.items():
            print(
                f"{f'{size}x{size}':>9} {fmt:>6} {drawn:>7.1f} {ms:>7.1f} {drawn + ms:>7.1f} "
                f"{kib:>6.0f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
