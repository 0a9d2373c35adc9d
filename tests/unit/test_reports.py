"""Tests for the self-contained HTML check-run report and its inline SVG plots."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from monitor.reports import render_html
from monitor.reports.svg import bar_comparison, heatmap, line_chart

SVG_NS = "{http://www.w3.org/2000/svg}"
EVIL = "<script>alert(1)</script>"


def full_summary() -> dict:
    return {
        "run_id": "ab12cd34", "model": "churn", "version": "2", "task": "binary_classification",
        "trigger": "schedule", "status": "succeeded", "error": None,
        "window": {"start": "2026-11-23T09:00:00+00:00", "end": "2026-11-23T10:00:00+00:00"},
        "generated_at": "2026-11-23T10:00:05+00:00",
        "counts": {"rows": 5000, "labelled_rows": 4200},
        "kpis": {"accuracy": {"value": 0.81, "baseline": 0.9}, "recall": {"value": 0.55, "baseline": 0.8},
                 "precision": {"value": 0.75, "baseline": 0.74}},
        "confusion_matrix": {"labels": ["0", "1"], "matrix": [[3000, 200], [400, 600]]},
        "findings": [
            {"rule": "recall_drop", "kind": "performance_drop", "status": "firing", "severity": "critical",
             "metric": "recall", "value": 0.55, "baseline": 0.8, "threshold": 10.0,
             "message": "recall fell 31.3% below its baseline 0.800 (to 0.550); rule allows 10%"},
            {"rule": "accuracy_drop", "kind": "performance_drop", "status": "ok", "severity": "warning",
             "metric": "accuracy", "value": 0.81, "baseline": 0.9, "threshold": 15.0, "message": "within 15%"},
        ],
        "alerts": [{"id": 3, "rule": "recall_drop", "state": "firing", "severity": "critical",
                    "message": "recall dropped", "first_seen": "2026-11-23T10:00:04+00:00", "resolved_at": None}],
        "recovery_actions": [{"id": 1, "kind": "rollback", "state": "scheduled", "eta": "2026-11-23T10:15:00+00:00",
                              "reason": "recall_drop firing", "result": {"to_version": "1"}, "error": None}],
        "history": {"recall": [["2026-11-23T07:00:00+00:00", 0.8], ["2026-11-23T08:00:00+00:00", 0.79],
                               ["2026-11-23T09:00:00+00:00", None], ["2026-11-23T10:00:00+00:00", 0.55]],
                    "accuracy": [["2026-11-23T07:00:00+00:00", 0.9], ["2026-11-23T10:00:00+00:00", 0.81]]},
        "thresholds": {"recall": 0.72},
    }


def svgs(document: str) -> list[ET.Element]:
    """Parse every inline <svg> as standalone XML: proves each plot is well-formed."""
    blocks = re.findall(r"<svg\b.*?</svg>", document, flags=re.S)
    return [ET.fromstring(b) for b in blocks]


def parse_svg(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == SVG_NS + "svg"
    assert root.get("viewBox") and root.get("width") == "100%"
    assert root.find(SVG_NS + "title") is not None
    return root


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(SVG_NS + "text")]


# ---------------------------------------------------------------- full document


def test_document_structure_and_sections():
    out = render_html(full_summary())
    assert out.startswith("<!DOCTYPE html>")
    assert "<style>" in out and "<script" not in out
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", out), "report must not fetch anything"
    for section in ("kpis", "confusion", "findings", "alerts", "recovery", "history"):
        assert f'<section id="{section}">' in out
    for heading in ("KPIs against baseline", "Confusion matrix", "Findings", "Alerts", "Recovery actions",
                    "KPI history"):
        assert f"<h2>{heading}</h2>" in out
    assert "churn" in out and "v2" in out and "ab12cd34" in out and "schedule" in out
    assert "2026-11-23 09:00:00 UTC" in out and "2026-11-23 10:00:05 UTC" in out
    assert "<footer>" in out and "5,000 rows" in out and "4,200 labelled rows" in out and "84.0%" in out


def test_verdict_banner_counts_firing_alerts():
    out = render_html(full_summary())
    assert '<div class="banner crit" role="status">1 alert firing</div>' in out
    healthy = full_summary() | {"alerts": [], "findings": []}
    assert "Healthy" in render_html(healthy)
    failed = full_summary() | {"status": "failed", "error": "db timeout"}
    assert "Check run failed" in render_html(failed) and "db timeout" in render_html(failed)


def test_kpi_table_numbers_and_breach_marker():
    out = render_html(full_summary())
    kpi = out[out.index('<section id="kpis">'):out.index('<section id="confusion">')]
    rows = re.findall(r"<tr.*?</tr>", kpi, flags=re.S)[1:]
    recall = next(r for r in rows if ">recall" in r)
    accuracy = next(r for r in rows if ">accuracy" in r)
    assert 'class="breached"' in recall and "breached</span>" in recall
    assert "breached" not in accuracy
    assert "0.550" in recall and "0.800" in recall and "\u221231.2%" in recall
    assert "\u221210.0%" in accuracy
    assert "+1.4%" in kpi  # precision improved
    assert len(svgs(kpi)) == 1


def test_tables_render_rows():
    out = render_html(full_summary())
    assert "recall fell 31.3% below its baseline" in out
    assert '<td class="num">10</td>' in out  # threshold printed as configured
    assert "rollback" in out and "{&quot;to_version&quot;: &quot;1&quot;}" in out
    assert "2026-11-23 10:15:00 UTC" in out


def test_all_svgs_well_formed():
    roots = svgs(render_html(full_summary()))
    assert len(roots) == 3  # bars, heatmap, history
    for root in roots:
        assert root.get("viewBox") and root.find(SVG_NS + "title") is not None


def test_escaping_of_hostile_strings():
    s = full_summary()
    s["model"] = EVIL
    s["version"] = EVIL
    s["run_id"] = EVIL
    s["kpis"] = {EVIL: {"value": 0.5, "baseline": 0.9}}
    s["findings"][0].update(metric=EVIL, message=EVIL, rule=EVIL)
    s["alerts"][0].update(message=EVIL, rule=EVIL, severity=EVIL)
    s["recovery_actions"][0].update(reason=EVIL, result={"note": EVIL}, error=EVIL)
    s["confusion_matrix"]["labels"] = [EVIL, "1"]
    s["history"] = {EVIL: [["2026-11-23T07:00:00+00:00", 0.5], [EVIL, 0.6]]}
    s["thresholds"] = {EVIL: 0.7}
    s["window"] = {"start": EVIL, "end": None}
    out = render_html(s)
    assert "<script" not in out.lower()
    assert "&lt;script&gt;" in out
    assert 'class="breached"' in out  # metric names still match after escaping
    roots = svgs(out)
    assert len(roots) == 3
    assert any(EVIL in texts(root) for root in roots)  # parsed back, the text is the original name


def test_minimal_summary():
    out = render_html({"model": "m", "run_id": "r"})
    assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")
    assert "Healthy" in out
    for empty in ("none: no KPIs were computed", "none: no rules were evaluated", "none: no alerts",
                  "none: no recovery actions"):
        assert empty in out
    assert "<table" not in out and "<svg" not in out
    assert 'id="confusion"' not in out and 'id="history"' not in out


@pytest.mark.parametrize("junk", [None, "x", 3, [], {"a": None}])
def test_garbage_fields_do_not_crash(junk):
    keys = ("window", "counts", "kpis", "confusion_matrix", "findings", "alerts", "recovery_actions",
            "history", "thresholds", "version", "status", "generated_at")
    out = render_html({"model": "m", "run_id": "r", **{k: junk for k in keys}})
    assert "</html>" in out
    svgs(out)  # whatever plots were drawn must still parse


def test_bare_number_kpis_are_treated_as_window_values():
    out = render_html({"model": "m", "run_id": "r", "kpis": {"accuracy": 0.9}})
    assert '<td class="num">0.900</td>' in out and len(svgs(out)) == 1


def test_nan_and_none_kpis():
    s = {"model": "m", "run_id": "r", "kpis": {"auc": {"value": float("nan"), "baseline": None},
                                               "f1": {"value": 0.5}}}
    out = render_html(s)
    assert len(svgs(out)) == 1 and "n/a" in out


# ---------------------------------------------------------------- svg functions


def test_bar_comparison_values_and_missing():
    root = parse_svg(bar_comparison([("accuracy", 0.81, 0.9), ("recall", None, 0.8)], "KPIs"))
    t = texts(root)
    assert "0.810" in t and "0.900" in t and "n/a" in t
    assert len(root.findall(f"{SVG_NS}rect")) >= 3 + 2  # 3 bars + 2 legend swatches


def test_bar_comparison_any_floats_and_empty():
    root = parse_svg(bar_comparison([("loss", -2.5, 12.0), ("mae", 1500.0, float("inf"))], "t"))
    assert "1,500" in texts(root)
    assert "no metrics" in texts(parse_svg(bar_comparison([], "t")))


def test_heatmap_cells_and_counts():
    root = parse_svg(heatmap(["0", "1"], [[3000, 200], [400, 600]], "cm"))
    t = texts(root)
    for count in ("3,000", "200", "400", "600"):
        assert count in t
    cells = [r for r in root.findall(f"{SVG_NS}rect")]
    assert len(cells) == 4
    fills = {r.find(f"{SVG_NS}title").text: r.get("fill") for r in cells}
    assert len(set(fills.values())) == 4  # row-normalised shades differ
    assert any("93.8% of row" in k for k in fills)


def test_heatmap_ragged_and_empty():
    root = parse_svg(heatmap(["a", "b", "c"], [[1, 2], [3]], "cm"))
    assert len(root.findall(f"{SVG_NS}rect")) == 9
    assert "no data" in texts(parse_svg(heatmap([], [], "cm")))
    parse_svg(heatmap(["x"], [[0]], "zeros"))


def test_line_chart_single_point():
    root = parse_svg(line_chart({"recall": [("2026-11-23T08:00:00+00:00", 0.8)]}, "h"))
    assert len(root.findall(f"{SVG_NS}circle")) == 1
    assert not root.findall(f"{SVG_NS}polyline")


def test_line_chart_none_gaps_split_the_line():
    pts = [("2026-11-23T0%d:00:00+00:00" % h, v) for h, v in enumerate([0.8, 0.79, None, 0.6, 0.61])]
    root = parse_svg(line_chart({"recall": pts}, "h", thresholds={"recall": 0.72}))
    assert len(root.findall(f"{SVG_NS}circle")) == 4
    assert len(root.findall(f"{SVG_NS}polyline")) == 2
    dashed = [ln for ln in root.findall(f"{SVG_NS}line") if ln.get("stroke-dasharray")]
    assert len(dashed) == 1
    assert any("threshold 0.720" in t for t in texts(root))


def test_line_chart_flat_and_non_time_labels():
    root = parse_svg(line_chart({"a": [("run1", 0.5), ("run2", 0.5), ("run3", 0.5)]}, "flat"))
    ys = {c.get("cy") for c in root.findall(f"{SVG_NS}circle")}
    assert len(ys) == 1
    assert "no data" in texts(parse_svg(line_chart({}, "empty")))
    assert "no data" in texts(parse_svg(line_chart({"a": [("t", None)]}, "gaps only")))


@pytest.mark.parametrize("values", [(1e308, -1e308), (1.79e308, 1.79e308), (-1.79e308, None), (5e-324, 0.0),
                                    (5e-12, 5e-12), (0.0, 0.0), (-3.0, 2e6)])
def test_extreme_values_stay_finite(values):
    a, b = values
    charts = [bar_comparison([("m", a, b)], "bars"), heatmap(["x", "y"], [[a, 1], [0, 0]], "cm"),
              line_chart({"m": [("2026-01-01T00:00:00", a), ("2026-01-02T00:00:00", b)]}, "line", {"m": a})]
    for out in charts:
        parse_svg(out)
        assert "nan" not in out and "inf" not in out


def test_svg_text_is_escaped():
    for out in (bar_comparison([(EVIL, 0.5, 0.5)], EVIL), heatmap([EVIL], [[1]], EVIL),
                line_chart({EVIL: [(EVIL, 1.0)]}, EVIL, {EVIL: 0.5})):
        assert "<script>" not in out
        root = parse_svg(out)
        assert root.find(SVG_NS + "title").text == EVIL
