"""Who may do what: the one place that decides (issue 10, point 3).

:func:`decide` is a pure function of an :class:`Actor`, an :class:`Action` and a
:class:`Resource`; it reads no database and no clock, so a test walks the whole matrix.
Routes go through it by declaring one of the guards below as a dependency
(:func:`page`, :func:`api`, :func:`task_link`, :func:`public`); a test enumerates the
app's routes and fails on one without a guard. Row-level checks (this enrollment, this
citizen) call :func:`require` in the handler with the resource they are about.

The rules, in words:

- **coordinator** (a staff member with rows in ``staff_coordinates``): sees and acts on
  the enrollments of the interventions she coordinates in her municipality, may read
  the citizen's identity there (audited: :func:`read_identity`), and records visitations
  for them;
- **worker** (teacher, mentor, dietitian, …: any staff member): sees and completes her
  own tasks, and sees the minimum (opaque reference, intervention, step) of an
  enrollment she holds a task in; never the citizen's identity;
- **administrator** (role ``admin``): manages staff, definitions and API keys of her
  municipality; sees no citizen through that role, except by the audited citizen
  extract ("Indsigt", GDPR art. 15) of a citizen of her municipality;
- **API client** (a bearer credential): exactly what its scopes say
  (``visitations:write``: record a visitation and follow what became of it);
- nobody sees another municipality's citizens; anonymous callers get nothing but the
  public pages and the task links (a link is a capability for one step, for its
  addressee: a signed-in user opening someone else's link is refused).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Depends, Request

from .sessions import SignedIn, optional_staff, signed_in_staff

if TYPE_CHECKING:
    from sqlmodel import Session

    from iba_workflow.store.records import CitizenIdentity

ADMIN_ROLE = "admin"
SCOPE_VISITATIONS_WRITE = "visitations:write"
KNOWN_SCOPES = frozenset({SCOPE_VISITATIONS_WRITE})


class Action(enum.StrEnum):
    VIEW = "view"
    ACT = "act"  # complete, change, decide
    VIEW_IDENTITY = "view_identity"  # name, CPR, contact
    MANAGE = "manage"  # create, change, revoke
    CREATE = "create"


class Kind(enum.StrEnum):
    OWN_PAGE = "own_page"  # "Min side": one's own tasks
    OWN_SESSIONS = "own_sessions"  # sign out, sign out everywhere
    TASK = "task"
    TASK_LINK = "task_link"
    ENROLLMENT = "enrollment"
    CITIZEN_IDENTITY = "citizen_identity"
    VISITATION = "visitation"
    STAFF = "staff"
    DEFINITION = "definition"
    API_KEY = "api_key"
    COHORT = "cohort"  # a group with a common start: participants, waiting list
    OWN_NOTIFICATIONS = "own_notifications"  # digest or at once per kind; calendar feed
    CITIZEN_EXTRACT = "citizen_extract"  # "Indsigt": everything stored about one citizen


#: What an API client needs for (action, kind); nothing else is open to the API.
API_SCOPES: dict[tuple[Action, Kind], str] = {
    (Action.CREATE, Kind.VISITATION): SCOPE_VISITATIONS_WRITE,
    # the client that submits a visitation follows what became of it (a 202 answer)
    (Action.VIEW, Kind.VISITATION): SCOPE_VISITATIONS_WRITE,
}


@dataclass(frozen=True, kw_only=True)
class Actor:
    """Who asks. ``staff`` for a signed-in person, ``api`` for a bearer credential."""

    kind: str  # staff / api
    label: str  # for the audit log: staff:3, apikey:2, jwt:<client>
    staff_id: int | None = None
    municipality: str | None = None
    roles: frozenset[str] = frozenset()
    coordinates: frozenset[str] = frozenset()  # definition ids
    scopes: frozenset[str] = frozenset()

    @property
    def is_admin(self) -> bool:
        return self.kind == "staff" and ADMIN_ROLE in self.roles

    @property
    def is_coordinator(self) -> bool:
        return self.kind == "staff" and bool(self.coordinates)


@dataclass(frozen=True, kw_only=True)
class Resource:
    """What is asked about. ``staff_ids``: the staff members a task is for, or who hold
    a task in an enrollment; ``owner_staff_id``: whose own thing it is."""

    kind: Kind
    municipality: str | None = None
    definition_id: str | None = None
    staff_ids: frozenset[int] = frozenset()
    owner_staff_id: int | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def _yes(reason: str) -> Decision:
    return Decision(True, reason)


def _no(reason: str) -> Decision:
    return Decision(False, reason)


def decide(actor: Actor | None, action: Action, resource: Resource) -> Decision:
    """May ``actor`` do ``action`` on ``resource``? Denied unless a rule below allows."""
    kind = resource.kind
    if kind is Kind.TASK_LINK:  # a capability: anyone holding it, unless signed in as another
        if action not in (Action.VIEW, Action.ACT):
            return _no("a task link only shows and completes its step")
        if actor is None:
            return _yes("the link is the capability")
        if actor.kind == "staff" and actor.staff_id in resource.staff_ids:
            return _yes("the link is addressed to the signed-in person")
        return _no("the link is addressed to someone else")
    if actor is None:
        return _no("not signed in")
    if actor.kind == "api":
        needed = API_SCOPES.get((action, kind))
        if needed is not None and needed in actor.scopes:
            return _yes(f"scope {needed}")
        return _no(f"needs scope {needed}" if needed else "not open to API clients")
    if actor.kind != "staff" or actor.staff_id is None:
        return _no("unknown kind of actor")
    return _decide_staff(actor, action, resource)


def _decide_staff(actor: Actor, action: Action, r: Resource) -> Decision:
    own_municipality = r.municipality is not None and r.municipality == actor.municipality
    coordinates_it = own_municipality and r.definition_id in actor.coordinates
    involved = actor.staff_id in r.staff_ids
    kind = r.kind
    if kind in (Kind.OWN_PAGE, Kind.OWN_SESSIONS):
        if action in (Action.VIEW, Action.MANAGE):
            return _yes("one's own page and sessions")
        return _no("nothing else to do there")
    if kind is Kind.OWN_NOTIFICATIONS:
        if action in (Action.VIEW, Action.MANAGE) and r.owner_staff_id == actor.staff_id:
            return _yes("one's own notification choices and calendar feed")
        return _no("only one's own notification choices")
    if r.municipality is not None and not own_municipality:
        return _no("another municipality")
    if kind is Kind.TASK:
        if action in (Action.VIEW, Action.ACT) and (involved or coordinates_it):
            return _yes("own task" if involved else "coordinates the intervention")
        return _no("not one's task")
    if kind is Kind.ENROLLMENT:
        if action in (Action.VIEW, Action.ACT) and coordinates_it:
            return _yes("coordinates the intervention")
        if action is Action.VIEW and involved:
            return _yes("holds a task in the enrollment (the minimum)")
        return _no("not coordinated by this person")
    if kind is Kind.CITIZEN_IDENTITY:
        if action in (Action.VIEW_IDENTITY, Action.CREATE) and coordinates_it:
            return _yes("coordinates the intervention")
        return _no("only the coordinator sees who the citizen is")
    if kind is Kind.VISITATION:
        if action in (Action.CREATE, Action.VIEW) and coordinates_it:
            return _yes("coordinates the intervention")
        return _no("only the coordinator records visitations")
    if kind is Kind.COHORT:
        if action in (Action.VIEW, Action.ACT) and coordinates_it:
            return _yes("coordinates the intervention")
        return _no("only the coordinator sees a cohort")
    if kind is Kind.CITIZEN_EXTRACT:
        if action is Action.VIEW and actor.is_admin and own_municipality:
            return _yes("administrator: the citizen's right of access (audited)")
        return _no("only the administrator makes a citizen extract")
    if kind in (Kind.STAFF, Kind.DEFINITION, Kind.API_KEY):
        if kind is Kind.DEFINITION and action is Action.VIEW:
            return _yes("definitions are no secret to staff")
        admin_action = action in (Action.VIEW, Action.MANAGE, Action.CREATE)
        if admin_action and actor.is_admin and (kind is Kind.API_KEY or own_municipality):
            return _yes("administrator")
        return _no("administrators only")
    return _no("no rule allows it")


class Denied(Exception):
    """A policy refusal on a page: answered with a Danish 403 page."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.reason)
        self.decision = decision


