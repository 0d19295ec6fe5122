"""Encryption at rest of the identity fields (name, CPR, e-mail, phone).

Application-level, with ``cryptography``'s Fernet (AES-128-CBC + HMAC-SHA256, a random IV
per value): a stored value reads ``enc1:<key id>:<token>``, so a row says which key sealed
it and keys can be rotated one at a time. The keys come from ``IBA_IDENTITY_KEYS``:

    IBA_IDENTITY_KEYS="k2=<fernet key>,k1=<older fernet key>"

The first key encrypts; every listed key decrypts. Equality lookups ("is this CPR
registered?") use a keyed HMAC of the normalised CPR (``cpr_hmac``), derived per key with
HKDF, so a lookup works under every listed key while a rotation is under way.

Unset, a key is generated once under ``IBA_DATA_DIR`` (file mode 0600), as the web app
does for its signing key: fine for a laptop, not for production.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from iba_workflow.errors import IbaError

PREFIX = "enc1"
_KID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class IdentityKeyError(IbaError):
    """The identity keys are missing, malformed, or do not open a stored value."""


@dataclass(frozen=True)
class IdentityKeyring:
    """Fernet keys by id; ``primary`` encrypts, all decrypt."""

    keys: tuple[tuple[str, bytes], ...]

    @property
    def primary(self) -> str:
        return self.keys[0][0]

    @classmethod
    def parse(cls, text: str) -> IdentityKeyring:
        pairs: list[tuple[str, bytes]] = []
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            kid, sep, key = part.partition("=")
            if not sep or not _KID.match(kid):
                raise IdentityKeyError(
                    "IBA_IDENTITY_KEYS must read ID=KEY[,ID=KEY...]",
                    hint="make a key with: iba identity new-key",
                )
            try:
                Fernet(key.encode("ascii"))
            except (ValueError, UnicodeEncodeError):
                raise IdentityKeyError(
                    f"identity key '{kid}' is not a Fernet key (32 url-safe base64 bytes)",
                    hint="make a key with: iba identity new-key",
                ) from None
            pairs.append((kid, key.encode("ascii")))
        if not pairs:
            raise IdentityKeyError("IBA_IDENTITY_KEYS names no key", hint="iba identity new-key")
        if len({k for k, _ in pairs}) != len(pairs):
            raise IdentityKeyError("IBA_IDENTITY_KEYS names a key id twice")
        return cls(tuple(pairs))

    def _fernet(self, kid: str) -> Fernet:
        for k, key in self.keys:
            if k == kid:
                return Fernet(key)
        raise IdentityKeyError(
            f"a stored identity value is sealed with key '{kid}', which is not configured",
            hint="add the old key to IBA_IDENTITY_KEYS (after the new one) and run "
            "iba identity rotate",
        )

    def encrypt(self, plaintext: str) -> str:
        token = self._fernet(self.primary).encrypt(plaintext.encode("utf-8"))
        return f"{PREFIX}:{self.primary}:{token.decode('ascii')}"

    def decrypt(self, stored: str) -> str:
        prefix, kid, token = _split(stored)
        if prefix != PREFIX:
            raise IdentityKeyError("an identity value in the store is not encrypted")
        try:
            return self._fernet(kid).decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise IdentityKeyError(
                f"identity key '{kid}' does not open a stored value (wrong key for that id?)",
                hint="check IBA_IDENTITY_KEYS",
            ) from None

    def key_id_of(self, stored: str) -> str | None:
        prefix, kid, _ = _split(stored)
        return kid if prefix == PREFIX else None

    def cpr_hmacs(self, cpr: str) -> list[str]:
        """The lookup digest of ``cpr`` under every key (primary first)."""
        return [_hmac(key, cpr) for _, key in self.keys]

    def cpr_hmac(self, cpr: str) -> str:
        return _hmac(self.keys[0][1], cpr)


def _split(stored: str) -> tuple[str, str, str]:
    parts = stored.split(":", 2)
    if len(parts) != 3:
        return "", "", stored
    return parts[0], parts[1], parts[2]


def normalise_cpr(cpr: str) -> str:
    """Digits only: ``010203-4455`` and ``0102034455`` are the same person."""
    return "".join(ch for ch in cpr if ch.isdigit())


def _hmac(key: bytes, cpr: str) -> str:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"iba-workflow cpr lookup"
    ).derive(base64.urlsafe_b64decode(key))
    return hmac.new(derived, normalise_cpr(cpr).encode("ascii"), hashlib.sha256).hexdigest()


def is_encrypted(value: str | None) -> bool:
    return value is not None and value.startswith(PREFIX + ":")


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


# --- which keyring is in force -------------------------------------------------------------

_configured: IdentityKeyring | None = None
_cache: dict[tuple[str, str], IdentityKeyring] = {}


def configure_keyring(keyring: IdentityKeyring | None) -> None:
    """Set the keyring explicitly (the composition root, tests); None: from settings."""
    global _configured
    _configured = keyring


def current_keyring() -> IdentityKeyring:
    """The configured keyring, else ``IBA_IDENTITY_KEYS``, else a key file under the data
    directory (made once, mode 0600)."""
    if _configured is not None:
        return _configured
    from iba_workflow.settings import Settings

    settings = Settings()
    text = settings.identity_keys.get_secret_value() if settings.identity_keys else ""
    source = ("env", text) if text else ("file", str(Path(settings.data_dir).resolve()))
    if source not in _cache:
        _cache[source] = IdentityKeyring.parse(text or _key_file(Path(settings.data_dir)))
    return _cache[source]


def _key_file(data_dir: Path) -> str:
    """The key file, made whole before it appears: processes started together (iba up)
    race to make it, and every one of them must end up with the same key."""
    path = data_dir / "identity_keys"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".identity_keys.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(f"k1={new_key()}\n")
        try:
            os.link(draft, path)  # atomic, and refuses if another process won
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text(encoding="ascii").strip()


def decrypt_all(values: Iterable[str | None]) -> list[str | None]:
    ring = current_keyring()
    return [None if v is None else ring.decrypt(v) for v in values]
