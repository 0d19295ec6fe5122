"""The one error tree of iba-workflow.

Every error a person can meet is an :class:`IbaError`: it carries a sentence that
says what is wrong and, where we know it, a ``hint`` that says how to fix it.
Context travels as keyword arguments, never interpolated into the class name.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class IbaError(Exception):
    """Base of every error iba-workflow raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.context = context

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition file, located as precisely as we can."""

    message: str
    file: str
    line: int | None = None
    column: int | None = None
    hint: str | None = None
    path: tuple[str | int, ...] = field(default=())
    severity: str = "error"  # or "warning": reported, but the definition is usable

    def render(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        label = "warning: " if self.severity == "warning" else ""
        text = f"{where}: {label}{self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class DefinitionError(IbaError):
    """A definition could not be loaded. ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        first = self.problems[0].render() if self.problems else "unknown problem"
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{count} {noun} in definition: {first}")

    def render(self) -> str:
        return "\n".join(p.render() for p in self.problems)


class PlanError(IbaError):
    """A plan cannot be made from the given definition and inputs."""


class CalendarError(IbaError):
    """A calendar configuration is invalid."""


class MailError(IbaError):
    """A mail could not be rendered, built or sent."""


class MailSendError(MailError):
    """Sending failed. ``transient`` says whether a later retry may succeed."""

    transient: bool = False

    def __init__(
        self, message: str, *, code: int | None = None, hint: str | None = None, **context: object
    ) -> None:
        super().__init__(message, hint=hint, code=code, **context)
        self.code = code


class TransientMailError(MailSendError):
    """The server is down, slow or said 4xx: try again later."""

    transient = True


class PermanentMailError(MailSendError):
    """The server said 5xx (or the configuration is wrong): retrying will not help."""

    transient = False


class LinkError(IbaError):
    """A link token or its confirmation form is invalid."""


class StoreError(IbaError):
    """The store cannot be reached, migrated or read."""


class EngineError(IbaError):
    """An engine operation was refused; nothing was changed."""


class NotFound(EngineError):
    """A citizen, staff member, enrollment or step that does not exist."""


class InvalidTransition(EngineError):
    """The record does not allow this change now (e.g. completing a cancelled step)."""


class InvalidInput(EngineError):
    """The input itself is wrong (an unknown outcome, a pause that ends before it starts)."""


class ConsentMissing(EngineError):
    """Health data was given for a citizen with no consent on file."""
