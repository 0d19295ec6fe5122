"""The whole matrix: every actor × every action × every resource goes through
``policy.decide``, and the set of allowed cells must be exactly the one written here.
Any new allow (a rule loosened by mistake) or lost allow fails this test."""

from __future__ import annotations

import itertools

from iba_workflow.identity.policy import (
    Action,
    Actor,
    Kind,
    Resource,
    decide,
    may_follow_task_link,
)

HOME, ABROAD = "hedensted", "rebild"
ME, COLLEAGUE = 1, 2

ACTORS: dict[str, Actor | None] = {
    "anonymous": None,
    "coordinator": Actor(
        kind="staff", label="staff:1", staff_id=ME, municipality=HOME,
        roles=frozenset({"iba"}), coordinates=frozenset({"hop"}),
    ),
    "worker": Actor(
        kind="staff", label="staff:1", staff_id=ME, municipality=HOME,
        roles=frozenset({"fagmentor"}),
    ),
    "admin": Actor(
        kind="staff", label="staff:1", staff_id=ME, municipality=HOME,
        roles=frozenset({"admin"}),
    ),
    "coordinator_abroad": Actor(
        kind="staff", label="staff:1", staff_id=ME, municipality=ABROAD,
        roles=frozenset({"iba"}), coordinates=frozenset({"hop"}),
    ),
    "api_visitations": Actor(
        kind="api", label="apikey:1", scopes=frozenset({"visitations:write"})
    ),
    "api_no_scope": Actor(kind="api", label="apikey:2"),
}  # fmt: skip


def _r(kind: Kind, **kw: object) -> Resource:
    return Resource(kind=kind, **kw)  # type: ignore[arg-type]


MINE = frozenset({ME})
THEIRS = frozenset({COLLEAGUE})
RESOURCES: dict[str, Resource] = {
    "own_page": _r(Kind.OWN_PAGE, owner_staff_id=ME),
    "own_sessions": _r(Kind.OWN_SESSIONS, owner_staff_id=ME),
    "notifications_mine": _r(Kind.OWN_NOTIFICATIONS, owner_staff_id=ME),
    "notifications_theirs": _r(Kind.OWN_NOTIFICATIONS, owner_staff_id=COLLEAGUE),
    "task_mine": _r(Kind.TASK, municipality=HOME, definition_id="fagmentor", staff_ids=MINE),
    "task_theirs_hop": _r(Kind.TASK, municipality=HOME, definition_id="hop", staff_ids=THEIRS),
    "task_theirs_other": _r(
        Kind.TASK, municipality=HOME, definition_id="fagmentor", staff_ids=THEIRS
    ),
    "task_abroad_mine": _r(Kind.TASK, municipality=ABROAD, definition_id="hop", staff_ids=MINE),
    "task_link_mine": _r(Kind.TASK_LINK, staff_ids=MINE),
    "task_link_theirs": _r(Kind.TASK_LINK, staff_ids=THEIRS),
    "enrollment_hop": _r(Kind.ENROLLMENT, municipality=HOME, definition_id="hop"),
    "enrollment_other_def": _r(Kind.ENROLLMENT, municipality=HOME, definition_id="fagmentor"),
    "enrollment_involved": _r(
        Kind.ENROLLMENT, municipality=HOME, definition_id="fagmentor", staff_ids=MINE
    ),
    "enrollment_abroad": _r(Kind.ENROLLMENT, municipality=ABROAD, definition_id="hop"),
    "identity_hop": _r(Kind.CITIZEN_IDENTITY, municipality=HOME, definition_id="hop"),
    "identity_other_def": _r(Kind.CITIZEN_IDENTITY, municipality=HOME, definition_id="fagmentor"),
    "identity_abroad": _r(Kind.CITIZEN_IDENTITY, municipality=ABROAD, definition_id="hop"),
    "visitation_hop": _r(Kind.VISITATION, municipality=HOME, definition_id="hop"),
    "visitation_other_def": _r(Kind.VISITATION, municipality=HOME, definition_id="fagmentor"),
    "visitation_api": _r(Kind.VISITATION),
    "staff_home": _r(Kind.STAFF, municipality=HOME),
    "staff_abroad": _r(Kind.STAFF, municipality=ABROAD),
    "definition_home": _r(Kind.DEFINITION, municipality=HOME, definition_id="hop"),
    "definition_abroad": _r(Kind.DEFINITION, municipality=ABROAD, definition_id="hop"),
    "api_key": _r(Kind.API_KEY),
    "cohort_hop": _r(Kind.COHORT, municipality=HOME, definition_id="hop"),
    "cohort_other_def": _r(Kind.COHORT, municipality=HOME, definition_id="fagmentor"),
    "cohort_abroad": _r(Kind.COHORT, municipality=ABROAD, definition_id="hop"),
    "extract_home": _r(Kind.CITIZEN_EXTRACT, municipality=HOME),
    "extract_abroad": _r(Kind.CITIZEN_EXTRACT, municipality=ABROAD),
}

