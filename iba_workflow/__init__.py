"""iba-workflow: declarative lifecycles of job-centre interventions, planned on Danish
working days, run by Prefect, recorded in a SQLModel store."""

from __future__ import annotations

__version__ = "0.1.0"
