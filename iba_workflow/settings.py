"""Settings from ``IBA_*`` environment variables (pydantic-settings). Nothing connects
to anything when this module is imported; the composition root reads Settings once."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IBA_", env_file=None, extra="ignore")

    data_dir: Path = Field(Path("data"), description="Where the SQLite files live.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: sqlite under data_dir."
    )
    definitions_dir: Path | None = None
    calendars_dir: Path | None = None
    templates_dir: Path | None = None

    base_url: str = Field("http://127.0.0.1:8000", description="Public URL of the web app.")
    secret_key: SecretStr | None = Field(
        None, description="Key for CSRF and signing; generated under data_dir if unset."
    )
    link_ttl_days: int = Field(14, ge=1, le=365)

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "iba-workflow <noreply@example.org>"
    # The one retry policy of a mail (mail/backoff.py, used by the outbox): a failed send
    # waits base × 2^(n-1), at most cap, shortened by up to 20 % jitter; dead after
    # mail_max_attempts tries (a 5xx at once).
    mail_max_attempts: int = Field(8, ge=1, le=50)
    mail_retry_base_seconds: float = Field(30.0, gt=0, le=3600)
    mail_retry_cap_seconds: float = Field(3600.0, gt=0, le=86400)

    dispatch_interval_seconds: int = Field(60, ge=5, le=3600)
    dispatch_batch_size: int = Field(200, ge=1, le=10000)
    dispatch_lease_seconds: int = Field(
        300, ge=2, le=3600, description="How long a claimed outbox row is held by one tick."
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'iba.sqlite3').resolve()}"
