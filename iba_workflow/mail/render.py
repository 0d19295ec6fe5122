"""Rendering notification mails from typed contexts and the Jinja2 templates.

Template convention (``templates/mail/``):

- ``<name>.txt.j2`` is the plain-text body **and** the subject: it extends
  ``_layout/base.txt.j2`` and fills ``{% block subject %}`` (one line; whitespace is
  collapsed), ``{% block heading %}``, ``{% block body %}`` and ``{% block action_label %}``.
- ``<name>.html.j2`` is the HTML body: it extends ``_layout/base.html.j2`` and fills the
  same blocks except ``subject`` (the rendered subject is passed in as ``subject``).
- Shared pieces live in ``templates/mail/_layout/`` (a subfolder, so the definition
  loader, which lists ``templates/mail/*.txt.j2``, does not take them for templates).

Every template gets ``m`` (a :class:`StepMail` or :class:`DigestMail`), ``action_url``
(the link, or ``None``) and the filters ``dato`` ("mandag den 1. marts 2027"),
``kort_dato`` ("man. 1. mar.") and ``tid`` ("10:00"). Both environments use
``StrictUndefined``; the HTML one autoescapes.

The contexts carry no field for personal data: a mail names the intervention, the step,
the date, time and place, role names and an opaque enrollment reference, never a
citizen. ``render_mail`` also refuses any output that looks like a CPR number.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from iba_workflow.calendar import WEEKDAYS_DA
from iba_workflow.errors import MailError
from iba_workflow.planning.plan import PlannedStep

MONTHS_DA = (
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
)

#: Templates for a notification about one step.
STEP_TEMPLATES = frozenset(
    {
        "ny_opgave",
        "moedeindkaldelse",
        "evaluering",
        "maaling",
        "proeve",
        "skema",
        "paamindelse",
        "eskalering",
        "aendring",
        "aflysning",
    }
)
#: The morning digest per person (and bundles of what goes at once).
DIGEST_TEMPLATE = "morgenoversigt"
#: A sign-in link by e-mail (identity).
SIGN_IN_TEMPLATE = "log_ind"

#: The template a new step of a kind uses when its definition names none.
DEFAULT_TEMPLATE_FOR_KIND: Mapping[str, str] = {
    "task": "ny_opgave",
    "attendance": "ny_opgave",
    "meeting": "moedeindkaldelse",
    "evaluation": "evaluering",
    "measurement": "maaling",
    "test": "proeve",
    "session": "skema",
}

# DDMMYY-XXXX (dash, space or nothing), with a plausible day and month.
CPR_PATTERN = re.compile(r"(?<!\d)(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d{2}[- ]?\d{4}(?!\d)")
GROUP_REF = "Holdet"  # a group's occurrence: one meeting or task for everyone (issue 12)
_REF_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


@dataclass(frozen=True, kw_only=True)
class StepRef:
    """What a mail may say about one step instance."""

    key: str
    name: str
    kind: str
    date: dt.date
    time: dt.time | None = None
    duration_minutes: int | None = None
    place: str | None = None
    attendee_roles: tuple[str, ...] = ()  # role display names, never people

    @classmethod
    def from_planned(
        cls, step: PlannedStep, *, role_names: Mapping[str, str] | None = None
    ) -> StepRef:
        names = role_names or {}
        return cls(
            key=step.key,
            name=step.name + (f" #{step.occurrence}" if step.occurrence else ""),
            kind=step.kind,
            date=step.date,
            time=step.time,
            duration_minutes=step.duration_minutes,
            place=step.place,
            attendee_roles=tuple(names.get(r, r) for r in step.attendees),
        )

    @property
    def end_time(self) -> dt.time | None:
        if self.time is None or self.duration_minutes is None:
            return None
        start = dt.datetime.combine(self.date, self.time)
        return (start + dt.timedelta(minutes=self.duration_minutes)).time()


@dataclass(frozen=True, kw_only=True)
class StepMail:
    """A notification about one step to one recipient (a staff member in a role)."""

    template: str  # one of STEP_TEMPLATES (or a definition's own template)
    intervention: str
    step: StepRef
    enrollment_ref: str  # opaque, e.g. "F-7Q2K"
    recipient_role: str  # display name of the recipient's role
    link_url: str
    assignee_role: str | None = None  # eskalering: the role that should have done it
    previous: StepRef | None = None  # aendring: where and when it was before
    today: dt.date | None = None  # paamindelse/eskalering: to say "om 2 dage"/"3 dage over"
    calendar_attached: bool = False  # an .ics invitation travels with the mail

    def __post_init__(self) -> None:
        _check_ref(self.enrollment_ref)

    @property
    def in_enrollment(self) -> str:
        """ "i forløb F-00001", or for a group's occurrence (its ref is the group's,
        ``dispatch.compose.GROUP_REF``) "for hele holdet"."""
        if self.enrollment_ref == GROUP_REF:
            return "for hele holdet"
        return f"i forløb {self.enrollment_ref}"

    @property
    def days_left(self) -> int | None:
        return None if self.today is None else (self.step.date - self.today).days


@dataclass(frozen=True, kw_only=True)
class DigestItem:
    """One line of a digest: a step or an enrollment, named by references only."""

    intervention: str  # short name, e.g. "HOP"
    enrollment_ref: str
    title: str  # the step's name, or "Forløb F-00012 er afsluttet: …"
    when: str = ""  # "tir. 2. mar. kl. 10:00"
    note: str = ""  # "ny", "flyttet fra …", "aflyst", "eskaleret til dig"
    link_url: str = ""
    link_label: str = "Åbn"

    def __post_init__(self) -> None:
        _check_ref(self.enrollment_ref)


@dataclass(frozen=True, kw_only=True)
class DigestSection:
    title: str
    items: tuple[DigestItem, ...]


@dataclass(frozen=True, kw_only=True)
class DigestMail:
    """The morning digest (``mode="digest"``) or a bundle of notifications that go at
    once (``mode="samlet"``): sections of items, each with its own link."""

    day: dt.date
    mode: str = "digest"
    sections: tuple[DigestSection, ...] = ()
    calendar_files: int = 0  # .ics files attached (invitations or cancellations)
    workspace_url: str = ""  # Min uge, where the whole week is (sign-in needed)
    template: str = field(default=DIGEST_TEMPLATE)

    @property
    def items(self) -> tuple[DigestItem, ...]:
        return tuple(i for s in self.sections for i in s.items)

    def count(self, title_start: str) -> int:
        return sum(len(s.items) for s in self.sections if s.title.startswith(title_start))


@dataclass(frozen=True, kw_only=True)
class SignInMail:
    """A sign-in link for a staff member (``log_ind``): no name, no personal data."""

    link_url: str
    valid_minutes: int
    template: str = field(default=SIGN_IN_TEMPLATE)
    intervention: str = "iba-workflow"  # the layout's eyebrow


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def _check_ref(ref: str) -> None:
    if not _REF_PATTERN.match(ref) or CPR_PATTERN.search(ref):
        raise MailError(
            "an enrollment reference must be an opaque code",
            hint="use the enrollment's reference (e.g. F-7Q2K), never a CPR number or a name",
        )


def long_date(day: dt.date) -> str:
    """``mandag den 1. marts 2027``"""
    return f"{WEEKDAYS_DA[day.weekday()]} den {day.day}. {MONTHS_DA[day.month - 1]} {day.year}"


def short_date(day: dt.date) -> str:
    """``man. 1. mar.``"""
    return f"{WEEKDAYS_DA[day.weekday()][:3]}. {day.day}. {MONTHS_DA[day.month - 1][:3]}."


def clock_time(value: dt.time | None) -> str:
    return "" if value is None else value.strftime("%H:%M")


def role_names(roles: object) -> dict[str, str]:
    """``{role id: display name}`` from a definition's ``roles`` list."""
    return {r.id: r.name for r in roles}  # type: ignore[attr-defined]


