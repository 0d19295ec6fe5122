"""Settings from ``IBA_*`` environment variables (pydantic-settings). Nothing connects
to anything when this module is imported; the composition root reads Settings once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
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

    # Staff sign-in and sessions (iba_workflow.identity)
    signin_link_minutes: int = Field(
        15, ge=1, le=24 * 60, description="Lifetime of an e-mailed sign-in link."
    )
    session_idle_minutes: int = Field(
        30, ge=1, le=24 * 60, description="A session unused this long ends."
    )
    session_absolute_hours: int = Field(
        8, ge=1, le=24 * 7, description="A session ends this long after sign-in, used or not."
    )
    signin_limit_per_address: int = Field(
        5, ge=1, description="Sign-in links asked for one address per 15 minutes."
    )
    signin_limit_per_ip: int = Field(
        20, ge=1, description="Sign-in requests from one client address per 15 minutes."
    )
    api_limit_per_minute: int = Field(120, ge=1, description="API requests per key per minute.")

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

    new_task_lead_days: int = Field(
        0,
        ge=0,
        le=30,
        description="Days before its date a task becomes actionable and its new-task mail "
        "goes (never later than its first reminder, which the new-task mail replaces).",
    )
    date_window_back_days: int = Field(
        365, ge=0, le=3650, description="How far back a start, pause or exit date may lie."
    )
    date_window_ahead_days: int = Field(
        730, ge=1, le=3650, description="How far ahead a start, pause or exit date may lie."
    )
    caldav_password: SecretStr | None = Field(
        None, description="Password of the CalDAV user names stored with staff calendars."
    )
    identity_keys: SecretStr | None = Field(
        None,
        description="Keys that encrypt name, CPR, e-mail and phone at rest: ID=KEY,... "
        "(first encrypts); generated under data_dir if unset.",
    )
    law_rules_file: Path | None = Field(
        None,
        description="Law rules per municipality (YAML, the shape of the shipped "
        "iba_workflow/privacy/law_rules.yaml, which is the default).",
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
    dispatch_lease_seconds: int = Field(
        300, ge=2, le=3600, description="How long a claimed outbox row is held by one tick."
    )

    # OpenID Connect sign-in and OAuth 2 access tokens for the API (identity/oidc_*.py)
    oidc_issuer: str | None = Field(
        None, description="Issuer URL of the identity provider; unset: no OIDC sign-in."
    )
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = Field(
        None, description="Unset for a public client (PKCE only)."
    )
    oidc_scopes: str = "openid email profile"
    oidc_staff_claim: str = Field(
        "email", description="ID-token claim matched case-insensitively to staff.email."
    )
    oidc_provider_name: str = Field(
        "din arbejdskonto", description="Shown on the sign-in button: 'Log ind med …'."
    )
    api_audience: str | None = Field(
        None, description="The 'aud' an API access token must carry; unset: no JWTs."
    )

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer_over_https(cls, value: str | None) -> str | None:
        """An issuer's keys decide who may sign in: fetch them over https, or from a
        provider on this machine."""
        if not value:
            return None
        value = value.strip()
        parts = urlsplit(value)
        local = parts.hostname in {"127.0.0.1", "localhost", "::1"}
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise ValueError(
                "IBA_OIDC_ISSUER must be an https URL (http only for a provider on this "
                "machine), e.g. https://login.microsoftonline.com/<tenant-id>/v2.0"
            )
        return value

    @property
    def date_window(self) -> tuple[int, int]:
        return (self.date_window_back_days, self.date_window_ahead_days)

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
