"""Retry hints are read the way servers send them; the backoff grows, is capped and jitters."""

from __future__ import annotations

import email.utils

import pytest

from mesh.retry import (
    Backoff,
    RetryBudget,
    parse_duration,
    parse_retry_after,
    retry_after_headers,
    retry_info_delay,
)


@pytest.mark.parametrize(
    ("value", "seconds"), [("17s", 17.0), ("0.5s", 0.5), (" 3s ", 3.0), ("3", None), ("s", None)]
)
def test_parse_duration(value: str, seconds: float | None) -> None:
    assert parse_duration(value) == seconds


def test_retry_after_as_seconds_or_http_date() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    date = email.utils.formatdate(1_000_030.0, usegmt=True)
    assert parse_retry_after(date, now=1_000_000.0) == pytest.approx(30.0)
    assert parse_retry_after(date, now=2_000_000.0) == 0.0


def test_retry_after_headers_prefer_milliseconds() -> None:
    assert retry_after_headers({"retry-after-ms": "1500", "Retry-After": "9"}) == 1.5
    assert retry_after_headers({"Retry-After": "9"}) == 9.0
    assert retry_after_headers({"retry-after-ms": "bad", "retry-after": "2"}) == 2.0
    assert retry_after_headers({}) is None


def test_retry_info_from_json_status_details() -> None:
    details = [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED"},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"},
    ]
    assert retry_info_delay(details) == 17.0
    assert retry_info_delay([]) is None
    assert retry_info_delay(None) is None
    assert retry_info_delay(["not a dict", {"@type": "x.RetryInfo"}]) is None


def test_backoff_grows_caps_jitters_and_honours_hints() -> None:
    policy = Backoff(first=1.0, factor=2.0, cap=5.0, jitter=0.25)
    for attempt, base in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (10, 5.0)]:
        delays = {policy.delay(attempt) for _ in range(50)}
        assert all(0.75 * base <= d <= 1.25 * base for d in delays)
        assert len(delays) > 1  # jittered, so replicas do not retry in step
    assert policy.delay(3, hint=7.5) == 7.5
    assert Backoff(jitter=0).delay(1) == 0.25


def test_a_retry_budget_pays_for_failures_and_waits_until_it_is_spent() -> None:
    budget = RetryBudget(10.0)
    budget.spend(4.0)  # a failed attempt
    assert budget.affords(6.0)
    budget.spend(6.0)  # a wait
    assert not budget.affords(0.1)
    budget.spend(-5.0)  # nothing is ever given back
    assert budget.left == 0.0
