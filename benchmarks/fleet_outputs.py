"""What small checks produced, as one JSON file, to show that a faster check finds the same things.

Registers 12 small models (default rules, the joint-drift classifier included), runs every
model's check in-process (``fleet_profile.run_checks``) and four models' second checks, then
writes every finding, KPI value, alert, notification, event, report summary and run row with
ids, times and the window's bounds left out (they differ between any two runs). Run it on two
checkouts with the same venv and compare the two files:

    PYTHONPATH=$PWD .venv/bin/python benchmarks/fleet_outputs.py /tmp/after.json [--db postgresql]
    diff <(sed -E 's/20[0-9-]{8}[T ][0-9:.]+(\\+00:00)?/T/g' /tmp/before.json) \\
         <(sed -E 's/20[0-9-]{8}[T ][0-9:.]+(\\+00:00)?/T/g' /tmp/after.json)

(the ``sed`` drops the timestamps inside messages and report JSON as well).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.fleet_models import register_small_models  # noqa: E402
from benchmarks.fleet_profile import make_database, run_checks  # noqa: E402

#: fields that differ between two runs of the same checks
VOLATILE = {"id", "run_id", "created_at", "updated_at", "first_seen", "last_seen", "at", "started_at",
            "finished_at", "generated_at", "resolved_at", "window_start", "window_end", "last_window_end",
            "first_run_id", "last_run_id", "alert_id", "notification_id", "dedup_key", "key", "duration_ms",
            "ts", "eta", "report_url", "url", "newest_prediction", "expires_at", "sent_at", "start", "end"}
TABLES = {"findings": "model_id, rule, segment", "kpi_values": "model_id, name, segment, window_end",
          "alerts": "model_id, rule, segment", "notifications": "alert_id, channel, transition",
          "events": "id", "reports": "model_id, id", "check_runs": "model_id, window_end"}


def scrub(value: Any) -> Any:
    """``value`` without its volatile fields, JSON held in text columns decoded first."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, str) and value[:2] in ('{"', "[{", "[]", "[\"", "{}"):
        try:
            return scrub(json.loads(value))
        except ValueError:
            return value
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mw-fleet-outputs-"))
    os.environ["MODELWATCH_DATA_DIR"] = str(folder)
    url, drop = make_database(args.db, args.pg_admin, folder)
    try:
        names = register_small_models(url, 12, multivariate=True)
        run_checks(url, names)
        run_checks(url, names[:4])  # second checks: open alerts, cached specs and profiles
        from sqlalchemy import text

        from monitor.db.engine import get_engine

        with get_engine(url).connect() as connection:
            out = {table: [scrub(dict(row._mapping)) for row in
                           connection.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))]
                   for table, order in TABLES.items()}
        Path(args.out).write_text(json.dumps(out, indent=1, sort_keys=True))
        print({table: len(rows) for table, rows in out.items()})
    finally:
        drop()


if __name__ == "__main__":
    main()
