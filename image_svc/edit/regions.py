"""Connected regions of binary masks held as flat byte buffers, for the segmentation.

A scanline flood fill whose per-pixel work happens in C: ``bytearray.find``/``rfind`` locate
the ends of each run, so Python only runs once per span, and a 512x512 mask takes a few
milliseconds. Masks are 0/255 bytes, row-major, ``w`` pixels per row.
"""

from __future__ import annotations

from collections.abc import Iterator

Span = tuple[int, int, int]  # row start offset in the buffer, first x, end x (exclusive)

_TINY_HOLE = 0.004  # pockets below this share of the subject are always filled
_MAX_HOLE = 0.3  # pockets above this share are never filled
_MAX_REGIONS = 3000  # beyond this many regions a mask is noise, not shapes; stop labelling
_TO_OPEN_IF_SET = bytes([1] + [0] * 255)  # 0 -> 1 (blocked), anything else -> 0 (open)
_TO_BLOCKED_IF_SET = bytes([0] + [1] * 255)  # 0 -> 0 (open), anything else -> 1 (blocked)


def _spans(buf: bytearray, w: int, h: int, seeds: list[int]) -> Iterator[Span]:
    """Flood the 0-valued region(s) 4-connected to ``seeds``; marks them 1 and yields spans.

    ``buf`` must hold only 0 (open) and 1 (blocked); the work per span, not per pixel, runs
    in Python, because ``find``/``rfind`` scan the rows in C.
    """
    stack = list(seeds)
    while stack:
        p = stack.pop()
        if buf[p]:
            continue
        row = p - p % w
        end = row + w
        left = buf.rfind(b"\x01", row, p)
        x0 = row if left < 0 else left + 1
        x1 = buf.find(b"\x01", p, end)
        x1 = end if x1 < 0 else x1
        buf[x0:x1] = b"\x01" * (x1 - x0)
        yield row, x0 - row, x1 - row
        for nrow in (row - w, row + w):
            if nrow < 0 or nrow >= w * h:
                continue
            q = buf.find(b"\x00", nrow + x0 - row, nrow + x1 - row)
            while q >= 0:
                stack.append(q)
                blocked = buf.find(b"\x01", q, nrow + x1 - row)
                if blocked < 0:
                    break
                q = buf.find(b"\x00", blocked, nrow + x1 - row)


def _components(buf: bytearray, w: int, h: int) -> Iterator[list[Span]]:
    """Yield the 4-connected regions of 0s in ``buf`` (consumed: marked 1) as span lists."""
    pos = buf.find(b"\x00")
    while pos >= 0:
        yield list(_spans(buf, w, h, [pos]))
        pos = buf.find(b"\x00", pos)


def _area(spans: list[Span]) -> int:
    return sum(x1 - x0 for _, x0, x1 in spans)


def _paint(out: bytearray, spans: list[Span], value: int) -> None:
    fill = bytes([value])
    for row, x0, x1 in spans:
        out[row + x0 : row + x1] = fill * (x1 - x0)


def keep_anchored(weak: bytearray, strong: bytes, w: int, h: int) -> bytearray:
    """Weak-threshold regions that contain strong pixels and are not specks, as 0/255 bytes.

    A pathological mask (dithering, fine checks) would be split into countless regions;
    past ``_MAX_REGIONS`` the weak mask is returned unfiltered rather than spend seconds.
    """
    work = weak.translate(_TO_OPEN_IF_SET)
    regions = []
    for count, spans in enumerate(_components(work, w, h)):
        if count >= _MAX_REGIONS:
            return bytearray(weak)
        if any(strong.find(b"\xff", row + x0, row + x1) >= 0 for row, x0, x1 in spans):
            regions.append(spans)
    out = bytearray(w * h)
    if not regions:
        return out
    areas = [_area(spans) for spans in regions]
    floor = max(w * h * 0.002, max(areas) * 0.03)
    for spans, area in zip(regions, areas, strict=True):
        if area >= floor:
            _paint(out, spans, 255)
    return out


def border_reachable(open_: bytes, w: int, h: int) -> bytearray:
    """The 255-valued pixels of ``open_`` 4-connected to the frame's edge, as 0/255 bytes."""
    work = bytearray(open_.translate(_TO_OPEN_IF_SET))
    out = bytearray(w * h)
    _paint(out, list(_flood_from_border(work, w, h)), 255)
    return out


def _flood_from_border(work: bytearray, w: int, h: int) -> list[Span]:
    """Flood (marking 1) every open pixel of ``work`` connected to the edge; return the spans."""
    border = [*range(w), *range((h - 1) * w, h * w), *range(0, h * w, w), *range(w - 1, h * w, w)]
    return list(_spans(work, w, h, [p for p in border if not work[p]]))


def fill_holes(fg: bytearray, dist: bytes, w: int, h: int, backdrop: int) -> None:
    """Fill pockets of ``fg`` the border flood cannot reach, unless they show the backdrop.

    A pocket whose mean distance to the background model is at most ``backdrop`` looks like
    the backdrop seen through the subject (a mug handle, the gap under an arm) and stays
    background unless it is tiny; other pockets are subject parts that happen to be close in
    colour (highlights, labels) and are filled unless they are very large.
    """
    work = fg.translate(_TO_BLOCKED_IF_SET)
    _flood_from_border(work, w, h)
    subject = fg.count(255)
    for count, spans in enumerate(_components(work, w, h)):
        if count >= _MAX_REGIONS:
            break
        area = _area(spans)
        mean = sum(sum(dist[row + x0 : row + x1]) for row, x0, x1 in spans) / area
        see_through = mean <= backdrop
        if area <= _TINY_HOLE * subject or (not see_through and area <= _MAX_HOLE * subject):
            _paint(fg, spans, 255)
