"""The schedule as a coordinator uses it, through ``iba schedule``: fixed days typed in and
imported from .ics, the week solved, saved and printed, a changed fixed day showing what
moved, a feed read over real HTTP and revoked, and a meeting booked with invitations
received by a real SMTP server."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from dispatch.world import SmtpServer, free_port
from typer.testing import CliRunner

from iba_workflow import paths
from iba_workflow.cli.app import app
from iba_workflow.definition import load_definition
from iba_workflow.schedule.grid import TZ

DATA = Path(__file__).parent / "data"


@pytest.fixture
def iba(monkeypatch: pytest.MonkeyPatch, store_url: str) -> Any:
    monkeypatch.setenv("IBA_DATABASE_URL", store_url)
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> str:
        result = runner.invoke(app, list(args))
        assert "Traceback" not in result.output
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    return run


HOP_CRITERIA = [
    c.id for c in load_definition(paths.definitions_dir() / "hop.yaml").eligibility if not c.health
]


def _setup(iba: Any) -> None:
    iba("db", "upgrade")
    iba(
        "staff",
        "add",
        "--name",
        "Ida",
        "--email",
        "ida@jc.example",
        "--role",
        "iba",
        "--role",
        "beskaeftigelsesraadgiver",
    )
    for ref in ("HOP-A", "HOP-B", "HOP-C"):
        iba("citizen", "add", ref)
        iba(
            "visit",
            "hop",
            "--citizen",
            ref,
            "--accept",
            "--start",
            "2027-03-01",
            *(a for c in HOP_CRITERIA for a in ("--answer", f"{c}=ja")),
        )
    iba("schedule", "hours", "ida@jc.example", "--days", "man-fre", "--time", "08:00-16:00")
    for day in ("tirsdag", "torsdag"):
        iba(
            "schedule",
            "commitment",
            "add",
            "HOP-A",
            "--label",
            "sprogskole",
            "--weekday",
            day,
            "--time",
            "08:30-14:30",
            "--counts",
        )


def _session_day(store_url: str, item: str) -> str:
    from sqlmodel import Session, select

    from iba_workflow.schedule.tables import PlacementRow
    from iba_workflow.store import make_engine

    engine = make_engine(store_url)
    with Session(engine) as s:
        sessions = s.exec(select(PlacementRow).where(PlacementRow.kind == "session")).all()
        row = next((r for r in sessions if r.key.endswith("/" + item)), None)
        assert row is not None
        day = row.start.astimezone(TZ).date().isoformat()
    engine.dispose()
    return day


def _attendance(store_url: str) -> list[tuple[str, bool, str | None]]:
    from sqlmodel import Session, select

    from iba_workflow.store import make_engine
    from iba_workflow.store import tables as t

    engine = make_engine(store_url)
    with Session(engine) as s:
        rows = s.exec(
            select(t.CitizenRow.ref, t.AttendanceRow.present, t.AttendanceRow.reason)
            .join(t.EnrollmentRow, t.EnrollmentRow.id == t.AttendanceRow.enrollment_id)
            .join(t.CitizenRow, t.CitizenRow.id == t.EnrollmentRow.citizen_id)
            .order_by(t.CitizenRow.ref)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_fixed_days_week_solved_saved_printed_and_what_moved(
    iba: Any, tmp_path: Path, store_url: str
) -> None:
    _setup(iba)
    out = iba(
        "schedule",
        "commitment",
        "import",
        str(DATA / "sprogskole.ics"),
        "--citizen",
        "HOP-B",
        "--counts",
    )
    assert "imported: 4 new" in out
    out = iba(
        "schedule",
        "commitment",
        "import",
        str(DATA / "sprogskole.ics"),
        "--citizen",
        "HOP-B",
        "--counts",
    )
    assert "0 new, 0 changed, 4 unchanged" in out  # importing again changes nothing
    listed = iba("schedule", "commitment", "list", "HOP-B")
    assert "Sprogskole tirsdag 08:30–14:30 2027-03-02–2027-05-31" in listed

    out = iba(
        "schedule",
        "week",
        "hop",
        "--week",
        "2027-03-03",
        "--save",
        "--html",
        str(tmp_path / "html"),
        "--no-calendars",
    )
    assert "uge 9 (2027-03-01)" in out
    for ref in ("HOP-A", "HOP-B"):
        assert re.search(rf"✓ {ref}\s+25 t af 25 t", out), out
    # HOP-C has no language school on file: 23 hours of teaching in 4-hour blocks, one a
    # day, cannot fit in 5 days, and the reason says so.
    assert re.search(r"! HOP-C\s+22 t af 25 t", out), out
    assert "højst én blok om dagen" in out
    page = (tmp_path / "html" / "HOP-A-2027-03-01.html").read_text(encoding="utf-8")
    assert "Ugeskema · Uge 9" in page and "Tirsdag 2/3" in page and "sprogskole" in page
    assert "Timer i ugen: <strong>25 t</strong>" in page

    # The group's week (every 4th): the definition's group steps are held once for all
    # three; attendance is recorded per woman.
    out = iba("schedule", "week", "hop", "--week", "2027-03-22", "--save", "--no-calendars")
    assert "uge 12 (2027-03-22)" in out
    day = _session_day(store_url, "virksomhedsoplaeg")
    out = iba(
        "schedule", "attendance", "hop", "virksomhedsoplaeg", "--day", day, "--absent", "HOP-B=syg"
    )
    assert "attendance: 2 present, 1 absent" in out
    assert _attendance(store_url) == [
        ("HOP-A", True, None),
        ("HOP-B", False, "syg"),
        ("HOP-C", True, None),
    ]
    out = iba(
        "schedule",
        "attendance",
        "hop",
        "virksomhedsoplaeg",
        "--day",
        day,
        "--absent",
        "HOP-X=syg",
        ok=False,
    )
    assert "HOP-X was not in the session" in out

    # HOP-A's language school moves from Tuesday to Wednesday: re-solve shows the impact.
    ids = re.findall(
        r"^\s*(\d+)\s+sprogskole tirsdag", iba("schedule", "commitment", "list", "HOP-A"), re.M
    )
    iba("schedule", "commitment", "remove", ids[0])
    iba(
        "schedule",
        "commitment",
        "add",
        "HOP-A",
        "--label",
        "sprogskole",
        "--weekday",
        "onsdag",
        "--time",
        "08:30-14:30",
        "--counts",
    )
    out = iba("schedule", "week", "hop", "--week", "2027-03-01", "--no-calendars")
    assert "Dobbeltbookinger i det gemte skema:" in out
    assert "HOP-A er booket to gange onsdag 03.03.2027" in out  # the saved week vs new fixed day
    out = iba("schedule", "week", "hop", "--week", "2027-03-01", "--save", "--no-calendars")
    assert re.search(r"saved; [1-9]\d* changes", out)
    assert "HOP-A/" in out and "uge 9" in out


def test_feed_over_http_then_revoked(iba: Any, store_url: str) -> None:
    import uvicorn

    from iba_workflow.clock import SystemClock
    from iba_workflow.settings import Settings
    from iba_workflow.store import make_engine, session_factory
    from iba_workflow.web import create_app

    _setup(iba)
    # a week of the group's (every 4th): the definition's group steps are held in it
    iba("schedule", "week", "hop", "--week", "2027-03-22", "--save", "--no-calendars")
    out = iba("schedule", "feed", "create", "HOP-A")
    url_path = re.search(r"(/kalender/[A-Za-z0-9_-]+\.ics)", out).group(1)  # type: ignore[union-attr]
    feed_id = re.search(r"feed (\d+):", out).group(1)  # type: ignore[union-attr]

    port = free_port()
    engine = make_engine(store_url)
    web = create_app(
        Settings(database_url=store_url, data_dir=os.getcwd()),
        session_factory(engine),
        SystemClock(),
    )
    server = uvicorn.Server(
        uvicorn.Config(web, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    import threading

    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.02)
        base = f"http://127.0.0.1:{port}"
        r = httpx.get(base + url_path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
        body = r.text
        assert "SUMMARY:Praktisk undervisning" in body and "SUMMARY:sprogskole" in body
        assert "RRULE:FREQ=WEEKLY;BYDAY=TU" in body
        assert url_path.split("/")[-1].removesuffix(".ics") not in body  # no token inside
        assert "HOP-B" not in body and "HOP-C" not in body  # only her own week
        assert httpx.get(base + "/kalender/" + "x" * 43 + ".ics").status_code == 404
        staff_out = iba("schedule", "feed", "create", "--staff", "ida@jc.example")
        staff_path = re.search(r"(/kalender/[A-Za-z0-9_-]+\.ics)", staff_out).group(1)  # type: ignore[union-attr]
        staff_body = httpx.get(base + staff_path).text
        # the IBA's week: each woman's evaluation by reference, the group session once
        assert all(
            f"SUMMARY:Ugentlig evaluering · {r}" in staff_body for r in ("HOP-A", "HOP-B", "HOP-C")
        )
        assert staff_body.count("SUMMARY:Oplæg fra rengøringsvirksomheden") == 1
        iba("schedule", "feed", "revoke", feed_id)
        gone = httpx.get(base + url_path)
        assert gone.status_code == 404 and "lukket" in gone.text
    finally:
        server.should_exit = True
        thread.join(10)
        engine.dispose()


def test_meeting_proposed_booked_and_invitations_received(
    iba: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup(iba)
    iba(
        "schedule",
        "contact",
        "add",
        "1",
        "--role",
        "leder",
        "--name",
        "Lone Leder",
        "--email",
        "lone@firma.example",
        "--organisation",
        "Firma A/S",
    )
    out = iba(
        "schedule",
        "meeting",
        "propose",
        "--title",
        "Opstartsmøde",
        "--staff",
        "ida@jc.example",
        "--from",
        "2027-03-02",
        "--enrollment",
        "1",
        "--contact",
        "1",
        "--minutes",
        "60",
    )
    # HOP-A has language school on Tuesday 08:30-14:30: the first time is 14:30.
    assert "1. Tuesday 02.03.2027 kl. 14:30" in out, out
    with SmtpServer(free_port()) as smtp:
        monkeypatch.setenv("IBA_SMTP_PORT", str(smtp.port))
        out = iba("schedule", "meeting", "book", "1", "--choice", "1")
        assert "2 invitations queued in the outbox" in out
        assert smtp.mails == []  # the dispatcher sends them, with the rest of the outbox
        iba("dispatch", "--once")  # (it sends the enrollment's own notices too)
        received = [m for m in smtp.mails if "Opstartsmøde" in m.subject]
    assert sorted(r for m in received for r in m.rcpt_tos) == [
        "ida@jc.example",
        "lone@firma.example",
    ]
    for m in received:
        parts = [p for p in m.message.walk() if not p.is_multipart()]
        texts = [p.get_content() for p in parts]
        texts = [t.decode() if isinstance(t, bytes) else t for t in texts]
        assert any(p.get_content_type() == "text/calendar" for p in parts)
        for text in [*texts, m.subject]:
            assert "HOP-A" not in text and "Lone" not in text  # no citizen detail, no names
    out = iba("schedule", "meeting", "book", "1", ok=False)
    assert "is booked, not proposed" in out

    # It moves: the same event (UID) with a higher SEQUENCE; then it is cancelled.
    out = iba("schedule", "meeting", "move", "1", "--from", "2027-03-03")
    assert "1. Wednesday 03.03.2027" in out
    with SmtpServer(free_port()) as smtp:
        monkeypatch.setenv("IBA_SMTP_PORT", str(smtp.port))
        assert "2 invitations queued" in iba("schedule", "meeting", "book", "1")
        iba("dispatch", "--once")
        assert "2 cancellations queued" in iba("schedule", "meeting", "cancel", "1")
        iba("dispatch", "--once")
        later = [m for m in smtp.mails if "Opstartsmøde" in m.subject]
    events = [_event(m) for m in later]
    assert {m.subject for m in later} == {"Flyttet: Opstartsmøde", "Aflyst: Opstartsmøde"}
    first_uid = _event(received[0])["UID"]
    assert {e["UID"] for e in events} == {first_uid}
    assert sorted((int(e["SEQUENCE"]), str(e["STATUS"])) for e in events) == [
        (1, "CONFIRMED"),
        (1, "CONFIRMED"),
        (2, "CANCELLED"),
        (2, "CANCELLED"),
    ]
    assert "cancelled" in iba("schedule", "meeting", "list")


def _event(mail: Any) -> Any:
    import icalendar

    for part in mail.message.walk():
        if part.get_content_type() == "text/calendar":
            return icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
    raise AssertionError("no .ics")


def test_bad_input_is_a_sentence_and_nothing_is_written(iba: Any, tmp_path: Path) -> None:
    _setup(iba)
    before = iba("schedule", "commitment", "list", "HOP-A")
    broken = tmp_path / "broken.ics"
    broken.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:ok-1\r\n"
        "DTSTART;TZID=Europe/Copenhagen:20270302T083000\r\n"
        "DTEND;TZID=Europe/Copenhagen:20270302T143000\r\nSUMMARY:sprogskole\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:bad-1\r\nDTSTART:garbage\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    cases = [
        (
            ["schedule", "commitment", "import", str(broken), "--citizen", "HOP-A"],
            "error: event bad-1 has no readable start or end",
        ),
        (
            [
                "schedule",
                "commitment",
                "add",
                "HOP-A",
                "--label",
                "x",
                "--weekday",
                "fredag",
                "--time",
                "14:00-09:00",
            ],
            "ends before it starts",
        ),
        (
            [
                "schedule",
                "commitment",
                "add",
                "HOP-A",
                "--label",
                "x",
                "--weekday",
                "blabla",
                "--time",
                "09:00-10:00",
            ],
            "unknown weekday 'blabla'",
        ),
        (
            [
                "schedule",
                "commitment",
                "add",
                "HOP-Z",
                "--label",
                "x",
                "--weekday",
                "fredag",
                "--time",
                "09:00-10:00",
            ],
            "no citizen with reference 'HOP-Z'",
        ),
        (["schedule", "week", "fagmentor", "--week", "2027-03-01"], "no week shape for fagmentor"),
        (["schedule", "week", "hop", "--week", "2026-01-05"], "nobody is enrolled in hop"),
        (
            [
                "schedule",
                "contact",
                "add",
                "1",
                "--role",
                "leder",
                "--name",
                "X",
                "--email",
                "X <x@y.dk>",
            ],
            "not an e-mail address",
        ),
        (["schedule", "meeting", "book", "99"], "no meeting 99"),
    ]
    for args, message in cases:
        out = iba(*args, ok=False)
        assert re.search(message, out), (args, out)
        assert "hint:" in out or "error:" in out
    # the half-good file was refused whole: nothing of it is on file
    assert iba("schedule", "commitment", "list", "HOP-A") == before
