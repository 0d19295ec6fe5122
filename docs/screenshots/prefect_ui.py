"""Make docs/screenshots/prefect-ui.png: a real Prefect server with its UI, ``iba serve``
against it, a few visitations and dispatcher ticks (one retried, one with a refused
recipient), then headless Chromium on the flow-runs page.

Run from the repository root: ``python docs/screenshots/prefect_ui.py``.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "prefect"))

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


async def populate(api_url: str, handler: object, open_session: object) -> None:
    import datetime as dt
    import os

    from prefect import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from seeding import context, enrollments_due_now, today

    from iba_workflow.orchestration.compiler import (
        dispatcher_deployment_name,
        visitation_deployment_name,
    )
    from iba_workflow.orchestration.intake import receive_visitation
    from iba_workflow.orchestration.readback import wait_for_flow_run
    from iba_workflow.orchestration.runtime import load_definitions
    from iba_workflow.orchestration.serving import (
        emit_visitation_created,
        flush_events,
        wait_for_automations,
        wait_for_deployment,
    )

    os.environ["PREFECT_API_URL"] = api_url
    definitions = load_definitions()
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        async with get_client() as client:
            for d in ("fagmentor", "hop"):
                deployment = await wait_for_deployment(client, visitation_deployment_name(d))
                await wait_for_automations(client, deployment.id)
                for n in range(2):
                    with open_session() as session:  # type: ignore[operator]
                        key = receive_visitation(
                            session,
                            context(),
                            definition=definitions[d],
                            citizen_ref=f"UI-{d}-{n}",
                            channel="http",
                            accept=True,
                            start=today() + dt.timedelta(days=21),
                            municipality="hedensted",
                        )
                    emit_visitation_created(request_id=key, definition_id=d)
            await flush_events()
            dispatcher = await wait_for_deployment(client, dispatcher_deployment_name())
            for name, refuse, reply in (
                ("motion_sygemeldte", 0, None),
                ("hop", 2, None),
                ("fagmentor", 0, "550 5.1.1 no such mailbox"),
            ):
                enrollments_due_now(open_session, definitions[name], count=1, prefix=name[:3])
                handler.refuse_next = refuse  # type: ignore[attr-defined]
                handler.rcpt_reply = reply  # type: ignore[attr-defined]
                run = await client.create_flow_run_from_deployment(dispatcher.id)
                await wait_for_flow_run(client, run.id, timeout=120)
            handler.rcpt_reply = None  # type: ignore[attr-defined]
            await asyncio.sleep(2)


def screenshot(ui_url: str, target: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1560})
        page.goto(f"{ui_url}/runs", wait_until="networkidle")
        time.sleep(3)
        page.screenshot(path=str(target))
        browser.close()


def main() -> None:
    from aiosmtpd.controller import Controller
    from stack import Serving, SlowHandler, free_port, serve_env

    from iba_workflow.orchestration.server import start_server, template_database
    from iba_workflow.store import make_engine, session_factory, upgrade

    tmp = Path(tempfile.mkdtemp(prefix="iba-ui-"))
    database = tmp / "iba.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    cache = Path(tempfile.gettempdir()) / "iba-prefect-cache"
    server = start_server(tmp / "prefect", template=template_database(cache), ui=True)
    handler = SlowHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    env = serve_env(
        server,
        database_url=f"sqlite:///{database}",
        data_dir=tmp / "data",
        smtp_port=controller.port,
    )
    env["IBA_MAIL_RETRY_BASE_SECONDS"] = "1"  # a refused mail is tried again soon
    serving = Serving(env=env, logdir=tmp)
    serving.start()
    try:
        asyncio.run(populate(server.api_url, handler, session_factory(engine)))
        screenshot(server.api_url.removesuffix("/api"), REPO / "docs/screenshots/prefect-ui.png")
    finally:
        serving.stop_all()
        controller.stop()
        server.stop()
        engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
