"""A small circuit breaker for one upstream (Gemini, an image provider), so a dead one does
not add seconds to every call.

Hand-written on purpose: the state machine is a few dozen lines, it only has to be correct within
one event loop (no locks, no threads), and its clock is injectable so tests need no sleeps. The
breaker libraries on PyPI are either sync-first or wrap the call themselves, and one more
dependency would buy nothing here.

closed ──N consecutive failures──▶ open ──reset_after seconds──▶ half_open
  ▲                                 ▲                               │ one trial call
  └──────────── trial succeeds ─────┼────────── trial fails ────────┘
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

State = Literal["closed", "open", "half_open"]


class CircuitOpen(Exception):
    """The breaker refuses calls: the upstream failed recently and its cool-down is not over."""


class CircuitBreaker:
    """Counts consecutive failures of one upstream and stops calling it while it is down.

    Callers bracket each call: ``before_call()`` (may raise `CircuitOpen`), then exactly one of
    ``record_success()``, ``record_failure()`` or ``record_cancelled()``.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if reset_after < 0:
            raise ValueError("reset_after must not be negative")
        self._threshold = failure_threshold
        self._reset_after = reset_after
        self._clock = clock
        self._failures = 0  # consecutive, while closed
        self._opened_at: float | None = None  # None while closed
        self._trial_in_flight = False

    @property
    def state(self) -> State:
        """Where the breaker is now; open turns half_open by itself once the cool-down is over."""
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self._reset_after:
            return "half_open"
        return "open"

    def before_call(self) -> None:
        """Let a call through, or raise `CircuitOpen`; in half_open only one trial at a time."""
        state = self.state
        if state == "closed":
            return
        if state == "open" or self._trial_in_flight:
            raise CircuitOpen(f"circuit {state}: upstream failed {self._failures} times in a row")
        self._trial_in_flight = True

    def record_success(self) -> None:
        """The call worked: close the circuit and forget past failures."""
        self._failures = 0
        self._opened_at = None
        self._trial_in_flight = False

    def record_failure(self) -> None:
        """The call failed: open after the threshold, or at once if it was the half-open trial."""
        self._failures += 1
        self._trial_in_flight = False
        if self._opened_at is not None or self._failures >= self._threshold:
            # Reopening restarts the cool-down, so a failed trial waits a full period again.
            self._opened_at = self._clock()

    def record_cancelled(self) -> None:
        """The call ended without a verdict (cancelled): free the trial slot, change nothing."""
        self._trial_in_flight = False
