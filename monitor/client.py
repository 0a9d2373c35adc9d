"""Log predictions and labels from a serving process.

>>> from monitor.client import Client                                    # doctest: +SKIP
>>> client = Client("churn")
>>> client.log_predictions([{"request_id": "r1", "ts": now, "prediction": 1, "score": 0.8,
...                          "age": 41, "plan": "pro"}])
IngestResult(accepted=1, duplicates=0, quarantined=0, reasons=[])

Rows are validated exactly as ``modelwatch ingest`` validates files: bad rows are quarantined
with their reason and returned in ``reasons``; good rows are written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from monitor.config import Settings, get_settings
from monitor.db.engine import session_scope
from monitor.db.migrate import upgrade
from monitor.ingest import validate_records
from monitor.store import logs, models as store


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    quarantined: int
    reasons: list[str] = field(default_factory=list)


class Client:
    def __init__(self, model: str, settings: Settings | None = None, *, source: str = "client"):
        self.settings = settings or get_settings()
        self.url = self.settings.effective_database_url
        if self.settings.auto_migrate:
            upgrade(self.url)
        self.source = source
        with session_scope(self.url) as session:
            row = store.get_model(session, model)
            self.model_id, self.spec = row.id, store.spec_of(row)

    def _serving(self, session) -> str | None:
        serving = store.serving_version(session, self.model_id)
        return serving.version if serving else None

    def log_predictions(self, records: list[dict[str, Any]]) -> IngestResult:
        return self._log("predictions", records)

    def log_labels(self, records: list[dict[str, Any]]) -> IngestResult:
        return self._log("labels", records)

    def _log(self, kind: str, records: list[dict[str, Any]]) -> IngestResult:
        batch = validate_records(records, kind, self.spec)
        with session_scope(self.url) as session:
            if kind == "predictions":
                counts = logs.insert_predictions(session, self.model_id, batch.rows, self._serving(session))
            else:
                counts = logs.insert_labels(session, self.model_id, batch.rows)
            logs.quarantine(session, self.model_id, kind, self.source, batch.rejected)
        return IngestResult(counts.accepted, counts.duplicates + batch.duplicates, len(batch.rejected),
                            [f"row {r.row_number}: {r.reason}" for r in batch.rejected])
