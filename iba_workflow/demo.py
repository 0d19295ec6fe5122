"""``iba demo`` on a running stack: fictional citizens enrolled in each of the five
interventions through the HTTP door (``POST /api/visitations``), then dispatcher ticks
started through the Prefect API so that mails arrive in the mailbox.

Citizens get opaque references (``DEMO-1-HOP-01``); their fictional names go into
``citizen_identity`` only. A second demo run enrols a new batch (``DEMO-2-…``).
Prefect is spoken to over its REST API (no ``import prefect``).
"""

from __future__ import annotations

import datetime as dt
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from sqlmodel import col, select

from iba_workflow.definition import Definition
from iba_workflow.engine import EngineContext, record_consent, register_citizen
from iba_workflow.errors import IbaError
from iba_workflow.store.tables import CitizenRow
from iba_workflow.store.work import unit_of_work

# Fictional names only; they go to citizen_identity and nowhere else.
CITIZEN_NAMES = (
    "Amina Opdigtet", "Fatima Eksempel", "Leyla Prøvesen", "Sara Fiktivsen", "Nour Demosen",
    "Hana Testrup", "Yusuf Eksempel", "Omar Prøvesen", "Daniel Fiktivsen", "Maria Opdigtet",
    "Jens Demosen", "Grethe Testrup",
)  # fmt: skip


class DemoError(IbaError):
    """The demo could not play a step (a part of the stack did not answer)."""


@dataclass(frozen=True)
class Enrolment:
    definition_id: str
    label: str  # what the demo calls this intake
    count: int
    start: dt.date | None = None
    cohort: str | None = None


@dataclass(frozen=True)
class Enrolled:
    ref: str
    definition_id: str
    decision: str
    start: str | None
    steps: int


def next_monday(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(7 - day.weekday()) % 7)


def first_cohort(d: Definition, today: dt.date) -> str:
    later = [c for c in getattr(d.intake, "cohorts", []) if c.start > today]
    if not later:
        raise DemoError(f"'{d.id}' has no cohort starting after {today}")
    return str(min(later, key=lambda c: c.start).id)


def demo_plan(definitions: Mapping[str, Definition], today: dt.date) -> list[Enrolment]:
    """The five intakes: a Sunde kvinder cohort, rolling HOP and Fagmentor intakes, a De
    internationale cohort, a health-offer participant. Rolling starts are the first
    Monday after the intake's lead time."""

    def rolling(definition_id: str) -> dt.date:
        lead = definitions[definition_id].intake.lead
        days = lead.amount * (7 if lead.unit == "weeks" else 1)
        return next_monday(today + dt.timedelta(days=days + 1))

    return [
        Enrolment(
            "sunde_kvinder", "Sunde kvinder, hold", 3,
            cohort=first_cohort(definitions["sunde_kvinder"], today),
        ),
        Enrolment("hop", "HOP, løbende optag", 2, start=rolling("hop")),
        Enrolment("fagmentor", "Fagmentor, løbende optag", 2, start=rolling("fagmentor")),
        Enrolment(
            "de_internationale", "De internationale, hold", 2,
            cohort=first_cohort(definitions["de_internationale"], today),
        ),
        Enrolment(
            "motion_sygemeldte", "Motion for sygemeldte (sundhedstilbud)", 1,
            start=rolling("motion_sygemeldte"),
        ),
    ]  # fmt: skip


SHORT = {
    "sunde_kvinder": "SK",
    "hop": "HOP",
    "fagmentor": "FM",
    "de_internationale": "DI",
    "motion_sygemeldte": "MS",
}


def next_batch(open_session: Callable[[], Any]) -> int:
    """1 + the highest demo batch in the store (each ``iba demo`` enrols new citizens)."""
    with open_session() as session:
        refs = session.exec(select(CitizenRow.ref).where(col(CitizenRow.ref).like("DEMO-%")))
        batches = [int(r.split("-")[1]) for r in refs if r.split("-")[1].isdigit()]
    return max(batches, default=0) + 1


def register_demo_citizens(
    open_session: Callable[[], Any],
    ctx: EngineContext,
    definitions: Mapping[str, Definition],
    plan: list[Enrolment],
    batch: int,
) -> list[tuple[Enrolment, str]]:
    """Register each demo citizen (fictional name to ``citizen_identity``; consent to
    health data, which Sunde kvinder's eligibility asks about). Returns (intake, ref)."""
    out: list[tuple[Enrolment, str]] = []
    n = 0
    with unit_of_work(open_session) as session:
        for e in plan:
            municipality = definitions[e.definition_id].municipality
            for i in range(1, e.count + 1):
                ref = f"DEMO-{batch}-{SHORT.get(e.definition_id, 'X')}-{i:02d}"
                name = CITIZEN_NAMES[n % len(CITIZEN_NAMES)]
                n += 1
                register_citizen(session, ctx, ref=ref, municipality=municipality, name=name)
                record_consent(session, ctx, citizen_ref=ref, given=True)
                out.append((e, ref))
    return out


def demo_api_key(
    open_session: Callable[[], Any], ctx: EngineContext, batch: int
) -> tuple[int, str]:
    """An API key for this demo run's visitations (``visitations:write``): the demo posts
    over HTTP like any client. Kept in memory, never printed; revoked after the run's
    posts (:func:`revoke_demo_api_key`)."""
    from iba_workflow.identity.apikeys import create_api_key
    from iba_workflow.identity.policy import SCOPE_VISITATIONS_WRITE

    with open_session() as session:
        created = create_api_key(
            session,
            name=f"iba demo {batch}",
            scopes=[SCOPE_VISITATIONS_WRITE],
            now=ctx.now(),
            created_by=ctx.actor,
        )
        session.commit()
    return created.key_id, created.key


