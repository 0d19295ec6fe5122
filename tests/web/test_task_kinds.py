"""Every kind of task page over real HTTP: what the person sees (the form the definition
asks for) and what the record holds after the POST (completion, outcome, measurements,
the steps an outcome opens)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from dispatch.world import SmtpServer, World, snapshot
from kinds import (
    completion,
    enroll,
    fieldset,
    first,
    labels_of,
    link,
    measurements,
    open_form,
    status,
    steps,
    submit,
    without_health,
)
from sqlmodel import select

from iba_workflow.dispatch import run_tick
from iba_workflow.engine import complete_step, record_consent, register_citizen
from iba_workflow.links.tokens import hash_token
from iba_workflow.store import tables as t
from iba_workflow.store.tables import MeasurementRow, StepInstanceRow

START = dt.date(2027, 3, 8)
DONE = "Opgaven er udført"


async def test_meeting_held_records_attendees_and_note(world: World, web) -> None:  # type: ignore[no-untyped-def]
    enroll(world, start=START)
    step = first(world, "virksomhedsoplaeg")
    token = link(world, step, "iba")
    async with httpx.AsyncClient(base_url=web.url, timeout=10) as client:
        html, csrf = await open_form(client, token)
        assert labels_of(fieldset(html, "Hvem deltog?"), "checkbox") == [
            "Integrations- og beskæftigelsesambassadør (IBA)",
            "Leder af rengøringsvirksomheden",
            "Borgeren",
        ]
        assert '<label for="note">Note' in html and "Bekræft at mødet er holdt" in html
        # what the definition assumed (the seed gives no date) is shown, to confirm
        assert "Antagelse (bekræft)" in html and "hver 4. uge torsdag kl. 14:30" in html
        r = await submit(
            client,
            token,
            {"csrf": csrf, "attended": ["iba", "borger", "ukendt"], "note": "Godt oplæg"},
        )
    assert r.status_code == 200 and DONE in r.text
    done = completion(world, step.id or 0)
    assert done is not None and done.outcome is None
    assert done.data == {"attended": ["iba", "borger"], "note": "Godt oplæg"}
    assert (done.channel, done.by_staff_id) == ("link", world.staff["iba"])
    assert status(world, step.id or 0) == "completed"


async def test_evaluation_outcome_is_applied(world: World, web) -> None:  # type: ignore[no-untyped-def]
    enrollment_id = enroll(world, start=START)
    assert steps(world, "praktiksamtale") == []  # only once she is assessed ready
    with world.session() as s:
        ready = first(world, "klar_til_praktik")
        complete_step(s, world.ctx, step_instance_id=ready.id or 0, outcome="klar")
        s.commit()
    step = first(world, "praktiksamtale")
    assert steps(world, "praktikstart") == []
    token = link(world, step, "leder")  # the company interviews and chooses
    async with httpx.AsyncClient(base_url=web.url, timeout=10) as client:
        html, csrf = await open_form(client, token)
        outcomes = fieldset(html, "Resultat")
        assert labels_of(outcomes, "radio") == [
            "Udvalgt til praktik",
            "Ikke udvalgt nu; fortsætter i forløbet",
        ]
        assert outcomes.count("required") == 2
        before = snapshot(world)
        r = await submit(client, token, {"csrf": csrf, "note": "uden valg"})
        assert r.status_code == 422 and "vælg et resultat" in r.text and "Traceback" not in r.text
        assert snapshot(world) == before
        r = await submit(client, token, {"csrf": csrf, "outcome": "udvalgt", "attended": "leder"})
    assert r.status_code == 200 and DONE in r.text
    done = completion(world, step.id or 0)
    assert done is not None and done.outcome == "udvalgt" and done.data == {"attended": ["leder"]}
    with world.session() as s:
        chosen = s.exec(select(t.OutcomeRow).where(t.OutcomeRow.enrollment_id == enrollment_id))
        assert [(c.step_key, c.outcome) for c in chosen] == [
            ("klar_til_praktik", "klar"),
            (step.key, "udvalgt"),
        ]
    assert [x.status for x in steps(world, "praktikstart")] == ["planned"]
    assert [x.status for x in steps(world, "praktikvurdering")] == ["planned"]
    later = [x for x in steps(world, "undervisning") if x.due_date > step.due_date]
    assert later and {x.status for x in later} == {"cancelled"}, "'udvalgt' stops the teaching"


async def test_progress_measurement_stores_each_dimension(world: World, web) -> None:  # type: ignore[no-untyped-def]
    enroll(world, start=START)
    step = first(world, "progressionsmaaling_start")
    token = link(world, step, "iba")
    dims = {
        "arbejdsmarkedsforstaaelse": "Forståelse af arbejdsmarkedet og egne muligheder",
        "fagligt_sprog": "Fagligt sprog i rengøring/køkken",
        "arbejdsteknik": "Arbejdsopgaver og teknikker",
        "kropsforstaaelse": "Krops- og sygdomsforståelse",
        "fremmoede": "Fremmøde og stabilitet",
    }
    async with httpx.AsyncClient(base_url=web.url, timeout=10) as client:
        html, csrf = await open_form(client, token)
        for name, label in dims.items():
            assert f'<label for="f-{name}">{label} <span class="hint">1–10</span>' in html
            assert f'id="f-{name}" type="number"' in html
        values = {name: str(n + 3) for n, name in enumerate(dims)}
        before = snapshot(world)
        r = await submit(client, token, {"csrf": csrf, **values, "fremmoede": "11"})
        assert r.status_code == 422 and "skal ligge mellem 1 og 10" in r.text
        assert snapshot(world) == before
        r = await submit(client, token, {"csrf": csrf, **values, "fremmoede": "7,5"})
    assert r.status_code == 200 and DONE in r.text
    expected = {name: (float(v), False) for name, v in values.items()} | {"fremmoede": (7.5, False)}
    assert measurements(world, step.id or 0) == expected
    done = completion(world, step.id or 0)
    assert done is not None and done.data == {k: v for k, (v, _) in expected.items()}


async def test_weighing_with_consent_records_the_weight(site) -> None:  # type: ignore[no-untyped-def]
    world, web = site("sunde_kvinder")
    with world.session() as s:
        record_consent(s, world.ctx, citizen_ref=world.citizen_ref, given=True)
    enroll(world, cohort="hold_2027_foraar")
    step = first(world, "kostsamtale")
    token = link(world, step, "diaetist")
    async with httpx.AsyncClient(base_url=web.url, timeout=10) as client:
        html, csrf = await open_form(client, token)
        assert '<label for="f-vaegt">Vægt <span class="hint">30–250 kg</span>' in html
        assert "samtykke" not in html
        r = await submit(client, token, {"csrf": csrf, "vaegt": "82,5"})
    assert r.status_code == 200 and DONE in r.text
    assert measurements(world, step.id or 0) == {"vaegt": (82.5, True)}
    assert status(world, step.id or 0) == "completed"


async def test_weighing_without_consent_records_nothing(site) -> None:  # type: ignore[no-untyped-def]
    """Consent given, then withdrawn (the latest holds): the weighing talks are health
    steps, so the engine does not plan them, no link is made and nothing is recorded."""
    world, _web = site("sunde_kvinder")
    with world.session() as s:
        record_consent(s, world.ctx, citizen_ref=world.citizen_ref, given=True)
        record_consent(s, world.ctx, citizen_ref=world.citizen_ref, given=False)
    enroll(world, cohort="hold_2027_foraar", checklist=without_health(world))
    with world.session() as s:
        steps = s.exec(select(StepInstanceRow)).all()
        assert steps, "the enrollment was planned"
        assert not [r for r in steps if r.step_id == "kostsamtale" and r.status != "cancelled"]
        assert not s.exec(select(MeasurementRow)).all()


async def test_health_dimension_left_out_without_consent(site) -> None:  # type: ignore[no-untyped-def]
    world, web = site("sunde_kvinder")
    enroll(world, cohort="hold_2027_foraar", checklist=without_health(world))
    step = first(world, "progressionsmaaling_start")
    token = link(world, step, "iba")
    async with httpx.AsyncClient(base_url=web.url, timeout=10) as client:
        html, csrf = await open_form(client, token)
        assert "Helbredsmålinger er derfor udeladt" in html and 'name="smerter"' not in html
        energy = labels_of(fieldset(html, "Energi i hverdagen"), "radio")
        assert energy == ["1 – meget lidt", *map(str, range(2, 10)), "10 – meget"]
        r = await submit(
            client,
            token,
            {
                "csrf": csrf,
                "energi": "4",
                "kropsforstaaelse": "6",
                "selvtillid": "5",
                "smerter": "9",
            },
        )
    assert r.status_code == 200 and DONE in r.text
    assert measurements(world, step.id or 0) == {
        "energi": (4.0, False),
        "kropsforstaaelse": (6.0, False),
        "selvtillid": (5.0, False),
    }, "the posted health value was not stored"


@pytest.mark.parametrize(
    ("outcome", "opens", "not_opened"),
    [
        ("optaget", "fastholdelse_vuc", "praktiksoegning"),
        ("ikke_optaget", "praktiksoegning", "fastholdelse_vuc"),
    ],
)
async def test_vuc_admission_result_opens_the_next_step(
    site, outcome: str, opens: str, not_opened: str
) -> None:  # type: ignore[no-untyped-def]
    world, web = site("de_internationale")
    enroll(world, cohort="hold_2027")
    midway = first(world, "midtvejsevaluering")
    with world.session() as s:
        complete_step(s, world.ctx, step_instance_id=midway.id or 0, data={"note": "ok"})
    step = first(world, "optagelsesproeve")
    token = link(world, step, "vuc")  # VUC decides admission (seed 002)
    assert steps(world, opens) == [] and steps(world, not_opened) == []
    async with httpx.AsyncClient(base_url=web.url, timeout=10) as client:
        html, csrf = await open_form(client, token)
        assert labels_of(fieldset(html, "Resultat"), "radio") == ["Optaget på VUC", "Ikke optaget"]
        assert "Hvem deltog?" not in html, "a test held without a meeting asks no attendees"
        r = await submit(client, token, {"csrf": csrf, "outcome": outcome})
    assert r.status_code == 200 and DONE in r.text
    done = completion(world, step.id or 0)
    assert done is not None and done.outcome == outcome
    [opened] = steps(world, opens)
    assert opened.status == "planned" and opened.branch == f"optagelsesproeve:{outcome}"
    assert opened.due_date > world.ctx.today()
    assert steps(world, not_opened) == []


async def test_weekly_absence_list_one_row_per_participant(
    world: World, smtp: SmtpServer, web
) -> None:  # type: ignore[no-untyped-def]
    with world.session() as s:
        register_citizen(s, world.ctx, ref="B-0002", municipality=world.definition.municipality)
    mine, theirs = enroll(world, start=START), enroll(world, "B-0002", start=START)
    world.clock.set(dt.datetime(2027, 3, 12, 8, tzinfo=dt.UTC))  # Friday: the lists are due
    await run_tick(world.open_session, world.ctx, world.settings, owner="kinds")
    to_school = [
        m
        for m in smtp.mails
        if "Ugentligt fraværsskema" in m.subject and world.staff_email("sprogcenter") in m.rcpt_tos
    ]
    assert len(to_school) == 2, "one new task per participant"
    own, other = first(world, "fravaersskema", mine), first(world, "fravaersskema", theirs)
    async with httpx.AsyncClient(base_url=web.url, timeout=10) as client:
        token = to_school[0].token
        assert token
        html, csrf = await open_form(client, token)
        assert html.count('<th scope="row">') == 2
        for step, ref in ((own, "F-00001"), (other, "F-00002")):
            assert f'<legend class="hint">Fraværsdage for {ref}</legend>' in html
            assert f'<label for="r-{step.id}" class="hint">Årsag for {ref}</label>' in html
            # one box per working day of the week, Monday 8/3 to the list's Friday 12/3
            for day in ("2027-03-08", "2027-03-12"):
                assert f'name="absent_{step.id}" value="{day}"' in html
        assert "man 8/3" in html and "fre 12/3" in html
        posted: dict[str, Any] = {"csrf": csrf, f"reason_{own.id}": "Syg mandag-tirsdag"}
        posted[f"absent_{own.id}"] = ["2027-03-08", "2027-03-09"]
        r = await submit(client, token, posted)
        assert r.status_code == 200 and DONE in r.text
        other_token = to_school[1].token
        closed = await client.get(f"/t/{other_token}")
        assert (
            "Opgaven er allerede udført" in closed.text and "Sprogcenter Medarbejder" in closed.text
        )
    got = {s.enrollment_id: completion(world, s.id or 0) for s in (own, other)}
    assert got[mine] is not None and got[mine].data == {
        "absent_days": 2,
        "absent_on": ["2027-03-08", "2027-03-09"],
        "reason": "Syg mandag-tirsdag",
    }
    assert got[theirs] is not None and got[theirs].data == {"absent_days": 0, "absent_on": []}
    # One attendance row per participant and day of the list; the reason stays on the
    # completion (no free text in the attendance rows).
    with world.session() as s:
        rows = s.exec(select(t.AttendanceRow).order_by(t.AttendanceRow.day)).all()
    marks = {(r.enrollment_id, r.day.isoformat()): r.present for r in rows}
    assert len(rows) == 10 and all(r.reason is None for r in rows)
    assert [d for (e, d), here in marks.items() if not here] == ["2027-03-08", "2027-03-09"]
    assert all(here for (e, d), here in marks.items() if e == theirs)
    # The evaluation shows her absence so far, from those rows.
    evaluation = first(world, "klar_til_praktik", mine)
    assert evaluation.kind == "evaluation"
    async with httpx.AsyncClient(base_url=web.url, timeout=10) as client:
        page, _csrf = await open_form(client, link(world, evaluation, "iba"))
    assert "Fravær indtil nu: 2 fraværsdage af 5 registrerede dage" in page
    assert {c.by_staff_id for c in got.values() if c} == {world.staff["sprogcenter"]}
    assert status(world, own.id or 0) == status(world, other.id or 0) == "completed"


async def test_absence_list_with_a_refused_last_row_saves_nothing(
    world: World, smtp: SmtpServer, web
) -> None:  # type: ignore[no-untyped-def]
    """One unit of work per request: the engine refuses the last row (a CPR number in
    its reason), so neither row is saved and the link is not spent; sent again without
    the number, the whole list is saved."""
    with world.session() as s:
        register_citizen(s, world.ctx, ref="B-0002", municipality=world.definition.municipality)
    mine, theirs = enroll(world, start=START), enroll(world, "B-0002", start=START)
    world.clock.set(dt.datetime(2027, 3, 12, 8, tzinfo=dt.UTC))
    await run_tick(world.open_session, world.ctx, world.settings, owner="kinds")
    own, other = first(world, "fravaersskema", mine), first(world, "fravaersskema", theirs)
    token = link(world, own, "sprogcenter")
    async with httpx.AsyncClient(base_url=web.url, timeout=10) as client:
        _html, csrf = await open_form(client, token)
        posted = {"csrf": csrf, f"absent_{own.id}": "2027-03-10", f"reason_{own.id}": "Syg"}
        posted |= {f"absent_{other.id}": "2027-03-11", f"reason_{other.id}": "Ring 010190-1234"}
        refused = await submit(client, token, posted)
        assert refused.status_code == 422
        assert "ligner et CPR-nummer" in refused.text
        assert completion(world, own.id or 0) is None, "the first row was kept"
        assert completion(world, other.id or 0) is None
        with world.session() as s:
            spent = s.exec(
                select(t.LinkTokenRow).where(t.LinkTokenRow.token_hash == hash_token(token))
            ).one()
            assert spent.used_at is None, "the link was spent"
        posted[f"reason_{other.id}"] = "Tandlæge"
        done = await submit(client, token, posted)
        assert done.status_code == 200 and DONE in done.text
    assert completion(world, own.id or 0) is not None
    assert completion(world, other.id or 0) is not None


async def test_plain_task_done_with_a_note(world: World, web) -> None:  # type: ignore[no-untyped-def]
    enroll(world, start=START)
    step = first(world, "ugentlig_evaluering")
    token = link(world, step, "iba")
    async with httpx.AsyncClient(base_url=web.url, timeout=10) as client:
        html, csrf = await open_form(client, token)
        assert "<fieldset>" not in html and 'type="radio"' not in html
        assert '<textarea id="note" name="note"' in html and "Bekræft: opgaven er udført" in html
        r = await submit(client, token, {"csrf": csrf, "note": "Talt om fremmøde"})
        assert r.status_code == 200 and DONE in r.text
        again = await client.get(f"/t/{token}")
        assert "Registreret af Integrations- Medarbejder" in again.text
    done = completion(world, step.id or 0)
    assert done is not None and done.data == {"note": "Talt om fremmøde"} and done.outcome is None
    assert status(world, step.id or 0) == "completed"
