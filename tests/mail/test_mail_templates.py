"""Every template renders for every step of every definition, in Danish, with no
personal data, a one-line subject, and escaped HTML."""

from __future__ import annotations

import datetime as dt

import jinja2
import pytest

from iba_workflow import paths
from iba_workflow.definition import Definition
from iba_workflow.errors import MailError
from iba_workflow.mail import (
    DIGEST_TEMPLATE,
    STEP_TEMPLATES,
    DigestItem,
    DigestMail,
    DigestSection,
    MailRenderer,
    StepMail,
    StepRef,
)
from iba_workflow.mail.render import CPR_PATTERN, long_date, role_names, short_date
from iba_workflow.planning import Plan

LINK = "http://127.0.0.1:8000/l/" + "A" * 43


def step_mail(d: Definition, plan: Plan, key: str, template: str) -> StepMail:
    names = role_names(d.roles)
    step = plan.get(key)
    ref = StepRef.from_planned(step, role_names=names)
    previous = StepRef(
        key=ref.key,
        name=ref.name,
        kind=ref.kind,
        date=ref.date - dt.timedelta(days=3),
        time=ref.time,
        place="Jobcenteret",
    )
    return StepMail(
        template=template,
        intervention=d.name,
        step=ref,
        enrollment_ref="F-7Q2K",
        recipient_role=names.get(step.assignee, step.assignee),
        link_url=LINK,
        assignee_role=names.get(step.assignee, step.assignee),
        previous=previous if template == "aendring" else None,
        today=step.date - dt.timedelta(days=2),
        calendar_attached=step.time is not None,
    )


def test_every_template_name_has_text_and_html(renderer: MailRenderer) -> None:
    for name in {*STEP_TEMPLATES, DIGEST_TEMPLATE}:
        assert renderer.has_template(name), name
    # the definition loader sees the new names, and not the layouts
    known = paths.known_templates()
    assert {*STEP_TEMPLATES, DIGEST_TEMPLATE} <= known
    assert not any(n.startswith("_") for n in known)


@pytest.mark.parametrize("template", sorted(STEP_TEMPLATES))
def test_every_step_of_every_definition_renders(
    definition_and_plan: tuple[Definition, Plan], template: str, renderer: MailRenderer
) -> None:
    d, plan = definition_and_plan
    assert plan.steps
    for step in plan.steps:
        mail = step_mail(d, plan, step.key, template)
        out = renderer.render(mail)
        assert "\n" not in out.subject and out.subject == out.subject.strip()
        for part in (out.subject, out.text, out.html):
            assert d.name in part or d.name.replace("&", "&amp;") in part
        assert short_date(step.date) in out.subject
        assert mail.step.name in out.subject
        for part in (out.text, out.html):
            assert long_date(step.date) in part
            assert "F-7Q2K" in part
            if step.place:
                assert step.place in part or str(jinja2.escape(step.place)) in part
            if step.time:
                assert step.time.strftime("%H:%M") in part
        assert LINK in out.text and f'href="{LINK}"' in out.html
        assert out.html.startswith("<!DOCTYPE html>") and 'lang="da"' in out.html
        assert not CPR_PATTERN.search(out.subject + out.text + out.html)


def test_the_definitions_own_template_renders_for_its_steps(
    definition_and_plan: tuple[Definition, Plan], renderer: MailRenderer
) -> None:
    d, plan = definition_and_plan
    for step in plan.steps:
        if step.template:
            out = renderer.render(step_mail(d, plan, step.key, step.template))
            assert step.name in out.text


