"""``iba apikey``: API keys for ``/api/*`` (create shows the key once; only its hash is
stored), list, revoke."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from iba_workflow.errors import IbaError

from .app import app, fail

out = Console(highlight=False, soft_wrap=True)
apikey_app = typer.Typer(
    help="API keys for /api/* (Authorization: Bearer …).", no_args_is_help=True
)
app.add_typer(apikey_app, name="apikey")


def _local(value: object) -> str:
    from iba_workflow.clock import COPENHAGEN

    if value is None:
        return "-"
    return f"{value.astimezone(COPENHAGEN):%Y-%m-%d %H:%M}"  # type: ignore[attr-defined]


@apikey_app.command("create")
def create(
    scope: Annotated[list[str], typer.Option(help="What the key may do, e.g. visitations:write.")],
    name: Annotated[str, typer.Option(help="What the key is for (shown in the list).")] = "api",
) -> None:
    """Create a key. It is shown once: store it where the caller keeps secrets."""
    from iba_workflow.identity.apikeys import create_api_key

    from .common import store_session

    try:
        with store_session() as (session, ctx):
            created = create_api_key(
                session, name=name, scopes=scope, now=ctx.now(), created_by="cli"
            )
            session.commit()
    except IbaError as exc:
        fail(exc)
        return
    out.print(f"API key {created.key_id} ({name}, {', '.join(sorted(set(scope)))}):")
    print(created.key)  # plain, on its own line, for copying; never logged
    out.print("Shown once; only a hash is stored. Send it as: Authorization: Bearer <key>")


@apikey_app.command("list")
def list_keys() -> None:
    """Every key: id, its first characters, name, scopes, created, last used, revoked."""
    from iba_workflow.identity.apikeys import list_api_keys

    from .common import store_session

    try:
        with store_session() as (session, _ctx):
            rows = list_api_keys(session)
    except IbaError as exc:
        fail(exc)
        return
    table = Table("id", "key", "name", "scopes", "created", "last used", "revoked")
    for r in rows:
        table.add_row(
            str(r.id), f"{r.label}…", r.name, " ".join(r.scopes), _local(r.created_at),
            _local(r.last_used_at), _local(r.revoked_at),
        )  # fmt: skip
    out.print(table if rows else "no API keys yet: iba apikey create --scope visitations:write")


@apikey_app.command("revoke")
def revoke(key_id: Annotated[int, typer.Argument(help="The key's id (iba apikey list).")]) -> None:
    """Revoke a key: it stops working at once."""
    from iba_workflow.identity.apikeys import revoke_api_key

    from .common import store_session

    try:
        with store_session() as (session, ctx):
            row = revoke_api_key(session, key_id, now=ctx.now(), by="cli")
            session.commit()
    except IbaError as exc:
        fail(exc)
        return
    out.print(f"API key {row.id} ({row.name}) revoked at {_local(row.revoked_at)}")
