"""The versioned shapes of every ``--json`` output, for scripts that parse them.

Each output is one JSON object with ``schema_version`` (bumped when a field is renamed, removed
or changes meaning; adding a field keeps the version). The models below are the documentation:
``python -m frontdoors.schemas docs/schemas`` writes their JSON Schema files, and
tests/unit/test_json_contract.py fails when the files in docs/schemas/ drift from the models.
Times are ISO-8601 UTC with ``Z`` everywhere (:mod:`frontdoors.jsonfmt`).

Items whose content belongs to another part of modelwatch (an alert's notifications, a recovery
action's result) name their stable fields and allow more (``extra="allow"``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from frontdoors.jsonfmt import normalize

SCHEMA_VERSION = 1


class Output(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[1] = Field(SCHEMA_VERSION, description="Bumped on an incompatible change.")


class Item(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- ingest ------------------------------------------------------------------------------------

class IngestOutput(Output):
    """``modelwatch ingest KIND FILE --json``."""
    model: str
    kind: Literal["predictions", "labels", "interactions"]
    file: str
    accepted: int = Field(description="Rows written.")
    duplicates: int = Field(description="Rows the model already had (same request id), skipped.")
    quarantined: int = Field(description="Rows rejected and kept in quarantine with their reason.")
    reasons: list[str] = Field(description="Up to five 'row N: why' lines of quarantined rows "
                                           "(the same word as monitor.client.IngestResult).")
    exit_code: int = Field(description="0, or 1 when the quarantined share is above --max-quarantined.")


# --- check -------------------------------------------------------------------------------------

class CheckQueuedOutput(Output):
    """``modelwatch check NAME --json`` without ``--wait``."""
    run_id: str
    model: str
    status: Literal["queued", "exists"]
    state: str = Field(description="Where the state is (the SQLite file or the database URL, no password).")


class Kpi(BaseModel):
    value: float | None
    baseline: float | None
    change_pct: float | None = Field(description="signed: (value - baseline) / baseline, in percent")
    change: float | None = Field(None, description="signed: value - baseline")
    verdict: Literal["better", "worse", "same", "changed"] | None = Field(
        None, description="whether the change is better or worse for this KPI (monitor.kpis.change)")


class Finding(Item):
    rule: str
    kind: str
    status: Literal["firing", "ok", "insufficient_data"]
    severity: str
    message: str


class RunAlert(Item):
    id: int
    rule: str
    state: str


class RunAction(Item):
    id: int
    kind: str
    state: str
    eta: str | None


class CheckOutput(Output):
    """``modelwatch check NAME --wait --json``: the run's summary (the report's and the API's too).

    Fields beyond these (history, distributions, drift, ...) feed the report's charts; they are
    present but not part of the versioned contract.
    """
    model_config = ConfigDict(extra="allow")
    run_id: str
    model: str
    version: str | None
    status: str = Field(description="The run's state: succeeded or failed (pending/running only on timeout).")
    outcome: Literal["healthy", "warning", "firing", "no_traffic", "failed", "running"] = Field(
        description="What the check concluded; see docs/cli.md#exit-codes.")
    outcome_message: str
    exit_code: int = Field(description="The exit code `check --wait` returned with these --fail-on settings.")
    state: str
    error: str | None
    window: dict[str, str | None]
    generated_at: str
    counts: dict[str, Any]
    kpis: dict[str, Kpi]
    findings: list[Finding]
    alerts: list[RunAlert]
    recovery_actions: list[RunAction]


# --- status ------------------------------------------------------------------------------------

class ModelStatus(Item):
    model: str
    task: str
    serving_version: str | None
    last_check: str | None
    last_status: str | None
    health: str
    open_alerts: list[str]
    pending_actions: list[str]
    last_run_redrives: int = 0  # times the sweeper re-drove the last run's lost chain
    redrives: int = 0  # re-drives of all the model's runs so far (``modelwatch_runs_redriven_total``)


class StatusOutput(Output):
    """``modelwatch status --json``."""
    state: str
    models: list[ModelStatus]


# --- lists -------------------------------------------------------------------------------------

class AlertItem(Item):
    id: int
    model: str | None
    rule: str
    state: str
    open: bool
    severity: str
    message: str
    first_seen: str | None
    notifications: list[dict[str, Any]]


class AlertsOutput(Output):
    """``modelwatch alerts --json``."""
    alerts: list[AlertItem]


class SilenceItem(Item):
    id: int
    starts_at: str
    ends_at: str
    active: bool


class SilenceCreatedOutput(Output):
    """``modelwatch silence add ... --json``."""
    silence: SilenceItem


class SilencesOutput(Output):
    """``modelwatch silence list --json``."""
    silences: list[SilenceItem]


class ActionItem(Item):
    id: int
    model: str | None
    kind: str
    state: str
    eta: str | None


class RecoveryOutput(Output):
    """``modelwatch recovery list --json``."""
    actions: list[ActionItem]


class AuditItem(Item):
    id: int
    at: str
    actor: str
    action: str
    model: str | None
    subject: str


class AuditOutput(Output):
    """``modelwatch audit --json``."""
    events: list[AuditItem]


#: file name (without .schema.json) -> model; one per --json output
SCHEMAS: dict[str, type[Output]] = {
    "ingest": IngestOutput, "check-queued": CheckQueuedOutput, "check": CheckOutput, "status": StatusOutput,
    "alerts": AlertsOutput, "silence-created": SilenceCreatedOutput, "silences": SilencesOutput,
    "recovery": RecoveryOutput, "audit": AuditOutput,
}


def render(schema: type[Output], **fields: Any) -> str:
    """The JSON text of one output: validated against its model, times in the one UTC format."""
    value = schema.model_validate(normalize(fields))
    return json.dumps(value.model_dump(mode="json"), indent=2)


def json_schemas() -> dict[str, str]:
    """``{file name: JSON Schema text}`` for docs/schemas/."""
    return {f"{name}.schema.json": json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"
            for name, model in SCHEMAS.items()}


def export(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in json_schemas().items():
        (folder / name).write_text(text)
        written.append(folder / name)
    return written


if __name__ == "__main__":
    for path in export(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas")):
        print(path)