class MailRenderer:
    """Holds the two Jinja environments; build once (e.g. in the composition root), or
    take the process's own for a folder with :meth:`for_folder`."""

    @classmethod
    def for_folder(cls, templates_dir: Path) -> MailRenderer:
        """One renderer per templates folder for the process: its environments keep the
        compiled templates (a tick that made its own compiled every template again,
        a fifth of a digest's cost). Jinja still notices an edited template file."""
        return _renderer(Path(templates_dir).resolve())

    def __init__(self, templates_dir: Path) -> None:
        folder = Path(templates_dir) / "mail"
        self.text_env = _environment(folder, autoescape=False)
        self.html_env = _environment(folder, autoescape=True)
        for env in (self.text_env, self.html_env):
            env.filters["dato"] = long_date
            env.filters["kort_dato"] = short_date
            env.filters["tid"] = clock_time
        self.folder = folder

    def has_template(self, name: str) -> bool:
        return (self.folder / f"{name}.txt.j2").is_file() and (
            self.folder / f"{name}.html.j2"
        ).is_file()

    def render(self, mail: StepMail | DigestMail | SignInMail) -> RenderedMail:
        name = mail.template
        if not self.has_template(name):
            raise MailError(
                f"no mail template '{name}'",
                hint=f"add templates/mail/{name}.txt.j2 and {name}.html.j2",
                template=name,
            )
        action_url = mail.link_url if isinstance(mail, StepMail | SignInMail) else None
        ctx = {"m": mail, "action_url": action_url}
        try:
            text_t = self.text_env.get_template(f"{name}.txt.j2")
            if "subject" not in text_t.blocks:
                raise MailError(f"template {name}.txt.j2 has no subject block", template=name)
            subject_raw = "".join(text_t.blocks["subject"](text_t.new_context(ctx)))
            subject = " ".join(subject_raw.split())
            text = _tidy_text(text_t.render(ctx))
            html = self.html_env.get_template(f"{name}.html.j2").render(ctx, subject=subject)
        except jinja2.TemplateError as exc:
            raise MailError(f"mail template '{name}' failed: {exc}", template=name) from exc
        rendered = RenderedMail(subject=subject, text=text, html=html)
        assert_no_cpr(rendered.subject, rendered.text, rendered.html)
        return rendered


@functools.lru_cache(maxsize=8)
def _renderer(templates_dir: Path) -> MailRenderer:
    return MailRenderer(templates_dir)


def _environment(folder: Path, *, autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def assert_no_cpr(*parts: str) -> None:
    """Raise :class:`MailError` if any part contains something shaped like a CPR number."""
    for part in parts:
        unfolded = part.replace("\r\n ", "").replace("\r\n\t", "").replace("\n ", "")
        if CPR_PATTERN.search(part) or CPR_PATTERN.search(unfolded):
            raise MailError(
                "refusing a mail that contains a CPR-shaped number",
                hint="mails name the step and an enrollment reference, never a person",
            )


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line == "" and (not out or out[-1] == ""):
            continue
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"
