"""Signing in over real HTTP, as a browser would: the form, the mail at aiosmtpd, the
link's page, its button."""

from __future__ import annotations

import re

import httpx
from dispatch.world import Mail, SmtpServer, World

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
SIGN_IN_LINK = re.compile(r"https?://[^/\s]+/log-ind/([A-Za-z0-9_-]{43})")


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in_token(mail: Mail) -> str:
    found = SIGN_IN_LINK.search(mail.text)
    assert found, "no sign-in link in the mail"
    return found.group(1)


def ask_for_link(client: httpx.Client, smtp: SmtpServer, address: str) -> str:
    """The sign-in form posted for ``address``; the token of the mail that arrives."""
    before = len(smtp.mails)
    form = client.get("/log-ind")
    assert form.status_code == 200
    sent = client.post(
        "/log-ind", data={"email": address, "csrf": csrf_of(form.text)}, follow_redirects=True
    )
    assert sent.status_code == 200 and "Tjek din mail" in sent.text, sent.text
    mail = smtp.wait_for(lambda m: address.lower() in m.rcpt_tos and m in smtp.mails[before:])
    assert "logge ind" in mail.subject.lower()
    return sign_in_token(mail)


def follow_link(client: httpx.Client, token: str) -> httpx.Response:
    page = client.get(f"/log-ind/{token}")
    assert page.status_code == 200, page.text
    return client.post(f"/log-ind/{token}", data={"csrf": csrf_of(page.text)})


def sign_in(client: httpx.Client, smtp: SmtpServer, address: str) -> httpx.Response:
    """Signed in as ``address``: the answer is Min uge."""
    landed = follow_link(client, ask_for_link(client, smtp, address))
    assert landed.status_code == 200 and "Min uge" in landed.text, landed.text
    return landed


def make_api_key(world: World, scope: str = "visitations:write") -> str:
    """An API key in the world's store (what ``iba apikey create`` does)."""
    from iba_workflow.identity.apikeys import create_api_key

    with world.session() as s:
        created = create_api_key(
            s, name="tests", scopes=[scope], now=world.clock.now(), created_by="tests"
        )
        s.commit()
    return created.key
