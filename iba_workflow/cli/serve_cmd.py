"""``iba serve``: register and serve every deployment (the dispatcher and one visitation
flow per definition) against the configured Prefect API — or, with none configured, a
``prefect server start`` of our own with SQLite under the data directory (PostgreSQL when
``PREFECT_API_DATABASE_CONNECTION_URL`` is set). Stops cleanly on SIGINT and SIGTERM.

Several ``iba serve`` processes may serve against one (PostgreSQL-backed) server: each
flow run is taken by one of them, and the dispatcher's outbox leases keep two ticks from
sending the same mail.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from iba_workflow import paths
from iba_workflow.errors import IbaError, StoreError

from .app import app, fail

out = Console(highlight=False)
DATABASE_URL_VARIABLES = (
    "PREFECT_API_DATABASE_CONNECTION_URL",
    "PREFECT_SERVER_DATABASE_CONNECTION_URL",
)


def _check_store() -> None:
    from iba_workflow.settings import Settings
    from iba_workflow.store import make_engine
    from iba_workflow.store.db import current_revision

    engine = make_engine(Settings().resolved_database_url())
    try:
        revision = current_revision(engine)
    except Exception as exc:
        raise StoreError(
            f"cannot open the database ({type(exc).__name__})", hint="check IBA_DATABASE_URL"
        ) from None
    finally:
        engine.dispose()
    if revision is None:
        raise StoreError("the database has no tables yet", hint="run: iba db upgrade")


def _flows_importable() -> None:
    """Flow runs import ``flows.*`` (the deployments' entry points) in new processes."""
    root = str(paths.PROJECT_ROOT)
    if importlib.util.find_spec("flows") is None and (paths.PROJECT_ROOT / "flows").is_dir():
        sys.path.insert(0, root)
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([root, *parts])


def _own_server(data_dir: Path, port: int) -> object:
    from iba_workflow.orchestration.server import start_server, template_database

    workdir = (data_dir / "prefect").resolve()
    extra: dict[str, str] = {}
    template = None
    pg = next((os.environ[v] for v in DATABASE_URL_VARIABLES if os.environ.get(v)), None)
    if pg:
        extra["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = pg
    else:
        cache = os.environ.get("IBA_PREFECT_CACHE")  # a migrated empty database to copy
        template = template_database(Path(cache) if cache else workdir / "cache")
    out.print("starting a Prefect server" + (" (PostgreSQL)" if pg else f" (SQLite in {workdir})"))
    return start_server(workdir, template=template, port=port, ui=True, extra_env=extra)


def _terminate(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


@app.command()
def serve(
    interval: Annotated[
        int | None,
        typer.Option(help="Seconds between dispatcher ticks (IBA_DISPATCH_INTERVAL_SECONDS)."),
    ] = None,
    port: Annotated[
        int, typer.Option(help="Port of our own Prefect server, if we start one.")
    ] = 4200,
    limit: Annotated[
        int | None, typer.Option(help="At most this many flow runs at once in this process.")
    ] = None,
) -> None:
    """Serve the deployments (dispatcher, visitations) until stopped (Ctrl-C / SIGTERM)."""
    from iba_workflow.settings import Settings

    settings = Settings()
    server = None
    # SIGTERM before Prefect's runner has installed its own handler (which stops the runner
    # and exits 0) must still stop our server: treat it like Ctrl-C.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        _check_store()
        _flows_importable()
        if not os.environ.get("PREFECT_API_URL"):
            server = _own_server(settings.data_dir, port)
            os.environ["PREFECT_API_URL"] = server.api_url  # type: ignore[attr-defined]
        os.environ.setdefault("DO_NOT_TRACK", "1")
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        api = os.environ["PREFECT_API_URL"]
        every = interval or settings.dispatch_interval_seconds
        out.print(f"Prefect API: {api}")
        out.print(f"Prefect UI:  {api.removesuffix('/api')}")
        out.print(
            f"serving the dispatcher (every {every} s) and one visitation flow per definition"
        )
        sys.stdout.flush()
        from flows.serve import serve_forever

        serve_forever(interval_seconds=every, limit=limit)
    except IbaError as exc:
        fail(exc)
    except (KeyboardInterrupt, SystemExit):
        pass
    except Exception as exc:  # Prefect's own errors: a sentence, never a traceback
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        fail(
            IbaError(
                f"serving stopped: {type(exc).__name__}" + (f": {first}" if first else ""),
                hint="check PREFECT_API_URL (unset: iba serve starts its own server) and "
                "the log above",
            )
        )
    finally:
        if server is not None:
            server.stop()  # type: ignore[attr-defined]
    out.print("stopped")
