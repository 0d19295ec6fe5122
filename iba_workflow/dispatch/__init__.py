"""The dispatcher: turns what is due into mail, and sends the outbox. Prefect flows
(``flows/``) and ``iba dispatch`` are thin shells around this API; keep it stable.

- ``enqueue_due(session_factory, ctx, lead_days=0) -> DueReport``: marks actionable steps
  due and writes
  new-task, reminder and escalation rows (``engine.enqueue_due_notifications``,
  idempotent), with counts per intervention in ``by_intervention``.
- ``claim(session_factory, *, owner, now, limit, lease_seconds) -> list[int]``: leases
  sendable outbox rows to ``owner`` (``store.outbox.claim_outbox_batch``).
- ``await deliver(outbox_ids, *, session_factory, ctx, settings, owner, mailer=None)
  -> DeliveryReport``: all rows through one session of ``mailer`` (``mail.mailer``: SMTP by
  default, one connection per batch; ``MemoryMailer`` in unit tests); per row: builds
  the mail from the payload (opaque enrollment reference, never personal data), issues
  a link token for actionable kinds (its hash committed before sending),
  renders the template (reminders ``paamindelse``, escalations ``eskalering``, changes
  ``aendring``, cancellations ``aflysning``, new tasks and invitations the step's own),
  attaches an .ics for meetings (REQUEST with a SEQUENCE that grows per step instance and
  recipient, CANCEL when cancelled), sends it and marks the row sent, or failed
  (transient: retried as ``mail.backoff`` says, the one retry policy) / dead (permanent,
  or too many tries). One message's failure never stops the batch.
- ``enqueue_digests(session_factory, ctx, settings) -> int``: routes what the engine wrote
  (``dispatch.route``: morning digest, a mail of its own, urgent, or dropped) and writes the
  morning digests (one per person per working day, from ``IBA_WORK_START``) and bundles
  (at most one mail per person per tick) due now (``dispatch.digest``); delivered like any
  row (counted under ``morgenoversigt`` in the report).
- ``await run_tick(session_factory, ctx, settings, *, owner, batch_size, lease_seconds,
  mailer) -> TickReport`` (lease: ``IBA_DISPATCH_LEASE_SECONDS`` unless given):
  ``enqueue_due`` and ``enqueue_digests``, then claim/deliver until nothing is sendable;
  ``TickReport.rows()`` is a table per intervention (for a Prefect artifact),
  ``summary()`` one line.

Time comes from ``ctx.clock``; the outbox is the truth, so a tick may run twice (or in two
processes) without sending a mail twice.
"""

from __future__ import annotations

from .compose import enrollment_ref, task_url
from .core import claim, deliver, enqueue_due, run_tick
from .digest import enqueue_digests
from .reports import DeliveryReport, DueReport, InterventionCounts, TickReport

__all__ = [
    "DeliveryReport",
    "DueReport",
    "InterventionCounts",
    "TickReport",
    "claim",
    "deliver",
    "enqueue_digests",
    "enqueue_due",
    "enrollment_ref",
    "run_tick",
    "task_url",
]