def require(actor: Actor | None, action: Action, resource: Resource) -> None:
    """Raise :class:`Denied` unless :func:`decide` allows."""
    decision = decide(actor, action, resource)
    if not decision:
        raise Denied(decision)


# ----------------------------------------------------------------------- actors from the store


def staff_actor(session: Session, signed_in: SignedIn) -> Actor:
    """The actor for a signed-in staff member (roles, municipality, coordinates)."""
    from sqlmodel import select

    from iba_workflow.store.identity import StaffCoordinatesRow

    staff = signed_in.staff
    coordinated = session.exec(
        select(StaffCoordinatesRow.definition_id).where(
            StaffCoordinatesRow.staff_id == signed_in.staff_id
        )
    ).all()
    return Actor(
        kind="staff",
        label=f"staff:{signed_in.staff_id}",
        staff_id=signed_in.staff_id,
        municipality=staff.municipality,
        roles=frozenset(staff.roles),
        coordinates=frozenset(coordinated),
    )


def read_identity(
    session: Session,
    actor: Actor,
    *,
    citizen_id: int,
    enrollment: Resource,
    page: str,
    now: dt.datetime,
) -> CitizenIdentity:
    """Who a citizen is, if the policy lets ``actor`` see it for ``enrollment``; every
    read is written to the audit log (who, when, which citizen, which page)."""
    from iba_workflow.store.records import read_citizen_identity

    require(
        actor,
        Action.VIEW_IDENTITY,
        Resource(
            kind=Kind.CITIZEN_IDENTITY,
            municipality=enrollment.municipality,
            definition_id=enrollment.definition_id,
        ),
    )
    return read_citizen_identity(
        session, citizen_id, actor=actor.label, purpose=f"page:{page}", at=now
    )


