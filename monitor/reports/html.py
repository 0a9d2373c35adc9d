"""Render one check run's JSON summary as a single, self-contained HTML5 page.

Why this shape: the report is attached to alerts, archived next to the run and opened by people
who may be offline or behind a mail gateway, so it carries its CSS inline, plots as inline SVG,
uses no JavaScript and loads nothing from the network. The page, its header, banner, open alerts and findings are Jinja2 templates
(``templates/``, autoescaped); the data sections are still built in Python. The summary comes from stored JSON that may
be partial (a failed run, an old schema), so every key except ``model`` and ``run_id`` is optional
and every string is escaped: model, metric and label names are user input.
"""

from __future__ import annotations

from datetime import datetime, timezone

from markupsafe import Markup

from monitor.alerts.policy import OPEN_STATES
from monitor.kpis.change import kpi_change
from monitor.reports import oncall, recovery as recovery_report, sections, service, svg, templating
from monitor.reports.sections import DASH, as_dict as _dict, as_list as _list, badge as _badge, esc as _e



def _time(raw: object) -> str:
    """ISO timestamp -> readable UTC-ish text inside <time>; unparseable text is shown escaped."""
    if raw is None or raw == "":
        return DASH
    try:
        t = datetime.fromisoformat(str(raw))
    except ValueError:
        return _e(raw)
    if t.tzinfo is not None and t.utcoffset() == timezone.utc.utcoffset(None):
        text = t.strftime("%Y-%m-%d %H:%M:%S UTC")
    else:
        text = t.isoformat(sep=" ")
    return f'<time datetime="{_e(raw)}">{_e(text)}</time>'


# ---------------------------------------------------------------- sections


def _window(window: dict) -> str:
    start, end = window.get("start"), window.get("end")
    return DASH if not start and not end else f"{_time(start)} &rarr; {_time(end)}"


def _header_fields(s: dict) -> list[tuple[str, Markup]]:
    window = _dict(s.get("window"))
    fields = [
        ("Task", _e(s.get("task"))), ("Trigger", _e(s.get("trigger"))), ("Status", _badge(s.get("status"))),
        ("Run id", f"<code>{_e(s.get('run_id'))}</code>"),
        ("Window", _window(window)),
        ("Generated", _time(s.get("generated_at"))),
    ]
    return [(k, Markup(v)) for k, v in fields]


def _firing(s: dict) -> tuple[int, bool]:
    """Count open alerts (firing or acknowledged; or firing findings when no alert list was stored)
    and whether any is critical."""
    alerts = s.get("alerts")
    source = _list(alerts) if isinstance(alerts, list) else _list(s.get("findings"))
    key = "state" if isinstance(alerts, list) else "status"
    firing = [a for a in source if isinstance(a, dict) and a.get(key) in OPEN_STATES]
    return len(firing), any(a.get("severity") == "critical" for a in firing)


def _breached(s: dict) -> set[str]:
    """Metrics named by a firing whole-window finding: those are the KPI rows to mark.

    Segment findings (and the per-KPI anomaly and data-quality ones, which use ``segment`` as their
    key) and estimated-performance findings are marked in their own sections instead.
    """
    return {str(f.get("metric")) for f in _list(s.get("findings"))
            if isinstance(f, dict) and f.get("status") == "firing" and f.get("metric") is not None
            and not f.get("segment") and f.get("kind") != "estimated_performance_drop"}


def _change(name: str, value: object, baseline: object) -> str:
    """Signed change plus better/worse for this KPI, coloured by the verdict, never by the sign."""
    change = kpi_change(name, svg.finite(value), svg.finite(baseline))
    if change is None:
        return DASH
    text = change.text.replace("-", "\u2212")  # a real minus sign lines up with the plus
    return f'<span class="{change.verdict}">{_e(text)}</span>'


def _kpis(s: dict) -> str:
    kpis = {str(k): v if isinstance(v, dict) else {"value": v} for k, v in _dict(s.get("kpis")).items()
            if str(k) not in service.SERVICE_KPIS}  # shown in the Service section, in their own units
    breached = _breached(s)
    rows = [{"name": name, "breached": name in breached, "value": k.get("value"), "baseline": k.get("baseline"),
             "change": Markup(_change(name, k.get("value"), k.get("baseline")))} for name, k in kpis.items()]
    items = [(n, k.get("value"), k.get("baseline")) for n, k in kpis.items()]
    chart = Markup(svg.bar_comparison(items, "Window vs baseline")) if kpis else ""
    return templating.render("kpis.html.j2", rows=rows, chart=chart)


def _joint(s: dict) -> str:
    """One verdict line for the multivariate test: drift that no single column shows on its own."""
    m = _dict(s.get("multivariate"))
    if not m:
        return ""
    return templating.render("joint.html.j2", m=m, auc=svg.finite(m.get("auc")), auc_std=svg.finite(m.get("auc_std")),
                             threshold=svg.finite(m.get("threshold")),
                             top=[f for f in _list(m.get("top_features")) if isinstance(f, dict)])


