"""Render one check run's JSON summary as a single, self-contained HTML5 page.

Why this shape: the report is attached to alerts, archived next to the run and opened by people
who may be offline or behind a mail gateway, so it carries its CSS inline, plots as inline SVG,
uses no JavaScript and loads nothing from the network. The summary comes from stored JSON that may
be partial (a failed run, an old schema), so every key except ``model`` and ``run_id`` is optional
and every string is escaped: model, metric and label names are user input.
"""

from __future__ import annotations

from datetime import datetime, timezone

from monitor.alerts.policy import OPEN_STATES
from monitor.kpis.change import kpi_change
from monitor.reports import oncall, recovery as recovery_report, sections, service, svg
from monitor.reports.sections import DASH, ROW_BREACHED, as_dict as _dict, as_list as _list, badge as _badge, \
    column_name, esc as _e, method_name, num as _num, p_value, plain as _plain, section as _section, table as _table

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f5f6f8;color:#1f2937;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
main{max-width:1080px;margin:0 auto;padding:28px 24px 40px}
h1{font-size:26px;margin:0 0 4px}h1 .ver{color:#6b7280;font-weight:500}
h2{font-size:18px;margin:0 0 12px}
.meta{display:flex;flex-wrap:wrap;gap:6px 36px;margin:12px 0 0}
.meta div{display:flex;gap:8px}.meta dt{color:#6b7280}.meta dd{margin:0;font-weight:500}
.banner{border-radius:8px;padding:14px 18px;margin:20px 0;font-size:17px;font-weight:600;border:1px solid}
.banner small{display:block;font-weight:400;font-size:14px;margin-top:2px}
.banner.ok{background:#ecfdf5;border-color:#a7f3d0;color:#065f46}
.banner.warn{background:#fffbeb;border-color:#fde68a;color:#92400e}
.banner.crit{background:#fef2f2;border-color:#fecaca;color:#991b1b}
section{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:18px 20px;margin:0 0 18px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:14px}
th{text-align:left;color:#6b7280;font-weight:600;border-bottom:2px solid #e5e7eb;padding:6px 10px;white-space:nowrap}
td{border-bottom:1px solid #f0f1f3;padding:7px 10px;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.breached td{background:#fef2f2}
.badge{display:inline-block;border-radius:999px;padding:1px 9px;font-size:12px;font-weight:600;
background:#f3f4f6;color:#374151;white-space:nowrap}
.badge.crit{background:#fee2e2;color:#991b1b}.badge.warn{background:#fef3c7;color:#92400e}
.badge.ok{background:#d1fae5;color:#065f46}.badge.muted{background:#f3f4f6;color:#6b7280}
.down,.worse{color:#b91c1c}.up,.better{color:#047857}
figure{margin:16px 0 0}figure svg{display:block}
figcaption{color:#6b7280;font-size:13px;margin-top:4px}
.none{color:#6b7280;font-style:italic;margin:0}
code{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f3f4f6;padding:1px 4px;
border-radius:4px;word-break:break-all}
.err{color:#b91c1c}
footer{color:#6b7280;font-size:13px;text-align:center;margin-top:8px}
td small,.note{color:#6b7280}td small{font-size:12px}
.note{font-size:13px;margin:10px 0 0}.note.lead{margin:0 0 10px;font-size:14px;color:#374151}
td.breached{background:#fef2f2}.mark{color:#b91c1c;font-size:11px}.over{color:#b91c1c;font-weight:600}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:4px 24px}
details{margin:16px 0 0}summary{cursor:pointer;color:#374151;font-weight:600;font-size:14px}
#findings table{font-size:13px;table-layout:fixed}#findings td{overflow-wrap:anywhere}#findings th{white-space:normal}#findings th:nth-child(1){width:13%}#findings th:nth-child(2){width:17%}#findings th:nth-child(3),#findings th:nth-child(4){width:9%}#findings th:nth-child(n+5):nth-child(-n+7){width:8%}
h2.part{font-size:15px;text-transform:uppercase;letter-spacing:.06em;color:#6b7280;margin:28px 0 10px}
.group,.action{border-left:3px solid #e5e7eb;padding:2px 0 2px 12px;margin:0 0 14px}.group ul{margin:6px 0 0;padding-left:18px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0}dl.facts dt{color:#6b7280}
dl.facts dd{margin:0}pre{font-size:12px;background:#f3f4f6;padding:8px;overflow-x:auto;max-height:24em}
figure.small svg{max-width:560px!important}
.nowrap{white-space:nowrap}.verdict{display:flex;flex-wrap:wrap;align-items:baseline;gap:6px 12px;margin:0}
"""


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


def _header(s: dict) -> str:
    window = _dict(s.get("window"))
    version = f' <span class="ver">v{_e(s["version"])}</span>' if s.get("version") not in (None, "") else ""
    fields = [
        ("Task", _e(s.get("task"))), ("Trigger", _e(s.get("trigger"))), ("Status", _badge(s.get("status"))),
        ("Run id", f"<code>{_e(s.get('run_id'))}</code>"),
        ("Window", _window(window)),
        ("Generated", _time(s.get("generated_at"))),
    ]
    meta = "".join(f"<div><dt>{_e(k)}</dt><dd>{v}</dd></div>" for k, v in fields)
    return f'<header><h1>{_e(s.get("model"))}{version}</h1><dl class="meta">{meta}</dl></header>'


def _firing(s: dict) -> tuple[int, bool]:
    """Count open alerts (firing or acknowledged; or firing findings when no alert list was stored)
    and whether any is critical."""
    alerts = s.get("alerts")
    source = _list(alerts) if isinstance(alerts, list) else _list(s.get("findings"))
    key = "state" if isinstance(alerts, list) else "status"
    firing = [a for a in source if isinstance(a, dict) and a.get(key) in OPEN_STATES]
    return len(firing), any(a.get("severity") == "critical" for a in firing)


def _banner(s: dict) -> str:
    if s.get("status") == "failed":
        detail = f"<small>{_e(s.get('error'))}</small>" if s.get("error") else ""
        return f'<div class="banner crit" role="status">Check run failed{detail}</div>'
    count, critical = _firing(s)
    if count == 0:
        return '<div class="banner ok" role="status">Healthy &mdash; no alerts firing</div>'
    level = "crit" if critical else "warn"
    noun = "alert" if count == 1 else "alerts"
    return f'<div class="banner {level}" role="status">{count} {noun} open</div>'


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
    rows = []
    for name, k in kpis.items():
        hit = name in breached
        mark = ' <span class="badge crit">breached</span>' if hit else ""
        rows.append(
            f'<tr{ROW_BREACHED if hit else ""}><td>{_e(name)}{mark}</td>'
            f'<td class="num">{_num(k.get("value"))}</td><td class="num">{_num(k.get("baseline"))}</td>'
            f'<td class="num">{_change(name, k.get("value"), k.get("baseline"))}</td></tr>'
        )
    body = _table(["Metric", "Window", "Baseline", "Change"], rows, "none: no KPIs were computed",
                  frozenset({"Window", "Baseline", "Change"}))
    if kpis:
        items = [(n, k.get("value"), k.get("baseline")) for n, k in kpis.items()]
        body += f"<figure>{svg.bar_comparison(items, 'Window vs baseline')}</figure>"
    return _section("kpis", "KPIs against baseline", body)


def _joint(s: dict) -> str:
    """One verdict line for the multivariate test: drift that no single column shows on its own."""
    m = _dict(s.get("multivariate"))
    if not m:
        return ""
    verdict = _badge("drifted" if m.get("drifted") is True else "ok")
    if svg.finite(m.get("auc")) is not None:
        spread = f" \u00b1 {_num(m.get('auc_std'))}" if svg.finite(m.get("auc_std")) is not None else ""
        stat = f"Domain classifier ROC-AUC <b>{_num(m.get('auc'))}</b>{spread}"
    else:
        stat = f"{_e(str(m.get('method') or 'statistic').replace('_', ' '))} <b>{_num(m.get('statistic'))}</b>"
    limit = f" (drift at \u2265 {_plain(m.get('threshold'))})" if svg.finite(m.get("threshold")) is not None else ""
    features = [f for f in _list(m.get("top_features")) if isinstance(f, dict)]
    top = ", ".join(f"{_e(column_name(f.get('feature')))} <small>{_num(f.get('importance'))}</small>"
                    for f in features)
    body = f'<p class="verdict">{verdict}<span>{stat}{limit}</span></p>'
    if m.get("message"):
        body += f'<p class="note">{_e(m.get("message"))}</p>'
    if top:
        body += f'<p class="note">Features that best tell window from reference: {top}</p>'
    return _section("joint", "Joint drift", body)


def _variance(s: dict) -> str:
    results = {str(k): v for k, v in _dict(s.get("variance")).items() if isinstance(v, dict)}
    if not results:
        return ""
    rows = [
        f'<tr{ROW_BREACHED if v.get("drifted") is True else ""}><td>{_e(column_name(c))}</td>'
        f'<td>{_badge("drifted" if v.get("drifted") is True else "ok")}</td>'
        f'<td class="nowrap">{method_name(v.get("test"))}</td><td class="num">{_num(v.get("variance_ratio"))}</td>'
        f'<td class="num">{_num(v.get("statistic"))}</td><td class="num">{p_value(v.get("p_value"))}</td>'
        f'<td>{_e(sections.words(v.get("message")))}</td></tr>'
        for c, v in sorted(results.items(), key=lambda item: item[1].get("drifted") is not True)
    ]
    heads = ["Column", "Status", "Test", "Variance ratio", "Statistic", "p", "Message"]
    return _section("variance", "Variance change", _table(heads, rows, "", frozenset(heads[3:6])))


def _quality(s: dict) -> str:
    if not isinstance(s.get("quality"), list):
        return ""
    rank = {"critical": 0, "warning": 1}
    issues = sorted((q for q in s["quality"] if isinstance(q, dict)), key=lambda q: rank.get(q.get("severity"), 2))
    rows = [
        f'<tr><td class="nowrap">{_e(str(q.get("check") or "").replace("_", " "))}</td>'
        f'<td>{_e(column_name(q.get("column")))}</td><td>{_badge(q.get("severity"))}</td>'
        f'<td class="num">{_num(q.get("value"))}</td><td class="num">{_plain(q.get("threshold"))}</td>'
        f'<td class="num">{_num(q.get("reference_value"))}</td><td>{_e(q.get("message"))}</td></tr>'
        for q in issues
    ]
    heads = ["Check", "Column", "Severity", "Value", "Threshold", "Reference", "Message"]
    return _section("quality", "Data quality",
                    _table(heads, rows, "none: no data-quality issues found", frozenset(heads[3:6])))


def _confusion(s: dict) -> str:
    cm = _dict(s.get("confusion_matrix"))
    matrix = _list(cm.get("matrix"))
    if not matrix:
        return ""
    labels = [str(x) for x in _list(cm.get("labels"))]
    plot = svg.heatmap(labels, matrix, "Actual vs predicted")
    caption = "<figcaption>Rows are actual classes; colour is each cell's share of its row.</figcaption>"
    return _section("confusion", "Confusion matrix", f"<figure>{plot}{caption}</figure>")


def _per_class(s: dict) -> str:
    """Multiclass models: precision, recall and F1 of each class, with its support."""
    classes = _dict(s.get("per_class"))
    rows = [
        f'<tr><td>{_e(label)}</td><td class="num">{_num(_dict(m).get("precision"))}</td>'
        f'<td class="num">{_num(_dict(m).get("recall"))}</td><td class="num">{_num(_dict(m).get("f1"))}</td>'
        f'<td class="num">{_e(_dict(m).get("support"))}</td></tr>'
        for label, m in classes.items()
    ]
    if not rows:
        return ""
    heads = ["Class", "Precision", "Recall", "F1", "Support"]
    return _section("per-class", "Per class", _table(heads, rows, "", frozenset(heads[1:])))


def _findings(s: dict) -> str:
    """Every rule's verdict, firing first; drift rows name their feature ("About"), messages wrap."""
    rank = {"firing": 0, "insufficient_data": 2}
    findings = sorted((f for f in _list(s.get("findings")) if isinstance(f, dict)),
                      key=lambda f: rank.get(f.get("status"), 1))
    rows = [
        f'<tr{ROW_BREACHED if f.get("status") == "firing" else ""}><td>{_e(f.get("rule"))}</td>'
        f"<td>{_e(oncall.subject(f))}</td><td>{_badge(f.get('status'))}</td><td>{_badge(f.get('severity'))}</td>"
        f'<td class="num">{_num(f.get("value"))}</td><td class="num">{_num(f.get("baseline"))}</td>'
        f'<td class="num">{_plain(f.get("threshold"))}</td><td class="msg">{_e(sections.words(f.get("message")))}</td></tr>'
        for f in findings
    ]
    heads = ["Rule", "About", "Status", "Severity", "Value", "Baseline", "Threshold", "Message"]
    return _section("findings", "Findings",
                    _table(heads, rows, "none: no rules were evaluated", frozenset(heads[4:7])))


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
    caption = f"<figcaption>{' '.join(n for n in notes if n)}</figcaption>" if any(notes) else ""
    return _section("history", "KPI history", f"<figure>{plot}{caption}</figure>")


def _footer(s: dict) -> str:
    counts = _dict(s.get("counts"))
    rows, labelled = svg.finite(counts.get("rows")), svg.finite(counts.get("labelled_rows"))
    if rows is None and labelled is None:
        data = "Data counts not recorded"
    else:
        share = f" ({labelled / rows:.1%})" if rows and labelled is not None else ""
        data = (f"Data: {svg.fmt_count(rows) if rows is not None else DASH} rows, "
                f"{svg.fmt_count(labelled) if labelled is not None else DASH} labelled rows{share}")
    return f"<footer>{data} &middot; report by modelwatch</footer>"


def render_html(summary: dict) -> str:
    """Full HTML5 document for one check run; safe on partial summaries and hostile strings."""
    s = _dict(summary)
    title = f"{s.get('model')} \u00b7 check run {s.get('run_id')}"
    # the person on call reads top-down: what is open, what happens next, then the evidence
    parts = [_header(s), _banner(s), oncall.open_alerts(s), oncall.next_steps(s), recovery_report.schedule(s),
             '<h2 class="part">Evidence</h2>', _kpis(s), _history(s), service.service(s), sections.estimated(s),
             sections.segments(s), sections.drift(s), _joint(s), _variance(s), _quality(s), _confusion(s),
             _per_class(s), _findings(s), _footer(s)]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{''.join(parts)}</main></body></html>\n"
    )