V, A, ID, M, C = Action.VIEW, Action.ACT, Action.VIEW_IDENTITY, Action.MANAGE, Action.CREATE
_own = {
    ("own_page", V),
    ("own_page", M),
    ("own_sessions", V),
    ("own_sessions", M),
    ("notifications_mine", V),
    ("notifications_mine", M),
}
_defs = {("definition_home", V)}
EXPECTED: dict[str, set[tuple[str, Action]]] = {
    "anonymous": {("task_link_mine", V), ("task_link_mine", A),
                  ("task_link_theirs", V), ("task_link_theirs", A)},
    "coordinator": _own | _defs | {
        ("task_mine", V), ("task_mine", A), ("task_theirs_hop", V), ("task_theirs_hop", A),
        ("task_link_mine", V), ("task_link_mine", A),
        ("enrollment_hop", V), ("enrollment_hop", A), ("enrollment_involved", V),
        ("identity_hop", ID), ("identity_hop", C), ("visitation_hop", C), ("visitation_hop", V),
        ("cohort_hop", V), ("cohort_hop", A),
    },
    "worker": _own | _defs | {
        ("task_mine", V), ("task_mine", A), ("task_link_mine", V), ("task_link_mine", A),
        ("enrollment_involved", V),
    },
    "admin": _own | _defs | {
        ("task_mine", V), ("task_mine", A), ("task_link_mine", V), ("task_link_mine", A),
        ("enrollment_involved", V),
        ("staff_home", V), ("staff_home", M), ("staff_home", C),
        ("definition_home", M), ("definition_home", C),
        ("api_key", V), ("api_key", M), ("api_key", C),
        ("extract_home", V),
    },
    "coordinator_abroad": _own | {("task_abroad_mine", V), ("task_abroad_mine", A),
                                  ("task_link_mine", V), ("task_link_mine", A),
                                  ("enrollment_abroad", V), ("enrollment_abroad", A),
                                  ("identity_abroad", ID), ("identity_abroad", C),
                                  ("definition_abroad", V),
                                  ("cohort_abroad", V), ("cohort_abroad", A)},
    "api_visitations": {("visitation_api", C), ("visitation_hop", C),
                        ("visitation_other_def", C),
                        # what became of a request it submitted (after a 202)
                        ("visitation_api", V), ("visitation_hop", V),
                        ("visitation_other_def", V)},
    "api_no_scope": set(),
}  # fmt: skip


def test_every_cell_of_the_matrix_is_exactly_as_written() -> None:
    cells = itertools.product(ACTORS.items(), RESOURCES.items(), Action)
    allowed: dict[str, set[tuple[str, Action]]] = {name: set() for name in ACTORS}
    for (actor_name, actor), (resource_name, resource), action in cells:
        decision = decide(actor, action, resource)
        assert decision.reason, "every decision says why"
        if decision.allowed:
            allowed[actor_name].add((resource_name, action))
    for name in ACTORS:
        unexpected = allowed[name] - EXPECTED[name]
        missing = EXPECTED[name] - allowed[name]
        assert not unexpected, f"{name} may unexpectedly: {sorted(unexpected)}"
        assert not missing, f"{name} may no longer: {sorted(missing)}"
    total = len(ACTORS) * len(RESOURCES) * len(Action)
    assert total == 1050 and sum(map(len, allowed.values())) < total / 8  # walked, mostly no


def test_nobody_sees_another_municipalitys_citizens() -> None:
    for name, actor in ACTORS.items():
        if actor is None or actor.municipality == ABROAD:
            continue
        for resource in ("enrollment_abroad", "identity_abroad", "task_abroad_mine"):
            for action in Action:
                assert not decide(actor, action, RESOURCES[resource]), (name, resource, action)


def test_personal_data_only_for_the_coordinator_of_the_intervention() -> None:
    who_may = {
        name
        for name, actor in ACTORS.items()
        for r in RESOURCES.values()
        if r.kind is Kind.CITIZEN_IDENTITY and decide(actor, Action.VIEW_IDENTITY, r)
    }
    assert who_may == {"coordinator", "coordinator_abroad"}


def test_only_the_administrator_makes_a_citizen_extract_of_her_municipality() -> None:
    who_may = {
        (name, resource)
        for name, actor in ACTORS.items()
        for resource, r in RESOURCES.items()
        for action in Action
        if r.kind is Kind.CITIZEN_EXTRACT and decide(actor, action, r)
    }
    assert who_may == {("admin", "extract_home")}


def test_a_task_link_is_for_its_addressee_or_an_anonymous_holder() -> None:
    assert may_follow_task_link(None, COLLEAGUE)
    assert not may_follow_task_link(_signed_in(ME), COLLEAGUE)
    assert may_follow_task_link(_signed_in(COLLEAGUE), COLLEAGUE)


def _signed_in(staff_id: int) -> object:
    import datetime as dt

    from iba_workflow.identity.sessions import SignedIn
    from iba_workflow.store.tables import StaffRow

    now = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
    staff = StaffRow(id=staff_id, name="x", email="x@y.dk", roles=[], municipality=HOME,
                     created_at=now)  # fmt: skip
    return SignedIn(staff, 1, "h", now)
