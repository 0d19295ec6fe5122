"""The dev mailbox over real sockets: SMTP in, JSON and web page out over HTTP."""

from __future__ import annotations

import asyncio
import datetime as dt
from email.message import EmailMessage

import httpx
import pytest

from iba_workflow.clock import FixedClock
from iba_workflow.errors import MailError
from iba_workflow.mail import MailRenderer, StepMail, StepRef
from iba_workflow.mail.message import build_message
from iba_workflow.mail.smtp import SmtpConfig, send_message
from iba_workflow.mailbox import MessageStore, run_mailbox, running_mailbox
from iba_workflow.mailbox.web import linkify, preview_document

LINK = "http://127.0.0.1:8000/l/" + "T" * 43


def a_mail(renderer: MailRenderer, clock: FixedClock, outbox_id: int = 1) -> EmailMessage:
    step = StepRef(key="rekruttering", name="Rekruttering", kind="task", date=dt.date(2027, 3, 8))
    rendered = renderer.render(
        StepMail(
            template="ny_opgave",
            intervention="Fagmentor",
            step=step,
            enrollment_ref="F-7Q2K",
            recipient_role="Virksomhedskonsulent",
            link_url=LINK,
        )
    )
    return build_message(
        outbox_id=outbox_id,
        rendered=rendered,
        sender="noreply@example.org",
        to=["vk@hedensted.dk"],
        clock=clock,
    )


async def test_smtp_in_json_and_page_out(renderer, clock, templates_dir) -> None:
    async with running_mailbox(
        smtp_port=0, http_port=0, templates_dir=templates_dir, clock=clock
    ) as mailbox:
        config = SmtpConfig(host="127.0.0.1", port=mailbox.smtp_port)
        await send_message(a_mail(renderer, clock), config=config)
        async with httpx.AsyncClient(base_url=mailbox.http_url, timeout=5) as client:
            data = (await client.get("/api/messages")).json()
            assert data["total"] == 1
            m = data["messages"][0]
            assert m["subject"].startswith("Ny opgave: Rekruttering · Fagmentor")
            assert m["to"] == "vk@hedensted.dk" and m["envelope_to"] == ["vk@hedensted.dk"]
            assert m["message_id"] == "<outbox-1@iba-workflow.local>"
            assert m["links"] == [LINK]
            assert "Rekruttering" in m["text"] and "<!DOCTYPE html>" in m["html"]
            assert m["received_at"] == clock.now().isoformat()

            index = await client.get("/")
            assert index.status_code == 200 and 'lang="da"' in index.text
            assert "Ny opgave: Rekruttering" in index.text and f'href="/m/{m["id"]}"' in index.text
            # received 07:30 UTC: listed in Copenhagen time, as the mails say (+01:00)
            assert "22.02.2027 08:30:00 (+01:00)" in index.text and "07:30:00" not in index.text

            page = await client.get(f"/m/{m['id']}")
            assert page.status_code == 200
            assert f'<a href="{LINK}"' in page.text  # the link is clickable
            assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page.text
            assert "<!DOCTYPE html>" not in page.text.split("srcdoc=")[1][:200]  # escaped

            raw = await client.get(f"/m/{m['id']}/raw")
            assert "Message-ID: <outbox-1@iba-workflow.local>" in raw.text
            assert (await client.get("/m/999")).status_code == 404
            assert (await client.get("/api/messages/999")).status_code == 404

            assert (await client.delete("/api/messages")).json() == {"total": 0}
            assert (await client.get("/api/messages")).json()["total"] == 0


async def test_run_mailbox_stops_cleanly_on_cancel(templates_dir, unused_port) -> None:
    task = asyncio.create_task(
        run_mailbox(smtp_port=unused_port, http_port=0, templates_dir=templates_dir)
    )
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", unused_port)
            writer.close()
            break
        except OSError:
            await asyncio.sleep(0.02)
    else:
        pytest.fail("the mailbox never listened")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", unused_port)


async def test_port_in_use_is_a_sentence_not_a_traceback(templates_dir) -> None:
    async with running_mailbox(smtp_port=0, http_port=0, templates_dir=templates_dir) as first:
        with pytest.raises(MailError, match="cannot receive mail"):
            async with running_mailbox(
                smtp_port=first.smtp_port, http_port=0, templates_dir=templates_dir
            ):
                pass
        with pytest.raises(MailError, match="web page"):
            async with running_mailbox(
                smtp_port=0, http_port=first.http_port, templates_dir=templates_dir
            ):
                pass


def test_store_is_bounded_and_ids_are_not_reused(renderer, clock) -> None:
    store = MessageStore(clock=clock, limit=3)
    for n in range(5):
        store.add(
            a_mail(renderer, clock, outbox_id=n).as_bytes(),
            envelope_from="a@b.dk",
            envelope_to=["c@d.dk"],
        )
    assert len(store) == 3
    assert [m.id for m in store.all()] == [5, 4, 3]
    assert store.get(1) is None and store.get(5) is not None


def test_linkify_escapes_and_preview_keeps_links_outside_the_frame() -> None:
    html = str(linkify("<b>x</b> see https://a.dk/l/1?x=1&y=2 now"))
    assert "&lt;b&gt;" in html
    assert '<a href="https://a.dk/l/1?x=1&amp;y=2"' in html
    assert '<base target="_blank">' in preview_document("<html><head></head></html>")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.2", "mailbox.example.org"])
async def test_mailbox_refuses_a_non_loopback_address(templates_dir, host: str) -> None:  # type: ignore[no-untyped-def]
    """It shows every mail, links included, to whoever reaches it: loopback only."""
    with pytest.raises(MailError, match="listens only on loopback") as caught:
        async with running_mailbox(
            host=host, smtp_port=0, http_port=0, templates_dir=templates_dir
        ):
            pass
    assert caught.value.hint and "--allow-remote" in caught.value.hint


async def test_mailbox_binds_elsewhere_only_when_told(templates_dir) -> None:  # type: ignore[no-untyped-def]
    async with running_mailbox(
        host="0.0.0.0", smtp_port=0, http_port=0, templates_dir=templates_dir, allow_remote=True
    ) as box:
        reader, writer = await asyncio.open_connection("127.0.0.1", box.smtp_port)
        assert (await reader.readline()).startswith(b"220")
        writer.close()
    for host in ("127.0.0.1", "localhost", "::1"):
        async with running_mailbox(
            host=host, smtp_port=0, http_port=0, templates_dir=templates_dir
        ):
            pass


def test_iba_mailbox_says_why_it_refuses() -> None:
    from typer.testing import CliRunner

    from iba_workflow.cli.app import app

    result = CliRunner().invoke(app, ["mailbox", "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "listens only on loopback" in result.output and "--allow-remote" in result.output
    assert "Traceback" not in result.output