def _variance(s: dict) -> str:
    results = {str(k): v for k, v in _dict(s.get("variance")).items() if isinstance(v, dict)}
    if not results:
        return ""
    ordered = sorted(results.items(), key=lambda item: item[1].get("drifted") is not True)
    return templating.render("variance.html.j2", results=ordered)


def _quality(s: dict) -> str:
    if not isinstance(s.get("quality"), list):
        return ""
    rank = {"critical": 0, "warning": 1}
    issues = sorted((q for q in s["quality"] if isinstance(q, dict)), key=lambda q: rank.get(q.get("severity"), 2))
    return templating.render("quality.html.j2", issues=issues)


def _confusion(s: dict) -> str:
    cm = _dict(s.get("confusion_matrix"))
    matrix = _list(cm.get("matrix"))
    if not matrix:
        return ""
    labels = [str(x) for x in _list(cm.get("labels"))]
    return templating.render("chart.html.j2", key="confusion", title="Confusion matrix",
                             chart=Markup(svg.heatmap(labels, matrix, "Actual vs predicted")),
                             caption="Rows are actual classes; colour is each cell's share of its row.")


def _per_class(s: dict) -> str:
    """Multiclass models: precision, recall and F1 of each class, with its support."""
    classes = [(label, _dict(m)) for label, m in _dict(s.get("per_class")).items()]
    return templating.render("per_class.html.j2", classes=classes) if classes else ""


def _findings(s: dict) -> str:
    """Every rule's verdict, firing first; drift rows name their feature ("About"), messages wrap."""
    rank = {"firing": 0, "insufficient_data": 2}
    findings = sorted((f for f in _list(s.get("findings")) if isinstance(f, dict)),
                      key=lambda f: rank.get(f.get("status"), 1))
    return templating.render("findings.html.j2", findings=findings)


def _history(s: dict) -> str:
    history = {str(k): _list(v) for k, v in _dict(s.get("history")).items()
               if _list(v) and str(k) not in service.SERVICE_KPIS}  # one scale: model KPIs only
    if not history:
        return ""
    limits = {k: v for k, v in _dict(s.get("thresholds")).items() if str(k) in history}
    flagged = {str(k): v for k, v in _dict(s.get("anomalies")).items() if str(k) in history and _list(v)}
    plot = svg.line_chart(history, "KPI value per check run", limits or None, flagged or None,
                          _list(s.get("events")))
    notes = ["Red rings mark points an anomaly detector flagged against the KPI's own history."
             if 'class="anomaly"' in plot else "",
             "Dotted lines mark deploys, rollbacks and retrains." if 'class="event"' in plot else ""]
    return templating.render("chart.html.j2", key="history", title="KPI history", chart=Markup(plot),
                             caption=" ".join(n for n in notes if n))


def _footer(s: dict) -> str:
    counts = _dict(s.get("counts"))
    rows, labelled = svg.finite(counts.get("rows")), svg.finite(counts.get("labelled_rows"))
    return templating.render(
        "footer.html.j2", rows=rows, labelled=labelled,
        rows_text=svg.fmt_count(rows) if rows is not None else DASH,
        labelled_text=svg.fmt_count(labelled) if labelled is not None else DASH,
        share=f" ({labelled / rows:.1%})" if rows and labelled is not None else "")


def report_page(report) -> str:
    """The HTML page of a stored report (a ``reports`` row), rendered from its summary when read.

    The report stage stores the summary and leaves ``html`` empty: the page (templates and inline
    SVG plots) is a pure function of the summary, it was about a twentieth of a small check's CPU,
    and most reports are never opened. A report stored with its page keeps that page.
    """
    return report.html or render_html(report.summary)


def render_html(summary: dict) -> str:
    """Full HTML5 document for one check run; safe on partial summaries and hostile strings."""
    s = _dict(summary)
    # the person on call reads top-down: what is open, what happens next, then the evidence
    parts = [oncall.open_alerts(s), oncall.next_steps(s), recovery_report.schedule(s),
             '<h2 class="part">Evidence</h2>', _kpis(s), _history(s), service.service(s), sections.estimated(s),
             sections.segments(s), sections.drift(s), _joint(s), _variance(s), _quality(s), _confusion(s),
             _per_class(s), _findings(s), _footer(s)]
    return templating.render("report.html.j2", s=s, title=f"{s.get('model')} \u00b7 check run {s.get('run_id')}",
                             css=Markup(templating.css()), fields=_header_fields(s), failed=s.get("status") == "failed",
                             error=s.get("error"), open_count=_firing(s)[0], critical=_firing(s)[1],
                             parts=[Markup(p) for p in parts])
