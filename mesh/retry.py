"""Retry hints and the one backoff policy every outbound caller uses.

A server says how long to wait in one of two ways: gRPC / Google APIs send a
``google.rpc.RetryInfo`` (``"retryDelay": "17s"`` in JSON error bodies), plain HTTP sends a
``Retry-After`` header (delta-seconds or an HTTP date; OpenAI also ``retry-after-ms``). Callers
honour the hint when there is one and otherwise back off exponentially with jitter.
"""

from __future__ import annotations

import email.utils
import math
import random
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)s\s*")


def parse_duration(value: str) -> float | None:
    """A protobuf JSON duration (``"17s"``, ``"0.5s"``) → seconds; None when it is not one."""
    match = _DURATION.fullmatch(value)
    return float(match.group(1)) if match else None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_after_headers(headers: Mapping[str, str]) -> float | None:
    """The wait asked for by HTTP headers: ``retry-after-ms`` first, then ``Retry-After``."""
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis:
        try:
            value = float(millis)
        except ValueError:
            value = -1.0
        if value >= 0:
            return value / 1000.0
    return parse_retry_after(lowered.get("retry-after"))


def retry_info_delay(details: Iterable[Any] | None) -> float | None:
    """Seconds from the first ``google.rpc.RetryInfo`` among JSON status details, if any."""
    for item in details or ():
        if isinstance(item, dict) and str(item.get("@type", "")).endswith("google.rpc.RetryInfo"):
            delay = parse_duration(str(item.get("retryDelay", "")))
            if delay is not None:
                return delay
    return None


@dataclass(frozen=True)
class Backoff:
    """A retry policy: up to ``attempts`` tries, waiting ``first * factor**(attempt-1)`` seconds
    (capped at ``cap``, ±``jitter``) between them, or what the server asked for."""

    attempts: int = 3
    first: float = 0.25
    factor: float = 2.0
    cap: float = 5.0
    jitter: float = 0.25  # a share of the delay, drawn uniformly on both sides

    def delay(self, attempt: int, *, hint: float | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (1-based), honouring a server's hint."""
        if hint is not None:
            return max(0.0, hint)
        base = min(self.cap, self.first * self.factor ** max(0, attempt - 1))
        return max(0.0, base * random.uniform(1.0 - self.jitter, 1.0 + self.jitter))

    def exhausted(self, attempt: int) -> bool:
        """True when ``attempt`` (1-based) was the last one allowed."""
        return attempt >= self.attempts


class RetryBudget:
    """Seconds one unit of work (a message) may spend failing: its failed attempts and the
    waits between them. An outage shorter than the budget costs nothing; a longer one ends
    the work instead of retrying forever."""

    def __init__(self, seconds: float) -> None:
        self.total = seconds
        self.left = seconds

    def spend(self, seconds: float) -> None:
        """Charge ``seconds`` (a failed attempt's time, a wait)."""
        self.left -= max(0.0, seconds)

    def affords(self, seconds: float) -> bool:
        """True when ``seconds`` more fit in what is left."""
        return seconds <= self.left
