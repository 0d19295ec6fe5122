"""Link tokens (hash-only storage, expiry, single use, binding) and the CSRF token."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from iba_workflow.errors import LinkError
from iba_workflow.links import (
    LinkState,
    check_csrf_token,
    check_link,
    hash_token,
    issue_link,
    link_ttl,
    link_url,
    make_csrf_token,
    new_token,
    token_matches,
)
from iba_workflow.settings import Settings

NOW = dt.datetime(2027, 3, 1, 8, tzinfo=dt.UTC)


@dataclass
class Row:
    """What the lead's table will hold: no plain token."""

    token_hash: str
    step_instance_id: str
    staff_id: str
    expires_at: dt.datetime
    used_at: dt.datetime | None = None


def stored(step: str = "s1", staff: str = "u1") -> tuple[str, Row]:
    issued = issue_link(step_instance_id=step, staff_id=staff, now=NOW, ttl=link_ttl(Settings()))
    row = Row(issued.token_hash, issued.step_instance_id, issued.staff_id, issued.expires_at)
    return issued.token, row


def test_token_has_256_bits_and_only_its_hash_is_stored() -> None:
    token, row = stored()
    assert len(token) == 43  # 32 bytes, URL-safe base64 without padding
    assert token not in repr(row) and token not in repr(
        issue_link(step_instance_id=1, staff_id=1, now=NOW)
    )
    assert row.token_hash == hash_token(token) and len(row.token_hash) == 64
    assert token_matches(token, row.token_hash)
    assert len({new_token() for _ in range(1000)}) == 1000
    assert link_url("http://h:8000/", token) == f"http://h:8000/l/{token}"


def test_default_lifetime_is_fourteen_days() -> None:
    _, row = stored()
    assert row.expires_at - NOW == dt.timedelta(days=14)


def test_valid_then_used() -> None:
    token, row = stored()
    assert check_link(token, row, now=NOW, step_instance_id="s1", staff_id="u1").ok
    row.used_at = NOW + dt.timedelta(hours=1)
    result = check_link(token, row, now=NOW + dt.timedelta(hours=2))
    assert result.state is LinkState.USED and result.used_at == row.used_at
    # a used link keeps saying "used", even after its expiry
    later = check_link(token, row, now=NOW + dt.timedelta(days=30))
    assert later.state is LinkState.USED


def test_expired() -> None:
    token, row = stored()
    just_before = check_link(token, row, now=row.expires_at - dt.timedelta(seconds=1))
    assert just_before.ok
    result = check_link(token, row, now=row.expires_at)
    assert result.state is LinkState.EXPIRED and result.expired_at == row.expires_at
    naive = Row(row.token_hash, "s1", "u1", row.expires_at.replace(tzinfo=None))
    assert check_link(token, naive, now=row.expires_at).state is LinkState.EXPIRED


def test_token_for_another_step_or_person() -> None:
    token, row = stored(step="s1", staff="u1")
    assert check_link(token, row, now=NOW, step_instance_id="s2").state is LinkState.WRONG_STEP
    assert check_link(token, row, now=NOW, staff_id="u2").state is LinkState.WRONG_STAFF


def test_altered_or_unknown_token_says_nothing_more() -> None:
    token, row = stored()
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert hash_token(altered) != row.token_hash
    assert check_link(altered, row, now=NOW).state is LinkState.UNKNOWN
    assert check_link(altered, None, now=NOW).state is LinkState.UNKNOWN
    assert check_link(token + "x", row, now=NOW).state is LinkState.UNKNOWN
    assert check_link("../../etc", row, now=NOW).state is LinkState.UNKNOWN
    assert check_link("", None, now=NOW).state is LinkState.UNKNOWN


def test_naive_now_refused() -> None:
    with pytest.raises(LinkError):
        issue_link(step_instance_id=1, staff_id=1, now=dt.datetime(2027, 1, 1))
    with pytest.raises(LinkError):
        issue_link(step_instance_id=1, staff_id=1, now=NOW, ttl=dt.timedelta(0))


def test_csrf_token_bound_to_link_key_and_time() -> None:
    _, row = stored()
    csrf = make_csrf_token(secret="k1", token_hash=row.token_hash, now=NOW)
    assert row.token_hash not in csrf
    later = NOW + dt.timedelta(minutes=5)
    assert check_csrf_token(csrf, secret="k1", token_hash=row.token_hash, now=later)
    _, other = stored()
    assert not check_csrf_token(csrf, secret="k1", token_hash=other.token_hash, now=later)
    assert not check_csrf_token(csrf, secret="k2", token_hash=row.token_hash, now=later)
    assert not check_csrf_token(csrf + "x", secret="k1", token_hash=row.token_hash, now=later)
    assert not check_csrf_token("", secret="k1", token_hash=row.token_hash, now=later)
    assert not check_csrf_token(
        csrf, secret="k1", token_hash=row.token_hash, now=NOW + dt.timedelta(hours=13)
    )
    with pytest.raises(LinkError):
        make_csrf_token(secret="", token_hash=row.token_hash, now=NOW)
