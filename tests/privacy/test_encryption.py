"""Name, CPR, e-mail and phone are encrypted at rest: the raw columns never hold the
plaintext (SQLite and PostgreSQL); keys rotate; migration 0007 seals old rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text

from iba_workflow.clock import FixedClock
from iba_workflow.engine import EngineContext, register_citizen
from iba_workflow.privacy.crypto import (
    IdentityKeyError,
    IdentityKeyring,
    configure_keyring,
    new_key,
)
from iba_workflow.privacy.identity import citizen_id_by_cpr, seal_identity_rows
from iba_workflow.store.records import read_citizen_identity

NOW = dt.datetime(2027, 3, 1, 9, tzinfo=dt.UTC)
PLAIN = {
    "name": "Amina Testesen",
    "cpr": "010203-4455",
    "email": "amina@borger.invalid",
    "phone": "+45 12 34 56 78",
}
NEEDLES = [*PLAIN.values(), "0102034455", "Amina", "12 34 56 78"]


def _register(session: Any, ref: str = "B-1", **who: str) -> int:
    ctx = EngineContext(clock=FixedClock(NOW))
    row = register_citizen(session, ctx, ref=ref, municipality="hedensted", **(who or PLAIN))
    session.commit()
    return int(row.id)


def _raw(session: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in session.execute(text("SELECT * FROM citizen_identity")).all()]


def test_raw_columns_never_hold_the_plaintext(open_session: Any) -> None:
    with open_session() as session:
        cid = _register(session)
        raw = _raw(session)
        assert len(raw) == 1
        stored = " ".join(str(v) for v in raw[0])
        for needle in NEEDLES:
            assert needle not in stored
        assert stored.count("enc1:test:") == 4
        who = read_citizen_identity(session, cid, actor="staff:1", purpose="test", at=NOW)
        assert (who.name, who.cpr, who.email, who.phone) == tuple(PLAIN.values())


def test_two_encryptions_of_one_value_differ_and_cpr_lookup_uses_the_digest(
    open_session: Any,
) -> None:
    with open_session() as session:
        first = _register(session, "B-1", name="Same Name", cpr="111111-1111")
        second = _register(session, "B-2", name="Same Name", cpr="222222-2222")
        names = [r[1] for r in _raw(session)]
        assert names[0] != names[1]  # a random IV per value: equal names do not show
        assert citizen_id_by_cpr(session, "1111111111") == first
        assert citizen_id_by_cpr(session, "222222-2222") == second
        assert citizen_id_by_cpr(session, "333333-3333") is None


def test_rotation_re_encrypts_under_the_new_key(open_session: Any, keyring_reset: None) -> None:
    old, new = new_key(), new_key()
    configure_keyring(IdentityKeyring.parse(f"old={old}"))
    with open_session() as session:
        cid = _register(session)
        assert all(str(v).startswith("enc1:old:") for v in _raw(session)[0][1:5])
    configure_keyring(IdentityKeyring.parse(f"new={new},old={old}"))
    with open_session() as session:  # both keys listed: old rows still read
        assert read_citizen_identity(session, cid, actor="t", purpose="t", at=NOW).name
        assert citizen_id_by_cpr(session, PLAIN["cpr"]) == cid
        report = seal_identity_rows(session.connection())
        session.commit()
        assert report.rewrapped == 4 and report.sealed == 0
        assert all(str(v).startswith("enc1:new:") for v in _raw(session)[0][1:5])
    configure_keyring(IdentityKeyring.parse(f"new={new}"))  # the old key can go now
    with open_session() as session:
        who = read_citizen_identity(session, cid, actor="t", purpose="t", at=NOW)
        assert who.cpr == PLAIN["cpr"]
        assert citizen_id_by_cpr(session, PLAIN["cpr"]) == cid
    configure_keyring(IdentityKeyring.parse(f"old={old}"))  # a store ahead of its keys
    with open_session() as session, pytest.raises(IdentityKeyError) as refused:
        read_citizen_identity(session, cid, actor="t", purpose="t", at=NOW)
    assert "'new'" in refused.value.message and "IBA_IDENTITY_KEYS" in (refused.value.hint or "")


def test_malformed_keys_are_a_sentence_with_a_fix() -> None:
    with pytest.raises(IdentityKeyError) as bad:
        IdentityKeyring.parse("k1=not-a-key")
    assert "Fernet" in bad.value.message and "iba identity new-key" in (bad.value.hint or "")
    with pytest.raises(IdentityKeyError):
        IdentityKeyring.parse("no-equals-sign")


def test_migration_0007_seals_plaintext_rows_and_downgrade_opens_them(db_engine: Any) -> None:
    from alembic import command
    from alembic.config import Config

    from iba_workflow.store import upgrade
    from iba_workflow.store.db import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db_engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0003")
    with db_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO citizen (id, ref, municipality, created_at) VALUES (1, 'B-1', 'h', :t)"
            ),
            {"t": NOW.replace(tzinfo=None)},
        )
        connection.execute(
            text(
                "INSERT INTO citizen_identity (citizen_id, name, cpr, email, phone) "
                "VALUES (1, :name, :cpr, :email, :phone)"
            ),
            PLAIN,
        )
    upgrade(db_engine)
    with db_engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM citizen_identity")).one()
    stored = " ".join(str(v) for v in row)
    for needle in NEEDLES:
        assert needle not in stored
    from iba_workflow.store import session_factory

    with session_factory(db_engine)() as session:
        who = read_citizen_identity(session, 1, actor="t", purpose="t", at=NOW)
        assert (who.name, who.cpr) == (PLAIN["name"], PLAIN["cpr"])
        assert citizen_id_by_cpr(session, "0102034455") == 1
    with db_engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0003")
    with db_engine.connect() as connection:
        back = connection.execute(text("SELECT name, cpr FROM citizen_identity")).one()
    assert tuple(back) == (PLAIN["name"], PLAIN["cpr"])


def test_without_keys_one_key_file_is_made_and_kept(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, keyring_reset: None
) -> None:
    import stat

    from iba_workflow.privacy.crypto import current_keyring

    monkeypatch.delenv("IBA_IDENTITY_KEYS", raising=False)
    monkeypatch.setenv("IBA_DATA_DIR", str(tmp_path))
    configure_keyring(None)
    ring = current_keyring()
    path = tmp_path / "identity_keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ring.primary == "k1" and ring.decrypt(ring.encrypt("x")) == "x"
    assert IdentityKeyring.parse(path.read_text()).keys == ring.keys
    assert sorted(p.name for p in tmp_path.iterdir()) == ["identity_keys"]
