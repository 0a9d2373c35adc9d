"""What one check run concluded, in one word, for the exit code of ``check --wait`` and the report.

A run can succeed and still say nothing: a check triggered by the registry right after a new
version is announced sees no rows, because rows are stamped with the version that was serving
when they were ingested. That is "no traffic on this version yet", not a healthy check.
"""

from __future__ import annotations

from typing import Any, Literal

Outcome = Literal["healthy", "warning", "firing", "no_traffic", "failed", "running"]


def outcome_of(summary: dict[str, Any]) -> tuple[Outcome, str]:
    """``(outcome, message)`` of a run summary (:func:`monitor.check.summary.build_summary`).

    >>> outcome_of({"status": "succeeded", "version": "2", "counts": {"rows": 0}, "findings": []})[0]
    'no_traffic'
    """
    status, version = summary.get("status"), summary.get("version")
    if status == "failed":
        return "failed", f"the check failed: {summary.get('error') or 'see the run log'}"
    if status != "succeeded":
        return "running", f"the check is still {status}"
    if not (summary.get("counts") or {}).get("rows"):
        return "no_traffic", (f"no traffic on version {version} yet: rows are stamped with the version serving "
                              "when they are ingested, so a check of a just-announced version sees none")
    findings = summary.get("findings") or []
    firing = [f["rule"] for f in findings if f["status"] == "firing"]
    if firing:
        return "firing", f"{len(firing)} rule(s) firing: {', '.join(sorted(set(firing)))}"
    unsure = [f["rule"] for f in findings if f["status"] == "insufficient_data"]
    if unsure or summary.get("quality"):
        parts = ([f"not enough data for {', '.join(sorted(set(unsure)))}"] if unsure else []) + \
                ([f"{len(summary['quality'])} data quality issue(s)"] if summary.get("quality") else [])
        return "warning", "; ".join(parts)
    return "healthy", "no rule firing"
