"""Demo staff for ``iba up``: one fictional person per role of every definition, per
municipality, with an ``example.org`` address; each municipality's IBA coordinates its
interventions (she signs in at ``/log-ind`` and sees them). Loading is idempotent (by
e-mail)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from iba_workflow.definition import Definition
from iba_workflow.engine import EngineContext, add_staff
from iba_workflow.store.tables import StaffRow
from iba_workflow.store.work import unit_of_work

# Fictional names only (no real person is meant).
FIRST_NAMES = (
    "Birthe", "Karsten", "Lone", "Mads", "Sanne", "Jesper", "Hanne", "Rasmus", "Pia",
    "Troels", "Mette", "Anders", "Ulla", "Kim", "Dorte", "Bo", "Vibeke", "Henrik",
)  # fmt: skip
SURNAMES = ("Eksempel", "Prøvesen", "Demosen", "Fiktivsen", "Opdigtet", "Testrup")
#: The demo person of this role coordinates her municipality's interventions (if any
#: definition there has the role; see :func:`coordinator_roles`).
COORDINATOR_ROLE = "iba"


@dataclass(frozen=True)
class DemoStaff:
    name: str
    email: str
    role: str
    municipality: str


def demo_staff(definitions: Mapping[str, Definition]) -> list[DemoStaff]:
    """One person per (municipality, role id), in a stable order."""
    seen: list[tuple[str, str]] = []
    for d in sorted(definitions.values(), key=lambda d: d.id):
        for role in d.roles:
            key = (d.municipality, role.id)
            if key not in seen:
                seen.append(key)
    people = []
    for n, (municipality, role_id) in enumerate(seen):
        first = FIRST_NAMES[n % len(FIRST_NAMES)]
        last = SURNAMES[(n // len(FIRST_NAMES) + n) % len(SURNAMES)]
        email = f"{role_id.replace('_', '-')}.{municipality}@example.org"
        people.append(DemoStaff(f"{first} {last}", email, role_id, municipality))
    return people


def load_demo_staff(
    open_session: Callable[[], Any],
    ctx: EngineContext,
    definitions: Mapping[str, Definition],
) -> int:
    """Add the demo staff not yet in the store; return how many were added."""
    added = 0
    with unit_of_work(open_session) as session:
        assert isinstance(session, Session)
        have = set(session.exec(select(StaffRow.email)).all())
        for person in demo_staff(definitions):
            if person.email in have:
                continue
            add_staff(
                session,
                ctx,
                name=person.name,
                email=person.email,
                roles=[person.role],
                municipality=person.municipality,
            )
            added += 1
        _coordinate(session, ctx, definitions)
        session.commit()
    return added


def coordinator_roles(definitions: Mapping[str, Definition]) -> dict[str, str]:
    """Per municipality, the role whose demo person coordinates its interventions: the
    IBA where a definition has one, else the first role of its first definition (Rebild:
    the job consultant)."""
    found: dict[str, str] = {}
    for d in sorted(definitions.values(), key=lambda d: d.id):
        ids = [r.id for r in d.roles]
        if COORDINATOR_ROLE in ids:
            found[d.municipality] = COORDINATOR_ROLE
        elif ids:
            found.setdefault(d.municipality, ids[0])
    return found


def demo_coordinator(definitions: Mapping[str, Definition], municipality: str) -> str | None:
    """The address of the demo person who coordinates ``municipality``'s interventions."""
    role = coordinator_roles(definitions).get(municipality)
    for person in demo_staff(definitions):
        if person.role == role and person.municipality == municipality:
            return person.email
    return None


def _coordinate(
    session: Session, ctx: EngineContext, definitions: Mapping[str, Definition]
) -> None:
    """Each municipality's demo coordinator coordinates every intervention there."""
    from iba_workflow.identity.staff import add_coordinates

    roles = coordinator_roles(definitions)
    for person in demo_staff(definitions):
        if roles.get(person.municipality) != person.role:
            continue
        row = session.exec(select(StaffRow).where(StaffRow.email == person.email)).first()
        if row is None or row.id is None:
            continue
        ids = [d.id for d in definitions.values() if d.municipality == person.municipality]
        add_coordinates(session, row.id, sorted(ids), now=ctx.now(), actor=ctx.actor)
