"""Backoff: exponential, capped, deterministic jitter, dead letter after N attempts."""

from __future__ import annotations

import datetime as dt

import pytest

from iba_workflow.errors import IbaError
from iba_workflow.mail.backoff import (
    BackoffPolicy,
    decide_after_failure,
    jitter_fraction,
    retry_delay,
    schedule,
)
from iba_workflow.settings import Settings

NOW = dt.datetime(2027, 3, 1, 8, tzinfo=dt.UTC)


def test_schedule_grows_then_caps_and_jitter_only_shortens() -> None:
    policy = BackoffPolicy(
        base=dt.timedelta(seconds=30),
        factor=2,
        cap=dt.timedelta(minutes=10),
        jitter=0.2,
        max_attempts=10,
    )
    delays = [d.total_seconds() for d in schedule(message_id="outbox-1", policy=policy)]
    assert len(delays) == 9
    nominal = [min(30 * 2**i, 600) for i in range(9)]
    for got, want in zip(delays, nominal, strict=True):
        assert want * 0.8 <= got <= want
    assert max(delays) <= 600


def test_no_jitter_gives_exact_powers() -> None:
    policy = BackoffPolicy(jitter=0.0, max_attempts=5)
    assert [d.total_seconds() for d in schedule(message_id="x", policy=policy)] == [
        30,
        60,
        120,
        240,
    ]


def test_jitter_is_deterministic_per_message_and_spreads_messages() -> None:
    policy = BackoffPolicy()
    assert retry_delay(3, message_id="a", policy=policy) == retry_delay(
        3, message_id="a", policy=policy
    )
    spread = {retry_delay(3, message_id=f"m{i}", policy=policy) for i in range(50)}
    assert len(spread) > 40
    assert all(0 <= jitter_fraction(f"m{i}", 1) < 1 for i in range(100))


def test_ten_minutes_down_loses_nothing_with_defaults() -> None:
    policy = BackoffPolicy.from_settings(Settings())
    total = sum((d for d in schedule(message_id="outbox-9", policy=policy)), dt.timedelta())
    assert total > dt.timedelta(minutes=10)


def test_decisions() -> None:
    policy = BackoffPolicy(max_attempts=3, jitter=0.0)
    first = decide_after_failure(attempts=1, message_id="m", now=NOW, policy=policy)
    assert first.action == "retry" and first.retry_at == NOW + dt.timedelta(seconds=30)
    second = decide_after_failure(attempts=2, message_id="m", now=NOW, policy=policy)
    assert second.retry_at == NOW + dt.timedelta(seconds=60)
    third = decide_after_failure(attempts=3, message_id="m", now=NOW, policy=policy)
    assert third.action == "dead_letter" and third.retry_at is None
    permanent = decide_after_failure(
        attempts=1, message_id="m", now=NOW, policy=policy, permanent=True
    )
    assert permanent.action == "dead_letter"


def test_bad_policies_and_inputs() -> None:
    with pytest.raises(IbaError):
        BackoffPolicy(base=dt.timedelta(0))
    with pytest.raises(IbaError):
        BackoffPolicy(jitter=1.0)
    with pytest.raises(IbaError):
        retry_delay(0, message_id="m", policy=BackoffPolicy())
    with pytest.raises(IbaError):
        decide_after_failure(
            attempts=1, message_id="m", now=dt.datetime(2027, 1, 1), policy=BackoffPolicy()
        )