def test_digest_renders_sections_in_order_and_bundles_name_their_item(
    renderer: MailRenderer,
) -> None:
    overdue = DigestItem(
        intervention="HOP",
        enrollment_ref="F-2",
        title="Rekruttering",
        when="ons. 24. feb.",
        note="eskaleret til dig",
        link_url="http://x/t/2",
    )
    today = DigestItem(
        intervention="Fagmentor",
        enrollment_ref="F-1",
        title="Evaluering af praktikken <b>",
        when="ons. 3. mar. kl. 10:00",
        note="ny",
        link_url="http://x/t/1",
        link_label="Åbn mødet",
    )
    out = renderer.render(
        DigestMail(
            day=dt.date(2027, 3, 3),
            sections=(
                DigestSection(title="Forfaldne", items=(overdue,)),
                DigestSection(title="I dag, ons. 3. mar.", items=(today,)),
            ),
        )
    )
    assert out.subject == "Morgenoversigt ons. 3. mar.: 1 i dag, 0 i morgen, 1 forfaldne"
    assert (
        out.text.index("FORFALDNE (1)")
        < out.text.index("Rekruttering (eskaleret til dig)")
        < out.text.index("I DAG, ONS. 3. MAR. (1)")
        < out.text.index("Evaluering af praktikken <b> (ny) · Fagmentor · forløb F-1")
    )
    assert "http://x/t/1" in out.html and "http://x/t/2" in out.html
    assert "&lt;b&gt;" in out.html and "<b>" not in out.html.split("<body")[1].split("Åbn")[0]
    ended = DigestItem(
        intervention="HOP",
        enrollment_ref="F-00012",
        title="Forløb F-00012 er afsluttet: ordinære løntimer; 11 planlagte aftaler er aflyst",
        when="man. 12. apr.",
        link_url="http://x/forloeb/F-00012",
        link_label="Se forløbet",
    )
    one = renderer.render(
        DigestMail(
            day=dt.date(2027, 4, 12),
            mode="samlet",
            sections=(DigestSection(title="Forløb", items=(ended,)),),
        )
    )
    assert one.subject == (
        "Forløb F-00012 er afsluttet: ordinære løntimer; 11 planlagte aftaler er aflyst"
        " · man. 12. apr."
    )


def test_html_is_escaped_and_text_is_not(renderer: MailRenderer) -> None:
    step = StepRef(
        key="x",
        name="Møde <script>alert(1)</script>",
        kind="meeting",
        date=dt.date(2027, 3, 1),
        time=dt.time(9, 30),
        duration_minutes=45,
        place="Kantine & mødelokale",
    )
    out = renderer.render(
        StepMail(
            template="moedeindkaldelse",
            intervention="HOP",
            step=step,
            enrollment_ref="F-9",
            recipient_role="IBA",
            link_url=LINK,
        )
    )
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html
    assert "Kantine &amp; mødelokale" in out.html
    assert "Kantine & mødelokale" in out.text
    assert "kl. 09:30–10:15" in out.text


def test_reminder_says_how_long_is_left(renderer: MailRenderer) -> None:
    step = StepRef(key="x", name="Opgave", kind="task", date=dt.date(2027, 3, 5))

    def text(today: dt.date | None) -> str:
        return renderer.render(
            StepMail(
                template="paamindelse",
                intervention="HOP",
                step=step,
                enrollment_ref="F-9",
                recipient_role="IBA",
                link_url=LINK,
                today=today,
            )
        ).text

    assert "om 3 dage" in text(dt.date(2027, 3, 2))
    assert "i morgen" in text(dt.date(2027, 3, 4))
    assert "Fristen er i dag" in text(dt.date(2027, 3, 5))
    assert "Fristen er fredag den 5. marts 2027" in text(None)


def test_danish_dates() -> None:
    assert long_date(dt.date(2027, 3, 1)) == "mandag den 1. marts 2027"
    assert short_date(dt.date(2027, 12, 25)) == "lør. 25. dec."


def test_unknown_template_and_missing_variable_fail_loudly(tmp_path: object) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    (root / "mail").mkdir()
    (root / "mail" / "bad.txt.j2").write_text(
        "{% block subject %}{{ m.nope }}{% endblock %}", encoding="utf-8"
    )
    (root / "mail" / "bad.html.j2").write_text("x", encoding="utf-8")
    r = MailRenderer(root)
    step = StepRef(key="x", name="X", kind="task", date=dt.date(2027, 3, 1))
    mail = StepMail(
        template="bad",
        intervention="HOP",
        step=step,
        enrollment_ref="F-1",
        recipient_role="IBA",
        link_url=LINK,
    )
    with pytest.raises(MailError, match="failed"):
        r.render(mail)
    with pytest.raises(MailError, match="no mail template"):
        r.render(
            StepMail(
                template="ny_opgave",
                intervention="HOP",
                step=step,
                enrollment_ref="F-1",
                recipient_role="IBA",
                link_url=LINK,
            )
        )
