"""API keys: created with a scope, shown once, kept as a SHA-256 hash, revocable, last
use recorded (by the bearer check). The caller commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from iba_workflow.errors import InvalidInput, NotFound
from iba_workflow.store.identity import ApiKeyRow
from iba_workflow.store.records import audit

from .bearer import API_KEY_PREFIX, hash_api_key, new_api_key
from .policy import KNOWN_SCOPES

LABEL_LENGTH = len(API_KEY_PREFIX) + 6


@dataclass(frozen=True)
class CreatedKey:
    """A new key: ``key`` is shown once and kept nowhere."""

    key_id: int
    key: str
    label: str

    def __repr__(self) -> str:
        return f"CreatedKey(key_id={self.key_id}, label={self.label!r})"


def create_api_key(
    session: Session, *, name: str, scopes: Sequence[str], now: dt.datetime, created_by: str
) -> CreatedKey:
    unknown = sorted(set(scopes) - KNOWN_SCOPES)
    if not scopes or unknown:
        raise InvalidInput(
            f"unknown scope(s): {', '.join(unknown)}" if unknown else "a key needs a scope",
            hint=f"known scopes: {', '.join(sorted(KNOWN_SCOPES))}",
        )
    if not name.strip() or len(name) > 100:
        raise InvalidInput("a key needs a name of 1–100 characters", hint="--name 'CRM import'")
    key = new_api_key()
    row = ApiKeyRow(
        key_hash=hash_api_key(key),
        label=key[:LABEL_LENGTH],
        name=name.strip(),
        scopes=sorted(set(scopes)),
        created_at=now,
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    audit(session, at=now, actor=created_by, action="api_key_created", entity="api_key",
          entity_id=row.id, scopes=row.scopes)  # fmt: skip
    return CreatedKey(int(row.id or 0), key, row.label)


def list_api_keys(session: Session) -> list[ApiKeyRow]:
    return list(session.exec(select(ApiKeyRow).order_by(col(ApiKeyRow.id))).all())


def revoke_api_key(session: Session, key_id: int, *, now: dt.datetime, by: str) -> ApiKeyRow:
    row = session.get(ApiKeyRow, key_id)
    if row is None:
        raise NotFound(f"no API key {key_id}", hint="see iba apikey list")
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        audit(session, at=now, actor=by, action="api_key_revoked", entity="api_key",
              entity_id=key_id)  # fmt: skip
    return row
