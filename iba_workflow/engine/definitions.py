"""Definition versions in the store: an enrollment is pinned to the version (and content
hash) it started under, and is always re-planned with exactly that version."""

from __future__ import annotations

from sqlmodel import Session, select

from iba_workflow.definition import Definition, content_hash
from iba_workflow.errors import InvalidInput, NotFound
from iba_workflow.store.tables import DefinitionVersionRow

from .context import EngineContext

_parsed: dict[str, Definition] = {}


def register_definition(session: Session, ctx: EngineContext, d: Definition) -> str:
    """Store ``d`` if its version is new; the content hash if all is well.

    The same version with other content is refused: a changed definition needs a new
    version number, or running enrollments would silently change under their feet.
    """
    digest = content_hash(d)
    row = session.exec(
        select(DefinitionVersionRow).where(
            DefinitionVersionRow.definition_id == d.id, DefinitionVersionRow.version == d.version
        )
    ).first()
    if row is None:
        session.add(
            DefinitionVersionRow(
                definition_id=d.id,
                version=d.version,
                content_hash=digest,
                body=d.model_dump(mode="json"),
                deployed_at=ctx.now(),
            )
        )
        session.flush()
    elif row.content_hash != digest:
        raise InvalidInput(
            f"version {d.version} of '{d.id}' is already in use with other content",
            hint="give the changed definition a new version number",
        )
    _parsed[digest] = d
    return digest


def stored_definition(session: Session, definition_id: str, version: int) -> Definition:
    row = session.exec(
        select(DefinitionVersionRow).where(
            DefinitionVersionRow.definition_id == definition_id,
            DefinitionVersionRow.version == version,
        )
    ).first()
    if row is None:
        raise NotFound(f"version {version} of '{definition_id}' is not in the store")
    cached = _parsed.get(row.content_hash)
    if cached is None:
        cached = Definition.model_validate(row.body)
        _parsed[row.content_hash] = cached
    return cached
