"""Canary personal data planted in every free text of a definition never reaches a sent mail:
not the subject, a body, a header or the .ics attachment; personal data in a field the
mail code takes is refused. (Identity data in the store, through the dispatcher: see
tests/dispatch/test_dispatch.py::test_canaries_never_reach_a_sent_mail.)"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re

import pytest

from iba_workflow import paths
from iba_workflow.definition import parse_definition
from iba_workflow.errors import MailError
from iba_workflow.mail import MailRenderer, StepMail, StepRef
from iba_workflow.mail.invitations import Invitation, request_attachment
from iba_workflow.mail.message import build_message
from iba_workflow.mail.render import role_names
from iba_workflow.mail.smtp import SmtpConfig, send_message

CPR = "010203-4567"
NAME = "Fatima Kanarie"
CANARIES = (CPR, CPR.replace("-", ""), NAME, NAME.upper(), "Kanarie")


def planted_fagmentor():
    """Fagmentor with the canaries in every free text a definition has."""
    text = (paths.definitions_dir() / "fagmentor.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(\s+description: )(?![>|])", rf"\g<1>{NAME} {CPR} ", text)
    text = re.sub(r'(?m)^(\s+seed_ref: ")', rf"\g<1>{NAME} {CPR} ", text)
    text = re.sub(r"(?m)^(\s+text: )", rf"\g<1>{NAME} {CPR} ", text)
    assert text.count(CPR) >= 8
    return parse_definition(text, file="fagmentor.yaml", known_templates=paths.known_templates())


def every_string_in(raw: bytes) -> str:
    """The raw message, and every header and part decoded, as one string."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    out = [raw.decode("utf-8", errors="replace")]
    for part in msg.walk():
        out.extend(f"{k}: {v}" for k, v in part.items())
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            decoded = payload.decode("utf-8", errors="replace")
            out.append(decoded)
            out.append(decoded.replace("\r\n ", "").replace("\n ", ""))  # unfolded .ics
    return "\n".join(out)


def test_the_scan_finds_a_canary_in_every_hiding_place() -> None:
    """The scan below would find a leak: in a base64 body, a folded .ics line, a header."""
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["Subject"] = "Møde"
    msg["X-Note"] = NAME
    msg.set_content(f"Borger {CPR}", charset="utf-8", cte="base64")
    msg.add_attachment(
        f"DESCRIPTION:{CPR[:4]}\r\n {CPR[4:]}\r\n".encode(), maintype="text", subtype="calendar"
    )
    found = every_string_in(bytes(msg))
    assert NAME in found and found.count(CPR) >= 2


async def test_canaries_in_the_definition_never_reach_a_mail(
    smtp_server, renderer: MailRenderer, clock, plan_of
) -> None:
    controller, handler = smtp_server
    d = planted_fagmentor()
    plan = plan_of(d)
    names = role_names(d.roles)
    reference = "F-7Q2K"  # the engine's opaque reference: all a mail knows of the citizen
    config = SmtpConfig(host="127.0.0.1", port=controller.port)
    sent = 0
    for n, step in enumerate(plan.steps):
        ref = StepRef.from_planned(step, role_names=names)
        for template in (step.template or "ny_opgave", "paamindelse", "eskalering", "aendring"):
            mail = StepMail(
                template=template,
                intervention=d.name,
                step=ref,
                enrollment_ref=reference,
                recipient_role=names[step.assignee],
                link_url="http://x/l/t",
                previous=ref if template == "aendring" else None,
                assignee_role=names[step.assignee],
                today=step.date,
            )
            calendar = None
            if step.time is not None:
                inv = Invitation(
                    step_instance_id=f"si-{n}",
                    sequence=0,
                    intervention=d.name,
                    step=ref,
                    enrollment_ref=reference,
                    organizer="iba@hedensted.dk",
                    attendees=("m@hedensted.dk",),
                )
                calendar = request_attachment(inv, stamp=clock.now())
            msg = build_message(
                outbox_id=f"{n}-{template}",
                rendered=renderer.render(mail),
                sender="iba-workflow <noreply@example.org>",
                to=["m@hedensted.dk"],
                clock=clock,
                calendar=calendar,
            )
            await send_message(msg, config=config)
            sent += 1
    assert len(handler.received) == sent > 40
    assert any(b"text/calendar" in r.data for r in handler.received)
    for received in handler.received:
        everything = every_string_in(received.data)
        for canary in CANARIES:
            assert canary not in everything


@pytest.mark.parametrize("where", ["place", "name", "attendee_role", "enrollment_ref"])
def test_a_cpr_planted_in_a_field_is_refused_not_sent(renderer: MailRenderer, where: str):
    fields = {"place": "Virksomheden", "name": "Opstartsmøde", "attendee_role": "IBA"}
    ref = "F-1"
    if where == "enrollment_ref":
        ref = CPR
    else:
        fields[where] = f"{NAME} {CPR}"
    with pytest.raises(MailError):
        step = StepRef(
            key="k",
            name=fields["name"],
            kind="meeting",
            date=dt.date(2027, 3, 1),
            time=dt.time(10),
            place=fields["place"],
            attendee_roles=(fields["attendee_role"],),
        )
        renderer.render(
            StepMail(
                template="moedeindkaldelse",
                intervention="HOP",
                step=step,
                enrollment_ref=ref,
                recipient_role="IBA",
                link_url="http://x/l/t",
            )
        )


def test_a_name_is_refused_as_an_enrollment_reference_or_attendee() -> None:
    step = StepRef(key="k", name="Møde", kind="meeting", date=dt.date(2027, 3, 1))
    with pytest.raises(MailError):
        StepMail(
            template="ny_opgave",
            intervention="HOP",
            step=step,
            enrollment_ref=NAME,
            recipient_role="IBA",
            link_url="http://x/l/t",
        )
    with pytest.raises(MailError):
        Invitation(
            step_instance_id=1,
            sequence=0,
            intervention="HOP",
            step=step,
            enrollment_ref="F-1",
            organizer="iba@hedensted.dk",
            attendees=(f"{NAME} <f@hedensted.dk>",),
        )


def test_a_cpr_in_a_calendar_attachment_is_refused(renderer: MailRenderer, clock) -> None:
    from iba_workflow.mail.invitations import CalendarAttachment

    step = StepRef(key="k", name="Møde", kind="meeting", date=dt.date(2027, 3, 1))
    rendered = renderer.render(
        StepMail(
            template="ny_opgave",
            intervention="HOP",
            step=step,
            enrollment_ref="F-1",
            recipient_role="IBA",
            link_url="http://x/l/t",
        )
    )
    folded = b"BEGIN:VCALENDAR\r\nDESCRIPTION:0102\r\n 03-4567\r\nEND:VCALENDAR\r\n"
    with pytest.raises(MailError):
        build_message(
            outbox_id=1,
            rendered=rendered,
            sender="noreply@example.org",
            to=["a@hedensted.dk"],
            clock=clock,
            calendar=CalendarAttachment("REQUEST", folded),
        )
