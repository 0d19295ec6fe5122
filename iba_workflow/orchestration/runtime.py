"""The composition root of a flow run: settings, the store, the engine's context and the
definitions, built once per process from the environment (``IBA_*``, ``PREFECT_API_URL``).

Nothing connects when this module is imported; ``runtime()`` builds on first use.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from iba_workflow import paths
from iba_workflow.catalog import iter_definition_files
from iba_workflow.clock import SystemClock
from iba_workflow.definition import Definition, load_definition
from iba_workflow.engine import EngineContext, calendars_from
from iba_workflow.errors import NotFound
from iba_workflow.settings import Settings
from iba_workflow.store.db import SessionFactory, engine_from_settings, session_factory

Via = Literal["auto", "prefect", "direct"]


class OrchestrationSettings(BaseSettings):
    """What the Prefect side reads besides ``Settings``."""

    model_config = SettingsConfigDict(env_prefix="IBA_", env_file=None, extra="ignore")

    prefect_api_url: str | None = Field(
        None, validation_alias="PREFECT_API_URL", description="A running Prefect API."
    )
    reannounce_after_seconds: float = Field(
        60.0, ge=0, le=86400, description="A tick re-announces requests unprocessed this long."
    )
    visit_wait_seconds: float = Field(
        60.0, ge=0, le=3600, description="How long `iba visit` waits for its flow run."
    )
    api_wait_seconds: float = Field(
        20.0,
        ge=0,
        le=120,
        description="How long `POST /api/visitations` waits for its flow run before it "
        "answers 202 (the client then asks `GET /api/visitations/{request}`).",
    )


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    orchestration: OrchestrationSettings
    session_factory: SessionFactory
    definitions: dict[str, Definition]

    def context(self, *, channel: str = "prefect", actor: str = "prefect") -> EngineContext:
        calendars = calendars_from(self.settings.calendars_dir or paths.calendars_dir())
        return EngineContext(clock=SystemClock(), calendars=calendars, actor=actor, channel=channel)

    def definition(self, definition_id: str) -> Definition:
        try:
            return self.definitions[definition_id]
        except KeyError:
            raise NotFound(
                f"no definition '{definition_id}'",
                hint="known definitions: " + ", ".join(sorted(self.definitions)),
            ) from None


def load_definitions(settings: Settings | None = None) -> dict[str, Definition]:
    """Every definition in the definitions folder, by id."""
    folder = (settings.definitions_dir if settings else None) or paths.definitions_dir()
    known = paths.known_templates(settings.templates_dir if settings else None)
    found = {}
    for path in iter_definition_files(folder):
        d = load_definition(path, known_templates=known)
        found[d.id] = d
    return found


@cache
def runtime() -> Runtime:
    """This process's runtime (one database engine per process)."""
    settings = Settings()
    return Runtime(
        settings=settings,
        orchestration=OrchestrationSettings(),
        session_factory=session_factory(engine_from_settings(settings)),
        definitions=load_definitions(settings),
    )


def dispatcher_owner(run_id: object) -> str:
    """A lease owner unique to one tick: host, process and flow run."""
    return f"{socket.gethostname()}:{os.getpid()}:{run_id}"