def revoke_demo_api_key(open_session: Callable[[], Any], ctx: EngineContext, key_id: int) -> None:
    from iba_workflow.identity.apikeys import revoke_api_key

    with open_session() as session:
        revoke_api_key(session, key_id, now=ctx.now(), by=ctx.actor)
        session.commit()


def post_visitation(
    client: httpx.Client, d: Definition, enrolment: Enrolment, ref: str
) -> Enrolled:
    """``POST /api/visitations``: accepted, every eligibility criterion met."""
    body: dict[str, Any] = {
        "definition_id": d.id,
        "citizen_ref": ref,
        "accept": True,
        "answers": {c.id: True for c in d.eligibility},
    }
    if enrolment.start:
        body["start"] = enrolment.start.isoformat()
    if enrolment.cohort:
        body["cohort"] = enrolment.cohort
    response = client.post("/api/visitations", json=body)
    if response.status_code not in (201, 202):
        detail = response.json().get("error", response.text[:200])
        raise DemoError(f"the web app refused the visitation of {ref}: {detail}")
    found = follow_visitation(client, response.json())
    if found["status"] == "refused":
        raise DemoError(f"the engine refused the visitation of {ref}: {found.get('error')}")
    # still "received" after the wait: announced to Prefect, not processed yet
    decision = found.get("decision") or "announced"
    return Enrolled(ref, d.id, decision, found.get("start"), found.get("steps", 0))


def follow_visitation(
    client: httpx.Client,
    answer: dict[str, Any],
    *,
    timeout: float = 90.0,
    poll: float = 1.0,
    monotonic: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """What a client does after ``POST /api/visitations`` answered 202 (stored and
    announced, its flow run not finished within the door's wait): ask
    ``GET /api/visitations/{request}`` until the request is ``processed`` or
    ``refused``, or ``timeout`` passes (then the last answer, still ``received``).
    ``client`` carries the base URL and the bearer credential; a 429 (the key's rate
    limit) is waited out as its ``Retry-After`` says."""
    deadline = monotonic() + timeout
    while answer.get("status") == "received" and monotonic() < deadline:
        time.sleep(poll)
        response = _call(client, "GET", f"/api/visitations/{answer['request']}")
        if response.status_code == 429:
            wait = float(response.headers.get("retry-after", "60"))
            time.sleep(max(0.0, min(wait, deadline - monotonic())))
            continue
        if response.status_code != 200:
            detail = response.json().get("error", response.text[:200])
            raise DemoError(f"the web app cannot say what became of {answer['request']}: {detail}")
        answer = response.json()
    return answer


# ---------------------------------------------------------------- Prefect over REST


def _call(
    client: httpx.Client, method: str, url: str, *, attempts: int = 20, **kwargs: Any
) -> httpx.Response:
    """One Prefect API call; a 5xx or a dropped connection is retried (the server answers
    503 while its SQLite database is locked under load)."""
    for attempt in range(attempts):
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TransportError:
            if attempt == attempts - 1:
                raise DemoError(
                    "the Prefect server does not answer", hint="see its log (prefect/server.log)"
                ) from None
        else:
            if response.status_code < 500 or attempt == attempts - 1:
                return response
        time.sleep(0.5)
    raise AssertionError("unreachable")


def dispatcher_deployment_id(client: httpx.Client) -> str:
    from iba_workflow.orchestration.compiler import DISPATCHER_DEPLOYMENT, DISPATCHER_FLOW

    flow = urllib.parse.quote(DISPATCHER_FLOW, safe="")
    response = _call(client, "GET", f"/deployments/name/{flow}/{DISPATCHER_DEPLOYMENT}")
    if response.status_code != 200:
        raise DemoError(
            "the dispatcher deployment is not registered in Prefect",
            hint="is the deployments runner (iba serve) running?",
        )
    return str(response.json()["id"])


def start_dispatcher_run(client: httpx.Client) -> dict[str, Any]:
    """Ask Prefect for a dispatcher run now (the runner of ``iba serve`` picks it up)."""
    deployment_id = dispatcher_deployment_id(client)
    response = _call(client, "POST", f"/deployments/{deployment_id}/create_flow_run", json={})
    if response.status_code >= 400:
        raise DemoError(
            f"Prefect refused a dispatcher run (HTTP {response.status_code}: "
            f"{response.text[:200]})",
            hint="see the Prefect server's log (prefect/server.log)",
        )
    return dict(response.json())


def wait_flow_run(
    client: httpx.Client,
    flow_run_id: str,
    *,
    timeout: float = 90.0,
    on_state: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Poll a flow run until it is final (COMPLETED, FAILED, CRASHED, CANCELLED)."""
    deadline = time.monotonic() + timeout
    seen = ""
    while True:
        run = _call(client, "GET", f"/flow_runs/{flow_run_id}").json()
        state = str(run.get("state_type") or (run.get("state") or {}).get("type", ""))
        if state != seen and on_state is not None:
            on_state(state)
        seen = state
        if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return dict(run)
        if time.monotonic() > deadline:
            raise DemoError(
                f"the dispatcher run {run.get('name')} is still {state} after {timeout:.0f} s",
                hint="see the log of the deployments runner (logs/serve.log)",
            )
        time.sleep(0.5)


def mailbox_total(mailbox_url: str) -> int:
    response = httpx.get(f"{mailbox_url}/api/messages", timeout=5)
    response.raise_for_status()
    return int(response.json()["total"])
