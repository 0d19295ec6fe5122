"""The column type that seals identity fields, and the CPR lookup digest kept in step.

``EncryptedText`` encrypts on the way into the database and decrypts on the way out, so
code that holds a ``CitizenIdentityRow`` sees plain values while the stored column never
does. ``cpr_hmac`` is filled by a mapper event on every insert and update.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.types import TypeDecorator
from sqlmodel import AutoString

from .crypto import current_keyring, is_encrypted


class EncryptedText(TypeDecorator[str]):
    """A string stored as ``enc1:<key id>:<Fernet token>``."""

    impl = AutoString
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        text = str(value)
        return text if is_encrypted(text) else current_keyring().encrypt(text)

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return current_keyring().decrypt(str(value))


def keep_cpr_hmac(row_class: Any) -> None:
    """Fill ``row.cpr_hmac`` from ``row.cpr`` before every INSERT and UPDATE."""

    def fill(_mapper: Any, _connection: Any, row: Any) -> None:
        row.cpr_hmac = None if row.cpr is None else current_keyring().cpr_hmac(row.cpr)

    event.listen(row_class, "before_insert", fill)
    event.listen(row_class, "before_update", fill)
