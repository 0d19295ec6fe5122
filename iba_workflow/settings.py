"""Settings from ``IBA_*`` environment variables (pydantic-settings). Nothing connects
to anything when this module is imported; the composition root reads Settings once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

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
    mail_max_attempts: int = Field(8, ge=1, le=50)

    dispatch_interval_seconds: int = Field(60, ge=5, le=3600)
    dispatch_batch_size: int = Field(200, ge=1, le=10000)

    # Notifications (dispatch.route): what a person gets unless they chose otherwise
    # (``iba staff notify``), and when mail may go out. Urgent changes ignore both.
    notify_default: Literal["digest", "immediate"] = Field(
        "digest", description="digest: in the morning digest; immediate: a mail of its own."
    )
    work_start: dt.time = Field(
        dt.time(8, 0), description="Working hours begin (Copenhagen): the morning digest."
    )
    work_end: dt.time = Field(dt.time(16, 0), description="No mail after this (Copenhagen).")
    notify_quiet_hours: bool = Field(
        True, description="false: mail goes out at any hour and on any day."
    )
    notify_bundle: bool = Field(
        True,
        description="At most one mail per person per dispatcher tick (urgent ones aside); "
        "false: each immediate notification is a mail of its own.",
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'iba.sqlite3').resolve()}"
