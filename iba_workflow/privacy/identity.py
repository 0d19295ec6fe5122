"""Identity fields at rest: seal plaintext rows (migration 0007), re-encrypt under the
newest key (rotation), and look a citizen up by CPR through the keyed digest."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlmodel import Session, col, select

from .crypto import IdentityKeyring, current_keyring, is_encrypted, normalise_cpr

FIELDS = ("name", "cpr", "email", "phone")


@dataclass(frozen=True)
class SealReport:
    rows: int  # identity rows looked at
    sealed: int  # plaintext values encrypted
    rewrapped: int  # values moved from an older key to the primary one


def seal_identity_rows(
    connection: Connection, ring: IdentityKeyring | None = None, *, decrypt: bool = False
) -> SealReport:
    """Bring every ``citizen_identity`` row under the primary key, with a fresh digest.

    Plaintext is encrypted (the step of migration 0007), values under an older key are
    re-encrypted, and ``cpr_hmac`` is recomputed. ``decrypt=True`` writes plaintext back
    (the downgrade of 0007). Raw SQL, so it runs inside a migration as well."""
    ring = ring or current_keyring()
    rows = connection.execute(
        text("SELECT citizen_id, name, cpr, email, phone FROM citizen_identity")
    ).all()
    sealed = rewrapped = 0
    for row in rows:
        values: dict[str, str | None] = {}
        for name, stored in zip(FIELDS, row[1:], strict=True):
            if stored is None:
                values[name] = None
                continue
            plain = ring.decrypt(stored) if is_encrypted(stored) else stored
            if decrypt:
                values[name] = plain
                continue
            if not is_encrypted(stored):
                sealed += 1
            elif ring.key_id_of(stored) != ring.primary:
                rewrapped += 1
            else:
                values[name] = stored
                continue
            values[name] = ring.encrypt(plain)
        plain_cpr = None
        if row[2] is not None:
            plain_cpr = ring.decrypt(row[2]) if is_encrypted(row[2]) else row[2]
        digest = ring.cpr_hmac(plain_cpr) if plain_cpr is not None and not decrypt else None
        connection.execute(
            text(
                "UPDATE citizen_identity SET name=:name, cpr=:cpr, email=:email, "
                "phone=:phone, cpr_hmac=:digest WHERE citizen_id=:cid"
            ),
            {**values, "digest": digest, "cid": row[0]},
        )
    return SealReport(len(rows), sealed, rewrapped)


def citizen_id_by_cpr(session: Session, cpr: str) -> int | None:
    """The citizen registered with ``cpr`` (any spelling: dash or not), or None. Compares
    keyed digests only: nothing is decrypted and no identity is read."""
    from iba_workflow.store.tables import CitizenIdentityRow

    if not normalise_cpr(cpr):
        return None
    found = session.exec(
        select(CitizenIdentityRow.citizen_id).where(
            col(CitizenIdentityRow.cpr_hmac).in_(current_keyring().cpr_hmacs(cpr))
        )
    ).first()
    return None if found is None else int(found)
