"""Log predictions, labels and user interactions from a serving process.

>>> from monitor.client import Client                                    # doctest: +SKIP
>>> client = Client("churn")
>>> client.log_predictions([{"request_id": "r1", "ts": now, "prediction": 1, "score": 0.8,
...                          "age": 41, "plan": "pro"}])
IngestResult(accepted=1, duplicates=0, quarantined=0, reasons=[])

Rows are validated exactly as ``modelwatch ingest`` validates files: bad rows are quarantined
with their reason and returned in ``reasons``; good rows are written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from monitor.config import Settings, get_settings
from monitor.db.engine import session_scope
from monitor.db.migrate import upgrade
from monitor.ingest import validate_records
from monitor.ingest.readers import validate_record_batch
from monitor.store import logs, models as store
from monitor.store.interactions import insert_interactions


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

    def _validate(self, kind: str, records: Any):
        """Row dicts go through ``validate_records``; a pyarrow Table or a pandas DataFrame of
        predictions or labels keeps its typed columns and is validated as a Parquet file's rows
        are (no dict per row), with the same quarantine answers."""
        import pyarrow as pa

        if kind != "interactions" and not isinstance(records, list):
            if type(records).__module__.startswith("pandas"):
                try:
                    records = pa.Table.from_pandas(records, preserve_index=False)
                except (pa.ArrowException, TypeError, ValueError):  # mixed object columns
                    records = records.to_dict("records")
            if isinstance(records, pa.Table):
                records = records.combine_chunks()
                records = pa.RecordBatch.from_arrays([c.combine_chunks() for c in records.columns],
                                                     names=records.column_names)
            if isinstance(records, pa.RecordBatch):
                return validate_record_batch(records, 1, kind, self.spec)
        if not isinstance(records, list):
            records = records.to_dict("records") if hasattr(records, "to_dict") else list(records)
        return validate_records(records, kind, self.spec)

    def _serving(self, session) -> str | None:
        serving = store.serving_version(session, self.model_id)
        return serving.version if serving else None

    def log_predictions(self, records: Any) -> IngestResult:
        """``records``: a list of row dicts, a pyarrow Table or a pandas DataFrame (spec column names)."""
        return self._log("predictions", records)

    def log_labels(self, records: Any) -> IngestResult:
        return self._log("labels", records)

    def log_interactions(self, records: list[dict[str, Any]]) -> IngestResult:
        """Events users caused after a prediction (click, conversion, feedback), keyed by request id.

        Records use the spec's column names (``request_id``, ``ts``, ``event``, ``value`` by default).
        """
        return self._log("interactions", records)

    def log_interaction(self, request_id: str, event: str, value: float | None = None,
                        ts: dt.datetime | None = None) -> IngestResult:
        """One event, e.g. ``client.log_interaction("r1", "click")``; ``ts`` defaults to now."""
        columns, config = self.spec.columns, self.spec.interactions
        record = {columns.id: request_id, config.event_column: event,
                  columns.timestamp: ts or dt.datetime.now(dt.timezone.utc)}
        if value is not None:
            record[config.value_column] = value
        return self._log("interactions", [record])

    def _log(self, kind: str, records: Any) -> IngestResult:
        """Validate into columns, then write through the one write path (``logs.save_batch``)."""
        batch = self._validate(kind, records)
        with session_scope(self.url) as session:
            if kind == "interactions":
                counts = insert_interactions(session, self.model_id, batch.rows)
                counts = type(counts)(counts.accepted, counts.duplicates + batch.duplicates)
                logs.quarantine(session, self.model_id, kind, self.source, batch.rejected)
            else:  # counts repeats within the batch too
                serving = self._serving(session) if kind == "predictions" else None
                counts = logs.save_batch(session, self.model_id, kind, batch, self.source, serving)
        return IngestResult(counts.accepted, counts.duplicates, len(batch.rejected),
                            [f"row {r.row_number}: {r.reason}" for r in batch.rejected])
