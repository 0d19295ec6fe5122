"""E-mail sign-in and sessions over real HTTP (uvicorn) with the real mailbox
(aiosmtpd): links that expire and are used once, an answer that never tells whether an
address is known, cookie flags, idle and absolute expiry on the app's clock, CSRF on
every form, sign-out and sign-out everywhere."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from dispatch.world import SmtpServer, World
from identity_helpers import ask_for_link, csrf_of, follow_link, sign_in, sign_in_token
from sqlalchemy import text
from sqlmodel import select

from iba_workflow.store import tables as t


def _client(web: Any) -> httpx.Client:
    return httpx.Client(base_url=web.url, timeout=10, follow_redirects=True)


def test_sign_in_by_mail_link_then_sign_out(world: World, smtp: SmtpServer, web: Any) -> None:
    iba = world.staff_email("iba")
    with _client(web) as client:
        assert client.get("/min-uge").url.path == "/log-ind"  # not signed in yet
        landed = sign_in(client, smtp, iba.upper())  # the address in any case
        assert "Integrations- Medarbejder" in landed.text
        page = client.get("/min-uge")
        assert page.status_code == 200 and "Log ud" in page.text
        out = client.post("/log-ud", data={"csrf": csrf_of(page.text)})
        assert out.url.path == "/log-ind" and "Du er logget ud" in out.text
        assert client.get("/min-uge").url.path == "/log-ind"
    mail = smtp.mails[-1]
    assert world.citizen_ref not in mail.text and "Kanarie" not in mail.text
    with world.session() as s:
        row = s.exec(select(t.OutboxRow).where(t.OutboxRow.kind == "sign_in")).one()
        assert row.status == "sent" and "@" not in repr(row.payload)


def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    world: World, smtp: SmtpServer, web: Any
) -> None:
    with _client(web) as client:
        answers = []
        for address in ("ukendt@jobcenter.test", world.staff_email("iba")):
            form = client.get("/log-ind")
            r = client.post("/log-ind", data={"email": address, "csrf": csrf_of(form.text)})
            answers.append((r.status_code, r.text))
        assert answers[0] == answers[1]
    smtp.wait_for(lambda m: world.staff_email("iba") in m.rcpt_tos)
    assert not [m for m in smtp.mails if "ukendt@jobcenter.test" in m.rcpt_tos]
    with world.session() as s:
        assert len(s.exec(select(t.OutboxRow).where(t.OutboxRow.kind == "sign_in")).all()) == 1


def test_a_sign_in_link_works_once_and_not_after_it_expired(
    world: World, smtp: SmtpServer, web: Any
) -> None:
    iba = world.staff_email("iba")
    with _client(web) as client:
        token = ask_for_link(client, smtp, iba)
        page = client.get(f"/log-ind/{token}")
        assert client.get(f"/log-ind/{token}").status_code == 200  # GET spends nothing
        first = client.post(f"/log-ind/{token}", data={"csrf": csrf_of(page.text)})
        assert "Min uge" in first.text
        again = client.post(f"/log-ind/{token}", data={"csrf": csrf_of(page.text)})
        assert again.status_code == 410 and "allerede brugt" in again.text
        assert client.get(f"/log-ind/{token}").status_code == 410

        late = ask_for_link(client, smtp, iba)
        page = client.get(f"/log-ind/{late}")
        world.clock.advance(dt.timedelta(minutes=15))
        expired = client.post(f"/log-ind/{late}", data={"csrf": csrf_of(page.text)})
        assert expired.status_code == 410 and "udløbet" in expired.text
        assert client.get("/log-ind/" + "A" * 43).status_code == 404
    with world.session() as s:
        stored = s.execute(text("SELECT token_hash FROM sign_in_token")).scalars().all()
    assert len(stored) == 2 and token not in stored and late not in stored


def test_cookie_flags_and_a_new_session_id_at_each_sign_in(
    world: World, smtp: SmtpServer, web: Any
) -> None:
    iba = world.staff_email("iba")
    with httpx.Client(base_url=web.url, timeout=10) as client:
        token = ask_for_link(client, smtp, iba)
        page = client.get(f"/log-ind/{token}")
        r = client.post(f"/log-ind/{token}", data={"csrf": csrf_of(page.text)})
        assert r.status_code == 303 and r.headers["location"] == "/min-uge"
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("iba_session=") and "HttpOnly" in cookie
        assert "SameSite=lax" in cookie and "Path=/" in cookie and "Secure" not in cookie
        first = client.cookies["iba_session"]
        second_token = ask_for_link(client, smtp, iba)
        page = client.get(f"/log-ind/{second_token}")
        client.post(f"/log-ind/{second_token}", data={"csrf": csrf_of(page.text)})
        second = client.cookies["iba_session"]
        assert second != first
    with httpx.Client(base_url=web.url, timeout=10, cookies={"iba_session": first}) as old:
        assert old.get("/min-uge").status_code == 303  # the old id was ended
    with world.session() as s:
        dump = repr(s.execute(text("SELECT * FROM staff_session")).all())
    assert first not in dump and second not in dump

    world.settings.base_url = "https://iba.example.org"  # behind https
    with httpx.Client(base_url=web.url, timeout=10) as client:
        # httpx keeps Secure cookies off plain http, so the test carries them by hand
        form = client.get("/log-ind")
        pre = form.headers["set-cookie"]
        assert pre.startswith("__Host-iba_signin=") and "Secure" in pre and "HttpOnly" in pre
        jar = {"Cookie": pre.split(";")[0]}
        client.post("/log-ind", data={"email": iba, "csrf": csrf_of(form.text)}, headers=jar)
        raw = sign_in_token(smtp.wait_for(lambda m: "https://iba.example.org/log-ind/" in m.text))
        page = client.get(f"/log-ind/{raw}", headers=jar)
        r = client.post(f"/log-ind/{raw}", data={"csrf": csrf_of(page.text)}, headers=jar)
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("__Host-iba_session=") and "Secure" in cookie
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie


def test_idle_timeout_and_absolute_lifetime_on_the_apps_clock(
    world: World, smtp: SmtpServer, web: Any
) -> None:
    iba = world.staff_email("iba")
    with _client(web) as client:
        sign_in(client, smtp, iba)
        world.clock.advance(dt.timedelta(minutes=29))
        assert client.get("/min-uge").url.path == "/min-uge"
        world.clock.advance(dt.timedelta(minutes=30))
        assert client.get("/min-uge").url.path == "/log-ind"  # idle

        sign_in(client, smtp, iba)
        for _ in range(8 * 3 - 1):  # used every 20 minutes for 7 h 40 min
            world.clock.advance(dt.timedelta(minutes=20))
            assert client.get("/min-uge").url.path == "/min-uge"
        world.clock.advance(dt.timedelta(minutes=20))
        assert client.get("/min-uge").url.path == "/log-ind"  # 8 hours after sign-in
    with world.session() as s:
        reasons = s.execute(text("SELECT ended_reason FROM staff_session ORDER BY id")).all()
    assert [r[0] for r in reasons] == ["idle", "expired"]


def test_forms_without_the_right_csrf_token_are_refused(
    world: World, smtp: SmtpServer, web: Any
) -> None:
    iba = world.staff_email("iba")
    with _client(web) as client:
        client.get("/log-ind")
        for csrf in ("", "wrong", "x" * 60):
            r = client.post("/log-ind", data={"email": iba, "csrf": csrf})
            assert r.status_code == 400 and "Formularen" in r.text
        token = ask_for_link(client, smtp, iba)
        r = client.post(f"/log-ind/{token}", data={"csrf": "forged"})
        assert r.status_code == 400
        page = client.get(f"/log-ind/{token}")
        assert page.status_code == 200, "a refused POST spent the link"
        with _client(web) as stranger:  # a form token without its cookie is no good
            r = stranger.post(f"/log-ind/{token}", data={"csrf": csrf_of(page.text)})
            assert r.status_code == 400
        follow_link(client, token)
        assert client.post("/log-ud", data={}).status_code == 400
        assert client.post("/log-ud-alle", data={"csrf": "x"}).status_code == 400
        assert client.get("/min-uge").url.path == "/min-uge"  # still signed in
    with world.session() as s:
        assert len(s.exec(select(t.OutboxRow).where(t.OutboxRow.kind == "sign_in")).all()) == 1


def test_sign_out_everywhere_ends_the_other_browsers(
    world: World, smtp: SmtpServer, web: Any
) -> None:
    iba, mentor = world.staff_email("iba"), world.staff_email("underviser")
    with _client(web) as phone, _client(web) as desk, _client(web) as other:
        sign_in(phone, smtp, iba)
        sign_in(desk, smtp, iba)
        sign_in(other, smtp, mentor)
        page = desk.get("/min-uge")
        r = desk.post("/log-ud-alle", data={"csrf": csrf_of(page.text)})
        assert r.url.path == "/log-ind"
        assert phone.get("/min-uge").url.path == "/log-ind"
        assert desk.get("/min-uge").url.path == "/log-ind"
        assert other.get("/min-uge").url.path == "/min-uge"


def test_sign_in_requests_are_limited_per_address(world: World, smtp: SmtpServer, web: Any) -> None:
    world.settings.signin_limit_per_address = 2
    with _client(web) as client:
        for n in range(3):
            form = client.get("/log-ind")
            r = client.post(
                "/log-ind", data={"email": "nogen@jobcenter.test", "csrf": csrf_of(form.text)}
            )
            assert r.status_code == (429 if n == 2 else 200)
        assert "for mange" in r.text and int(r.headers["retry-after"]) == 15 * 60
        world.clock.advance(dt.timedelta(minutes=15))
        form = client.get("/log-ind")
        r = client.post(
            "/log-ind", data={"email": "nogen@jobcenter.test", "csrf": csrf_of(form.text)}
        )
        assert r.status_code == 200


def test_parallel_uses_of_one_sign_in_link_make_one_session(
    world: World, smtp: SmtpServer, web: Any
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with httpx.Client(base_url=web.url, timeout=20) as client:
        token = ask_for_link(client, smtp, world.staff_email("iba"))
        page = client.get(f"/log-ind/{token}")
        csrf, cookies = csrf_of(page.text), dict(client.cookies)

    def use(_: int) -> int:
        with httpx.Client(base_url=web.url, timeout=20, cookies=cookies) as c:
            return c.post(f"/log-ind/{token}", data={"csrf": csrf}).status_code

    with ThreadPoolExecutor(10) as pool:
        codes = sorted(pool.map(use, range(10)))
    assert codes == [303] + [410] * 9
    with world.session() as s:
        assert s.execute(text("SELECT count(*) FROM staff_session")).scalar_one() == 1
