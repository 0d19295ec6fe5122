"""The local stack behind ``iba up``: a Prefect server with its UI, ``iba serve``, the web
app and the dev mailbox, wired to each other, with the store migrated and demo staff in
it. ``start_stack`` starts the parts under a :class:`~iba_workflow.supervisor.Supervisor`;
the CLI (``iba up``, ``iba demo``) prints and waits.

State on disk, all under the data directory: the store (``iba.sqlite3`` unless
``IBA_DATABASE_URL``), the Prefect database (``prefect/prefect.db``), the logs of every
part (``logs/``), ``up.json`` (the URLs of the running stack, for ``iba demo``) and
``up.lock`` (held while ``iba up`` runs). The mailbox keeps mail in memory only.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from iba_workflow import paths
from iba_workflow.supervisor import (
    Child,
    PortNeed,
    Supervisor,
    SupervisorError,
    http_json,
    spawn,
)

PREFECT_DB_VARIABLES = (
    "PREFECT_API_DATABASE_CONNECTION_URL",
    "PREFECT_SERVER_DATABASE_CONNECTION_URL",
)
STATE_FILE = "up.json"
LOCK_FILE = "up.lock"
Say = Callable[[str], None]


@dataclass(frozen=True)
class StackConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    prefect_port: int = 4200
    web_port: int = 8000
    mailbox_port: int = 8025
    smtp_port: int = 1025
    dispatch_interval: int = 60
    demo_staff: bool = True

    def ports(self) -> list[PortNeed]:
        return [
            PortNeed(self.prefect_port, "the Prefect server", "--prefect-port", "IBA_PREFECT_PORT"),
            PortNeed(self.web_port, "the task pages (web app)", "--web-port", "IBA_WEB_PORT"),
            PortNeed(self.mailbox_port, "the mailbox page", "--mailbox-port", "IBA_MAILBOX_PORT"),
            PortNeed(self.smtp_port, "the mailbox's SMTP server", "--smtp-port", "IBA_SMTP_PORT"),
        ]


@dataclass(frozen=True)
class StackUrls:
    """Where the parts of a running stack answer (written to ``up.json``)."""

    prefect_ui: str
    prefect_api: str
    web: str
    mailbox: str
    smtp: str
    data_dir: str
    pid: int

    @classmethod
    def of(cls, config: StackConfig) -> StackUrls:
        base = f"http://{config.host}"
        return cls(
            prefect_ui=f"{base}:{config.prefect_port}",
            prefect_api=f"{base}:{config.prefect_port}/api",
            web=f"{base}:{config.web_port}",
            mailbox=f"{base}:{config.mailbox_port}",
            smtp=f"{config.host}:{config.smtp_port}",
            data_dir=str(config.data_dir),
            pid=os.getpid(),
        )


class AlreadyRunning(SupervisorError):
    """``iba up`` already runs for this data directory."""


@contextlib.contextmanager
def stack_lock(data_dir: Path) -> Iterator[None]:
    """Hold ``up.lock`` while the stack runs; a second ``iba up`` on the same data
    directory gets :class:`AlreadyRunning` (with the running one's URLs)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / LOCK_FILE, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            running = read_running(data_dir)
            where = (
                f" (task pages {running.web}, Prefect UI {running.prefect_ui})" if running else ""
            )
            raise AlreadyRunning(
                f"iba up is already running for the data directory {data_dir}{where}",
                hint="use it (iba demo attaches to it), stop it with Ctrl-C, "
                "or start another one with --data-dir and other ports",
            ) from None
        try:
            yield
        finally:
            (data_dir / STATE_FILE).unlink(missing_ok=True)


def read_running(data_dir: Path) -> StackUrls | None:
    """The URLs of the ``iba up`` running for ``data_dir``, or None if none runs."""
    lock = data_dir / LOCK_FILE
    state = data_dir / STATE_FILE
    if not lock.exists() or not state.exists():
        return None
    with open(lock) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pass  # held: it runs
        else:
            return None
    try:
        return StackUrls(**json.loads(state.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def prepare_store(*, demo_staff: bool) -> tuple[str | None, int]:
    """Migrate the store to the newest schema; add the demo staff. Returns the revision
    and how many staff members were added."""
    from iba_workflow.clock import SystemClock
    from iba_workflow.demo_staff import load_demo_staff
    from iba_workflow.engine import EngineContext, calendars_from
    from iba_workflow.orchestration.runtime import load_definitions
    from iba_workflow.settings import Settings
    from iba_workflow.store import engine_from_settings, session_factory, upgrade
    from iba_workflow.store.db import current_revision

    settings = Settings()
    engine = engine_from_settings(settings)
    try:
        upgrade(engine)
        revision = current_revision(engine)
        added = 0
        if demo_staff:
            ctx = EngineContext(
                clock=SystemClock(),
                calendars=calendars_from(settings.calendars_dir or paths.calendars_dir()),
                actor="iba up",
                channel="cli",
            )
            added = load_demo_staff(session_factory(engine), ctx, load_definitions(settings))
    finally:
        engine.dispose()
    return revision, added


def template_cache() -> Path:
    """Where the migrated, empty Prefect database is kept between runs (``IBA_PREFECT_CACHE``,
    else ``$XDG_CACHE_HOME/iba-workflow/prefect`` or ``~/.cache/iba-workflow/prefect``)."""
    if os.environ.get("IBA_PREFECT_CACHE"):
        return Path(os.environ["IBA_PREFECT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "iba-workflow" / "prefect"


def start_prefect(config: StackConfig) -> Any:
    """``prefect server start`` with its UI, SQLite under ``<data>/prefect`` (kept across
    runs), or PostgreSQL when ``PREFECT_API_DATABASE_CONNECTION_URL`` is set."""
    from iba_workflow.orchestration.server import start_server, template_database

    workdir = config.data_dir / "prefect"
    extra = {"PREFECT_LOGGING_SERVER_LEVEL": "WARNING"}
    template = None
    database = next((os.environ[v] for v in PREFECT_DB_VARIABLES if os.environ.get(v)), None)
    if database:
        extra["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = database
    elif not (workdir / "prefect.db").exists():
        with contextlib.suppress(OSError):
            template = template_database(template_cache())
    return start_server(
        workdir,
        template=template,
        host=config.host,
        port=config.prefect_port,
        ui=True,
        extra_env=extra,
    )


def child_env(config: StackConfig, base: dict[str, str], urls: StackUrls) -> dict[str, str]:
    """The environment of ``iba serve``, ``iba web`` and ``iba mailbox``: one data
    directory, SMTP to the dev mailbox, links to the web app, the Prefect server's API."""
    env = dict(base)
    for name in ("IBA_SMTP_USERNAME", "IBA_SMTP_PASSWORD"):
        env.pop(name, None)
    env.update(
        {
            "IBA_DATA_DIR": str(config.data_dir),
            "IBA_SMTP_HOST": config.host,
            "IBA_SMTP_PORT": str(config.smtp_port),
            "IBA_SMTP_STARTTLS": "false",
            "IBA_SMTP_TLS": "false",
            "IBA_BASE_URL": urls.web,
            "IBA_DISPATCH_INTERVAL_SECONDS": str(config.dispatch_interval),
            "PREFECT_API_URL": urls.prefect_api,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.setdefault("PREFECT_RUNNER_POLL_FREQUENCY", "2")  # flow runs start within ~2 s
    # The dev mailbox shows each notification as its own mail, at any hour (set these to
    # digest / true / true to watch the morning digest and quiet hours instead).
    env.setdefault("IBA_NOTIFY_DEFAULT", "immediate")
    env.setdefault("IBA_NOTIFY_BUNDLE", "false")
    env.setdefault("IBA_NOTIFY_QUIET_HOURS", "false")
    return env


def deployment_url(api: str) -> str:
    """The dispatcher's deployment in the Prefect API: 200 once ``iba serve`` registered."""
    from iba_workflow.orchestration.compiler import DISPATCHER_DEPLOYMENT, DISPATCHER_FLOW

    flow = urllib.parse.quote(DISPATCHER_FLOW, safe="")
    return f"{api}/deployments/name/{flow}/{DISPATCHER_DEPLOYMENT}"


def triggers_registered(api: str, definition_ids: Sequence[str]) -> Callable[[], bool]:
    """``iba serve`` is ready for visitations once every definition's visitation
    deployment exists with its trigger's automation. It registers the dispatcher first:
    a visitation posted before its automation exists is not lost (the store holds it)
    but waits for a dispatcher tick to announce it again, a minute or more."""
    from iba_workflow.orchestration.compiler import visitation_flow_name

    def ready() -> bool:
        for definition_id in definition_ids:
            flow = urllib.parse.quote(visitation_flow_name(definition_id), safe="")
            name = urllib.parse.quote(definition_id, safe="")
            deployment = http_json(f"{api}/deployments/name/{flow}/{name}")
            if not deployment:
                return False
            related = f"{api}/automations/related-to/prefect.deployment.{deployment['id']}"
            if not http_json(related):
                return False
        return True

    return ready


def start_stack(config: StackConfig, supervisor: Supervisor, say: Say) -> StackUrls:
    """Start every part under ``supervisor`` and return once all are healthy. On any
    failure the caller stops the supervisor (which stops what was started)."""
    urls = StackUrls.of(config)
    logs = config.data_dir / "logs"
    iba = [sys.executable, "-m", "iba_workflow"]
    cwd = paths.PROJECT_ROOT
    env = child_env(config, dict(os.environ), urls)
    say("starting the mailbox and the web app")
    mailbox = supervisor.add(
        spawn(
            "the mailbox",
            [
                *iba,
                "mailbox",
                "--host",
                config.host,
                "--smtp-port",
                str(config.smtp_port),
                "--http-port",
                str(config.mailbox_port),
            ],
            env=env,
            cwd=cwd,
            log_path=logs / "mailbox.log",
            health_url=f"{urls.mailbox}/api/messages",
        )
    )
    web = supervisor.add(
        spawn(
            "the web app",
            [*iba, "web", "--host", config.host, "--port", str(config.web_port)],
            env=env,
            cwd=cwd,
            log_path=logs / "web.log",
            health_url=f"{urls.web}/healthz",
        )
    )
    say(f"starting the Prefect server (data in {config.data_dir / 'prefect'})")
    from iba_workflow.orchestration.server import PrefectServerError

    try:
        server = start_prefect(config)
    except PrefectServerError as exc:
        raise SupervisorError(
            "the Prefect server did not start",
            hint=f"see {config.data_dir / 'prefect' / 'server.log'} ({str(exc).splitlines()[0]})",
        ) from None
    supervisor.add(
        Child("the Prefect server", server.process, server.log_path, f"{urls.prefect_api}/health")
    )
    serve_env = {**server.client_env(), **{k: v for k, v in env.items() if k.startswith("IBA_")}}
    serve_env.update({k: env[k] for k in ("PREFECT_RUNNER_POLL_FREQUENCY", "PYTHONUNBUFFERED")})
    from iba_workflow.orchestration.runtime import load_definitions
    from iba_workflow.settings import Settings

    definition_ids = sorted(load_definitions(Settings()))  # what iba serve will serve
    say("starting the deployments runner (iba serve)")
    serve = supervisor.add(
        spawn(
            "the deployments runner (iba serve)",
            [*iba, "serve", "--interval", str(config.dispatch_interval)],
            env=serve_env,
            cwd=cwd,
            log_path=logs / "serve.log",
            health_url=deployment_url(urls.prefect_api),
            ready=triggers_registered(urls.prefect_api, definition_ids),
        )
    )
    supervisor.wait_healthy([mailbox, web], timeout=60)
    say("waiting for the deployments and their triggers to be registered")
    supervisor.wait_healthy([serve], timeout=90)
    write_state(config.data_dir, urls)
    return urls


def write_state(data_dir: Path, urls: StackUrls) -> None:
    path = data_dir / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(urls), indent=2), encoding="utf-8")
    os.replace(tmp, path)
