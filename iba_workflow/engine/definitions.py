"""Definition versions in the store: an enrollment is pinned to the version (and content
hash) it started under, and is always re-planned with exactly that version."""

from __future__ import annotations

import weakref

from sqlmodel import Session, select

from iba_workflow.definition import Definition, content_hash
from iba_workflow.errors import InvalidInput, NotFound
from iba_workflow.store.tables import DefinitionVersionRow, EnrollmentRow

from .context import EngineContext

#: content hash → the definition with that content, parsed (or registered) once per
#: process. A hash names one content, whatever database it was read from.
_parsed: dict[str, Definition] = {}
_anchored: dict[int, frozenset[str]] = {}


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
    # The hash first: the body (the whole definition as JSON) is read and decoded only
    # when this process has not parsed that content yet.
    where = (
        DefinitionVersionRow.definition_id == definition_id,
        DefinitionVersionRow.version == version,
    )
    content = session.exec(select(DefinitionVersionRow.content_hash).where(*where)).first()
    if content is None:
        raise NotFound(f"version {version} of '{definition_id}' is not in the store")
    cached = _parsed.get(content)
    if cached is None:
        body = session.exec(select(DefinitionVersionRow.body).where(*where)).one()
        cached = Definition.model_validate(body)
        _parsed[content] = cached
    return cached


def definition_of(session: Session, enrollment: EnrollmentRow) -> Definition:
    """The definition version ``enrollment`` is pinned to, without a query when this
    process has seen its content.

    A stored version never changes: :func:`register_definition` refuses other content
    under a version in use, and nothing updates or deletes ``definition_version`` rows.
    An enrollment carries the content hash of its version (written with the version at
    the visitation and by ``engine.migrate``), and :data:`_parsed` holds a definition
    under the hash of its own content; so the definition found under the enrollment's
    hash (with its id and version) is the stored one, in any session, database or
    process. Otherwise the row is read (:func:`stored_definition`)."""
    found = _parsed.get(enrollment.content_hash)
    if (
        found is not None
        and found.id == enrollment.definition_id
        and found.version == enrollment.definition_version
    ):
        return found
    return stored_definition(session, enrollment.definition_id, enrollment.definition_version)


def anchored_on_completion(d: Definition) -> frozenset[str]:
    """The steps whose completion some date in the plan follows (``completion.<step>``
    as a step's anchor or its repeat's start or end): completing any other step without
    an outcome cannot change the plan. Once per definition object."""
    key = id(d)
    found = _anchored.get(key)
    if found is None:
        ids: set[str] = set()
        for s in d.steps:
            anchors = [s.when.anchor] if s.when is not None else []
            if s.repeat is not None:
                anchors += [b.anchor for b in (s.repeat.start, s.repeat.until) if b is not None]
            ids.update(
                a.removeprefix("completion.") for a in anchors if a.startswith("completion.")
            )
        found = _anchored[key] = frozenset(ids)
        weakref.finalize(d, _anchored.pop, key, None)
    return found