# ----------------------------------------------------------------------- route guards


@dataclass(frozen=True)
class Guard:
    """What a route declared; the route test reads it from the dependency."""

    kind: str  # page / api / task_link / public
    action: Action | None = None
    resource: Kind | None = None
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def guard_of(dependency: Callable[..., Any]) -> Guard | None:
    found = getattr(dependency, "__iba_policy__", None)
    return found if isinstance(found, Guard) else None


def _mark(fn: Callable[..., Any], guard: Guard) -> Callable[..., Any]:
    fn.__iba_policy__ = guard  # type: ignore[attr-defined]
    return fn


#: Kinds a page guard checks by itself (one's own things, municipality-wide admin).
TYPE_LEVEL_KINDS = frozenset(
    {
        Kind.OWN_PAGE,
        Kind.OWN_SESSIONS,
        Kind.OWN_NOTIFICATIONS,
        Kind.STAFF,
        Kind.DEFINITION,
        Kind.API_KEY,
        Kind.CITIZEN_EXTRACT,
    }
)


@dataclass(frozen=True)
class PageAccess:
    """What a page handler gets: the signed-in person and the actor the policy sees."""

    signed_in: SignedIn
    actor: Actor


def page(action: Action, resource: Kind) -> Any:
    """A page for signed-in staff: no session → ``/log-ind``; the policy must allow
    ``action`` on the caller's own ``resource`` kind (row checks: :func:`require`)."""
    from .context import identity_of

    def guard(request: Request, signed_in: SignedIn = Depends(signed_in_staff)) -> PageAccess:
        with identity_of(request).session_factory() as db:
            actor = staff_actor(db, signed_in)
        if resource in TYPE_LEVEL_KINDS:  # the rest are checked per row in the handler
            require(
                actor,
                action,
                Resource(
                    kind=resource,
                    municipality=actor.municipality,
                    owner_staff_id=signed_in.staff_id,
                ),
            )
        return PageAccess(signed_in, actor)

    _mark(guard, Guard("page", action, resource))
    return Depends(guard)


def api(action: Action, resource: Kind) -> Any:
    """An API route: a bearer credential whose scopes let it do ``action`` on
    ``resource`` (401 without one, 403 with too few scopes, 429 above the rate)."""
    from .bearer import api_actor

    needed = API_SCOPES[(action, resource)]

    def guard(request: Request) -> Actor:
        actor = api_actor(request, needed_scope=needed)
        require_api(actor, action, Resource(kind=resource))
        return actor

    _mark(guard, Guard("api", action, resource, extra={"scope": needed}))
    return Depends(guard)


def require_api(actor: Actor, action: Action, resource: Resource) -> None:
    from .bearer import insufficient_scope

    decision = decide(actor, action, resource)
    if not decision:
        raise insufficient_scope(API_SCOPES.get((action, resource.kind), ""))


def task_link() -> Any:
    """A task link (``/t/{token}``): the token is the capability; the guard gives the
    handler the signed-in person, if any, who must be the link's addressee
    (:func:`may_follow_task_link`)."""

    def guard(signed_in: SignedIn | None = Depends(optional_staff)) -> SignedIn | None:
        return signed_in

    _mark(guard, Guard("task_link", Action.VIEW, Kind.TASK_LINK))
    return Depends(guard)


def may_follow_task_link(signed_in: SignedIn | None, link_staff_id: int) -> Decision:
    actor = None
    if signed_in is not None:
        actor = Actor(
            kind="staff", label=f"staff:{signed_in.staff_id}", staff_id=signed_in.staff_id
        )
    link = Resource(kind=Kind.TASK_LINK, staff_ids=frozenset({link_staff_id}))
    return decide(actor, Action.VIEW, link)


def public(reason: str) -> Any:
    """A route open to anyone (health check, sign-in pages); the route test holds the
    list of them."""

    def guard() -> None:
        return None

    _mark(guard, Guard("public", reason=reason))
    return Depends(guard)
