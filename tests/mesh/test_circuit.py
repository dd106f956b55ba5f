"""CircuitBreaker's state machine, driven by an injected clock."""

from __future__ import annotations

import pytest

from mesh.circuit import CircuitBreaker, CircuitOpen


class Clock:
    """A monotonic clock that only moves when the test says so."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def state(breaker: CircuitBreaker) -> str:
    """The state, read afresh (mypy would otherwise keep an earlier narrowing)."""
    return breaker.state


def failing(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.before_call()
        breaker.record_failure()


def test_starts_closed_and_lets_calls_through(clock: Clock) -> None:
    breaker = CircuitBreaker(clock=clock)
    assert state(breaker) == "closed"
    for _ in range(10):
        breaker.before_call()
        breaker.record_success()
    assert state(breaker) == "closed"


def test_opens_after_consecutive_failures(clock: Clock) -> None:
    breaker = CircuitBreaker(failure_threshold=3, clock=clock)
    failing(breaker, 2)
    assert state(breaker) == "closed"
    failing(breaker, 1)
    assert state(breaker) == "open"
    with pytest.raises(CircuitOpen):
        breaker.before_call()


def test_a_success_resets_the_count(clock: Clock) -> None:
    breaker = CircuitBreaker(failure_threshold=3, clock=clock)
    failing(breaker, 2)
    breaker.before_call()
    breaker.record_success()
    failing(breaker, 2)
    assert state(breaker) == "closed"


def test_half_open_after_the_cool_down(clock: Clock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_after=30.0, clock=clock)
    failing(breaker, 1)
    clock.now += 29.9
    assert state(breaker) == "open"
    clock.now += 0.1
    assert state(breaker) == "half_open"


def test_half_open_lets_one_trial_through(clock: Clock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_after=30.0, clock=clock)
    failing(breaker, 1)
    clock.now += 30.0
    breaker.before_call()  # the trial
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # a second caller while the trial is in flight
    breaker.record_success()
    assert state(breaker) == "closed"
    breaker.before_call()


def test_failed_trial_reopens_for_a_full_period(clock: Clock) -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_after=30.0, clock=clock)
    failing(breaker, 2)
    clock.now += 30.0
    breaker.before_call()
    clock.now += 5.0  # the trial takes a while, then fails
    breaker.record_failure()
    assert state(breaker) == "open"
    clock.now += 29.0
    assert state(breaker) == "open"
    clock.now += 1.0
    assert state(breaker) == "half_open"


def test_cancelled_trial_frees_the_slot(clock: Clock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_after=30.0, clock=clock)
    failing(breaker, 1)
    clock.now += 30.0
    breaker.before_call()
    breaker.record_cancelled()
    assert state(breaker) == "half_open"
    breaker.before_call()  # a new trial may start


def test_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=0)
    with pytest.raises(ValueError, match="reset_after"):
        CircuitBreaker(reset_after=-1)
