"""Notification mail: rendering, messages, calendar invitations, delivery (``mailer``: the
``Mailer`` protocol, SMTP and in memory) and the one retry policy (``backoff``).

The modules are small and import nothing at import time beyond the standard library and
their packages; the composition root builds a :class:`MailRenderer` and an
:class:`SmtpConfig` from settings.
"""

from __future__ import annotations

from .render import (
    DEFAULT_TEMPLATE_FOR_KIND,
    DIGEST_TEMPLATE,
    STEP_TEMPLATES,
    DigestItem,
    DigestMail,
    DigestSection,
    MailRenderer,
    RenderedMail,
    StepMail,
    StepRef,
)

__all__ = [
    "DEFAULT_TEMPLATE_FOR_KIND",
    "DIGEST_TEMPLATE",
    "STEP_TEMPLATES",
    "DigestItem",
    "DigestMail",
    "DigestSection",
    "MailRenderer",
    "RenderedMail",
    "StepMail",
    "StepRef",
]
