"""The documented exit codes of ``modelwatch`` (docs/cli.md#exit-codes), like Great Expectations'
checkpoints give CI: a script branches on the number, not on parsing text.

==  ============================================================================================
0   success: the check is healthy (or below ``--fail-on``), the rows were ingested
1   findings at or above ``--fail-on`` (``check``); too many rows quarantined (``ingest``)
2   usage or input error: a bad option, spec or file, an unknown model, no state at --data-dir
3   the check run failed, or did not finish within ``--timeout``
==  ============================================================================================
"""

from __future__ import annotations

OK, FINDINGS, USAGE, RUN_FAILED = 0, 1, 2, 3

#: ``--fail-on`` level -> the outcomes (monitor.check.outcome) that exit FINDINGS
FAIL_ON = {
    "firing": {"firing"},
    "warning": {"firing", "warning", "no_traffic"},
    "never": set(),
}


def check_exit_code(outcome: str, fail_on: str) -> int:
    """The exit code of ``check --wait`` for a run's outcome.

    >>> check_exit_code("firing", "firing"), check_exit_code("warning", "firing"), check_exit_code("failed", "never")
    (1, 0, 3)
    """
    if outcome in ("failed", "running"):
        return RUN_FAILED
    return FINDINGS if outcome in FAIL_ON[fail_on] else OK


def ingest_exit_code(accepted: int, duplicates: int, quarantined: int, max_quarantined_pct: float) -> int:
    """1 when the quarantined share of the file's rows is above ``max_quarantined_pct``, or every row was
    quarantined (a file of nothing but bad rows is never a success).

    >>> ingest_exit_code(0, 0, 5, 100.0), ingest_exit_code(90, 0, 10, 5.0), ingest_exit_code(90, 0, 10, 100.0)
    (1, 1, 0)
    """
    total = accepted + duplicates + quarantined
    if not total or not quarantined:
        return OK
    if accepted + duplicates == 0 or 100.0 * quarantined / total > max_quarantined_pct:
        return FINDINGS
    return OK
