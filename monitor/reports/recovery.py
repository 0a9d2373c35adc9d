"""The report's recovery schedule: the model's recent and pending actions, with the evidence behind
each retrain (candidate against serving on held-out data, and its per-iteration training curves).

Reads ``summary["recovery_schedule"]`` (``monitor.recovery.schedule.to_json`` rows); every key is
optional and every string escaped, as in the rest of the report.
"""

from __future__ import annotations

from datetime import datetime, timezone

from monitor.reports import svg
from monitor.reports.sections import DASH, as_dict, as_list, badge, esc, num, table


def time_text(raw: object) -> str:
    """ISO time as ``2026-11-23 13:38:57 UTC``; anything else as it is, escaped."""
    try:
        return esc(datetime.fromisoformat(str(raw)).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))
    except ValueError:
        return esc(raw)


def _waits(action: dict) -> str:
    if action.get("state") == "pending_approval":
        return f"approval until {time_text(action.get('expires_at'))}<br><small>{esc(action.get('approval_reason'))}</small>"
    return time_text(action.get("eta")) if action.get("eta") else DASH


def _verification(action: dict) -> str:
    state = action.get("verification_state")
    if not state:
        return DASH
    when = action.get("verify_at")
    return f"{badge(state)}" + (f"<br><small>due {time_text(when)}</small>" if state in ("due", "checking") else "")


def _evaluation(action: dict) -> str:
    result = as_dict(action.get("result"))
    evaluation = as_dict(result.get("evaluation"))
    if not evaluation:
        return ""
    metric = str(evaluation.get("metric") or "metric")
    rows = [f"<tr><td>candidate v{esc(result.get('new_version'))}</td><td class=\"num\">{num(evaluation.get('candidate'))}</td></tr>",
            f"<tr><td>serving v{esc(result.get('previous_version'))}</td><td class=\"num\">{num(evaluation.get('serving'))}</td></tr>"]
    verdict = "promoted" if evaluation.get("promote") else "not promoted"
    parts = [f"<p class=\"note lead\">Retrain #{esc(action.get('id'))}: {verdict}. {esc(evaluation.get('reason'))}</p>",
             table(["Version", metric], rows, "", numeric=frozenset({metric}))]
    history = {str(name): [(f"{i:04d}", value) for i, value in enumerate(as_list(values), start=1)]
               for name, values in as_dict(result.get("history")).items() if as_list(values)}
    if history:
        parts.append(f"<figure>{svg.line_chart(history, 'Training curves per iteration')}"
                     "<figcaption>As the retrain callable reported them (x: boosting iteration).</figcaption></figure>")
    return "".join(parts)


def schedule(s: dict) -> str:
    """The model's recovery schedule (newest first) and each retrain's evidence."""
    actions = [a for a in as_list(s.get("recovery_schedule")) if isinstance(a, dict)]
    if not actions:
        return ""
    from markupsafe import Markup

    from monitor.reports import templating

    rows = [{**a, "waits": Markup(_waits(a)), "verification": Markup(_verification(a)),
             "outcome": as_dict(a.get("result")).get("summary") or a.get("error") or ""} for a in actions]
    return templating.render("schedule.html.j2", actions=rows, evidence=[Markup(_evaluation(a)) for a in actions])
