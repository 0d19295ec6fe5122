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
    mail_max_attempts: int = Field(8, ge=1, le=50)

    identity_keys: SecretStr | None = Field(
        None,
        description="Keys that encrypt name, CPR, e-mail and phone at rest: ID=KEY,... "
        "(first encrypts); generated under data_dir if unset.",
    )
    report_min_cell: int = Field(
        3, ge=1, le=100, description="Report cells under this count are suppressed."
    )
    retention_years: dict[str, int] = Field(
        default_factory=lambda: {"identity": 5, "notes": 5},
        description="Years after case closure each kind of personal data is kept.",
    )

    dispatch_interval_seconds: int = Field(60, ge=5, le=3600)
    dispatch_batch_size: int = Field(200, ge=1, le=10000)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'iba.sqlite3').resolve()}"
