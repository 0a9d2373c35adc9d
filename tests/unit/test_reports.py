"""Tests for the self-contained HTML check-run report and its inline SVG plots."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from monitor.reports import render_html
from monitor.reports.charts import distribution
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


def rich_summary() -> dict:
    """full_summary plus every data section: estimate, segments, drift, variance, quality, anomalies."""
    s = full_summary()
    s["estimated"] = {"kpis": {"accuracy": 0.83, "recall": 0.6}, "lower": {"accuracy": 0.81, "recall": 0.56},
                      "upper": {"accuracy": 0.85, "recall": 0.64}, "n": 5000, "confidence": 0.95}
    s["segments"] = {
        "region=north": {"kpis": {"recall": 0.71, "precision": 0.77}, "labelled_rows": 812,
                         "baseline": {"recall": 0.81, "precision": 0.75}},
        "region=south": {"kpis": {"recall": 0.41, "precision": 0.7}, "labelled_rows": 1930,
                         "baseline": {"recall": 0.8, "precision": 0.73}},
    }
    s["findings"].append({"rule": "precision_drop", "kind": "performance_drop", "status": "firing",
                          "severity": "warning", "metric": "precision", "value": 0.7, "baseline": 0.73,
                          "threshold": 2.0, "segment": "region=south", "message": "[region=south] precision fell"})
    edges = [0, 10, 20, 30, 40]
    s["drift"] = [
        {"column": "age", "kind": "numeric", "method": "ks", "statistic": 0.03, "p_value": 0.4,
         "p_value_adjusted": 0.8, "effect_method": "wasserstein", "effect_size": 0.02, "threshold_p_value": 0.01,
         "threshold_effect": 0.1, "drifted": False, "reference_count": 3000, "current_count": 800,
         "unseen_categories": [], "unseen_share": 0.0, "message": "no drift", "skipped": None},
        {"column": "plan", "kind": "categorical", "method": "chi2", "statistic": 88.1, "p_value": 3e-12,
         "p_value_adjusted": 9e-12, "effect_method": "jensen_shannon", "effect_size": 0.21, "threshold_p_value": 0.01,
         "threshold_effect": 0.1, "drifted": True, "reference_count": 3000, "current_count": 800,
         "unseen_categories": ["platinum"], "unseen_share": 0.02, "message": "plan drifted", "skipped": None},
        {"column": "__score__", "kind": "numeric", "method": "ks", "statistic": 0.12, "p_value": 1e-9,
         "p_value_adjusted": 2e-9, "effect_method": "psi", "effect_size": 0.31, "threshold_p_value": 0.01,
         "threshold_effect": 0.1, "drifted": True, "reference_count": 3000, "current_count": 800,
         "message": "score drifted", "skipped": None},
        {"column": "__prediction__", "kind": "categorical", "method": "chi2", "drifted": False,
         "reference_count": 3000, "current_count": 12, "skipped": "too few rows (12 < 50)"},
    ]
    s["variance"] = {"age": {"test": "brown_forsythe", "statistic": 0.4, "p_value": 0.52, "variance_ratio": 1.02,
                             "drifted": False, "message": "no significant change in variance"},
                     "income": {"test": "brown_forsythe", "statistic": 41.2, "p_value": 3e-10,
                                "variance_ratio": 1.8, "drifted": True, "message": "more variable than the reference"}}
    s["multivariate"] = {"method": "domain_classifier", "drifted": False, "message": "hard to tell apart",
                         "auc": 0.53, "auc_std": 0.01, "threshold": 0.65,
                         "top_features": [{"feature": "income", "importance": 0.4},
                                          {"feature": "__score__", "importance": 0.21}]}
    s["quality"] = [
        {"check": "missing", "column": "age", "severity": "warning", "value": 0.2, "threshold": 0.05,
         "reference_value": 0.01, "message": "20.0% of 'age' is missing"},
        {"check": "new_categories", "column": "plan", "severity": "critical", "value": 0.02, "threshold": 0.01,
         "reference_value": 0.0, "message": "2.0% of 'plan' are new categories"},
    ]
    s["distributions"] = {
        "age": {"type": "numeric", "reference": {"edges": edges, "counts": [10, 20, 30, 40], "below": 0, "above": 0,
                                                 "missing": 0},
                "window": {"edges": edges, "counts": [1, 2, 3, 4], "below": 0, "above": 0, "missing": 2}},
        "plan": {"type": "categorical", "reference": {"categories": ["a", "b"], "counts": [10, 5]},
                 "window": {"categories": ["a", "b"], "counts": [3, 9], "other": 1, "missing": 0}},
        "__score__": {"type": "numeric", "reference": {"edges": [0, 0.5, 1], "counts": [5, 5]},
                      "window": {"edges": [0, 0.5, 1], "counts": [1, 9], "below": 0, "above": 0, "missing": 0}},
    }
    s["anomalies"] = {"recall": [1, 3], "accuracy": [1]}
    return s


def between(document: str, section: str) -> str:
    """The HTML of one <section id=...>."""
    start = document.index(f'<section id="{section}">')
    return document[start:document.index("</section>", start)]


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
    for heading in ("KPIs against baseline", "Confusion matrix", "Findings", "Open alerts, by cause",
                    "What happens next: recovery actions of this run", "KPI history"):
        assert f"<h2>{heading}</h2>" in out
    assert "churn" in out and "v2" in out and "ab12cd34" in out and "schedule" in out
    assert "2026-11-23 09:00:00 UTC" in out and "2026-11-23 10:00:05 UTC" in out
    assert "<footer>" in out and "5,000 rows" in out and "4,200 labelled rows" in out and "84.0%" in out


def test_verdict_banner_counts_open_alerts():
    out = render_html(full_summary())
    assert '<div class="banner crit" role="status">1 alert open</div>' in out
    acknowledged = full_summary()
    acknowledged["alerts"] = [{**a, "state": "acknowledged"} for a in acknowledged["alerts"]]
    assert '<div class="banner crit" role="status">1 alert open</div>' in render_html(acknowledged)
    healthy = full_summary() | {"alerts": [], "findings": []}
    assert "Healthy" in render_html(healthy)
    failed = full_summary() | {"status": "failed", "error": "db timeout"}
    assert "Check run failed" in render_html(failed) and "db timeout" in render_html(failed)


def test_kpi_table_numbers_and_breach_marker():
    out = render_html(full_summary())
    kpi = between(out, "kpis")
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
    recovery = between(out, "recovery")
    assert "rollback" in recovery and "<dt>to version</dt><dd>1</dd>" in recovery  # rendered, not dumped
    assert "<details><summary>Raw result</summary><pre>{\n  &#34;to_version&#34;: &#34;1&#34;\n}</pre>" in recovery
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
    for empty in ("none: no KPIs were computed", "none: no rules were evaluated"):
        assert empty in out
    assert 'id="alerts"' not in out and 'id="recovery"' not in out  # nothing open, nothing scheduled
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


# ---------------------------------------------------------------- data sections


def test_data_sections_render_in_order():
    out = render_html(rich_summary())
    order = ["kpis", "history", "estimated", "segments", "drift", "joint", "variance", "quality", "confusion"]
    positions = [out.index(f'<section id="{key}">') for key in order]
    assert positions == sorted(positions)
    for heading in ("Estimated performance (no labels needed)", "Segments", "Data drift", "Joint drift",
                    "Variance change", "Data quality"):
        assert f"<h2>{heading}</h2>" in out
    assert "<script" not in out and not re.search(r"https?://(?!www\.w3\.org/2000/svg)", out)
    roots = svgs(out)
    assert len(roots) == 3 + 3  # bars, heatmap, history + one distribution per column
    assert "__score__" not in out and "__prediction__" not in out  # the model's outputs get names


def test_estimated_section():
    s = rich_summary()
    out = between(render_html(s), "estimated")
    rows = re.findall(r"<tr.*?</tr>", out, flags=re.S)
    assert "95% band" in rows[0]
    accuracy = next(r for r in rows if ">accuracy<" in r)
    assert "0.830" in accuracy and "0.810 \u2013 0.850" in accuracy and "0.900" in accuracy  # baseline from kpis
    assert "calibrated scores" in out and "5,000 scored rows" in out and "breached" not in out
    s["findings"].append({"rule": "estimated_recall_drop", "kind": "estimated_performance_drop",
                          "status": "firing", "metric": "recall", "segment": None})
    out = render_html(s)
    recall = next(r for r in re.findall(r"<tr.*?</tr>", between(out, "estimated"), flags=re.S) if ">recall" in r)
    assert 'class="breached"' in recall
    kpi_rows = re.findall(r"<tr.*?</tr>", between(out, "kpis"), flags=re.S)
    assert 'class="breached"' in next(r for r in kpi_rows if ">recall" in r)  # still, from the realised rule


def test_segment_section_marks_breached_cells_only():
    out = render_html(rich_summary())
    seg = between(out, "segments")
    rows = re.findall(r"<tr>.*?</tr>", seg, flags=re.S)
    south = next(r for r in rows if "region=south" in r)
    north = next(r for r in rows if "region=north" in r)
    assert "1,930" in south and "812" in north
    assert south.count('class="num breached"') == 1 and "breached</span>" in south
    breached_cell = re.search(r'<td class="num breached">(.*?)</td>', south).group(1)
    assert "0.700" in breached_cell and "0.730" in breached_cell  # precision, with its baseline
    assert "breached" not in north
    kpi_rows = re.findall(r"<tr.*?</tr>", between(out, "kpis"), flags=re.S)
    assert "breached" not in next(r for r in kpi_rows if ">precision" in r)  # segment findings stay in segments


def test_drift_section_table_and_plots():
    out = between(render_html(rich_summary()), "drift")
    rows = re.findall(r"<tr[ >].*?</tr>", out, flags=re.S)[1:]
    columns = [re.search(r"<td>(.*?)</td>", r).group(1) for r in rows]
    assert columns == ["plan", "model score", "age", "model prediction"]  # drifted first, skipped last
    assert all('class="breached"' in r for r in rows[:2]) and not any('class="breached"' in r for r in rows[2:])
    assert "9.0e\u221212" in rows[0] and "0.210" in rows[0] and "vs 0.1" in rows[0]
    assert "<code>platinum</code>" in rows[0] and "2.0% of rows" in rows[0]
    assert "too few rows (12 &lt; 50)" in rows[3]
    assert "2 of 4 columns drifted" in out
    visible, _, hidden = out.partition("<details>")
    assert len(svgs(visible)) == 2 and len(svgs(hidden)) == 1  # drifted plots shown, the rest collapsed
    assert "plan: reference vs window" in visible and "age: reference vs window" in hidden


def test_joint_variance_and_quality_sections():
    out = render_html(rich_summary())
    joint = between(out, "joint")
    assert "0.530" in joint and "\u00b1 0.010" in joint and "0.65" in joint and "hard to tell apart" in joint
    assert "income" in joint and "model score" in joint and "badge ok" in joint
    variance = re.findall(r"<tr[ >].*?</tr>", between(out, "variance"), flags=re.S)[1:]
    assert ">income<" in variance[0] and 'class="breached"' in variance[0] and "1.800" in variance[0]
    assert "3.0e\u221210" in variance[0] and "Brown\u2013Forsythe" in variance[0]
    quality = re.findall(r"<tr>.*?</tr>", between(out, "quality"), flags=re.S)[1:]
    assert len(quality) == 2 and "new categories" in quality[0] and "critical" in quality[0]  # worst first
    assert "20.0% of &#39;age&#39; is missing" in quality[1]  # escaped by the template (markupsafe)


def test_data_sections_absent_or_none_without_data():
    s = full_summary()
    out = render_html(s)
    for key in ("estimated", "segments", "drift", "joint", "variance", "quality"):
        assert f'id="{key}"' not in out
    s.update(estimated=None, segments={}, drift=[], variance={}, multivariate=None, distributions={}, anomalies={})
    out = render_html(s | {"quality": []})
    for key in ("estimated", "segments", "drift", "joint", "variance"):
        assert f'id="{key}"' not in out
    assert "none: no data-quality issues found" in between(out, "quality")
    assert 'class="anomaly"' not in out and ">anomaly<" not in out
    only_plots = render_html(s | {"distributions": rich_summary()["distributions"]})
    assert "none: no drift tests ran" in between(only_plots, "drift")
    assert len(svgs(between(only_plots, "drift"))) == 3


def test_anomaly_markers_on_history():
    out = between(render_html(rich_summary()), "history")
    root = svgs(out)[0]
    rings = [c for c in root.iter(SVG_NS + "circle") if c.get("class") == "anomaly"]
    assert len(rings) == 3  # recall 1 and 3, accuracy 1
    assert "anomaly" in texts(root) and "Red rings" in out
    titles = sorted(r.find(SVG_NS + "title").text for r in rings)
    assert titles[0].startswith("anomaly: accuracy at 2026-11-23T10:00:00")
    assert any("recall at 2026-11-23T08:00:00+00:00: 0.790" in t for t in titles)


def test_anomaly_indices_are_defensive():
    history = {"recall": [("2026-11-23T07:00:00", 0.8), ("2026-11-23T08:00:00", None), "junk",
                          ("2026-11-23T09:00:00", 0.5)]}
    root = parse_svg(line_chart(history, "h", anomalies={"recall": [1, 2, 3, 9, -1, "0", None, True],
                                                         "ghost": [0], "bad": "x"}))
    rings = [c for c in root.iter(SVG_NS + "circle") if c.get("class") == "anomaly"]
    assert len(rings) == 1 and "09:00" in rings[0].find(SVG_NS + "title").text  # None point: no ring
    plain = parse_svg(line_chart(history, "h"))
    assert not [c for c in plain.iter(SVG_NS + "circle") if c.get("class") == "anomaly"]
    assert "anomaly" not in texts(plain)


@pytest.mark.parametrize("junk", [None, "x", 3, [], {"a": None}, {"a": "x"}, [None, "x", {"column": None}]])
def test_garbage_data_sections_do_not_crash(junk):
    keys = ("segments", "estimated", "drift", "variance", "multivariate", "quality", "distributions", "anomalies")
    out = render_html(full_summary() | {k: junk for k in keys})
    assert "</html>" in out
    svgs(out)


# ---------------------------------------------------------------- distribution plots


def test_distribution_numeric_shares_and_out_of_range():
    ref = {"edges": [0, 1, 2], "counts": [30, 10], "below": 0, "above": 0, "missing": 5}
    win = {"edges": [0, 1, 2], "counts": [2, 6], "below": 1, "above": 1, "missing": 0}
    root = parse_svg(distribution(ref, win, "income"))
    bars = {r.find(SVG_NS + "title").text: r for r in root.iter(SVG_NS + "rect")
            if r.find(SVG_NS + "title") is not None}
    assert len(bars) == 8  # (2 bins + below + above) x 2 sides
    assert bars["reference, 0 to 1: 75.0% (30 rows)"] is not None
    assert bars["window, 1 to 2: 60.0% (6 rows)"] is not None  # shares of 10 non-missing window rows
    assert bars["window, above 2: 10.0% (1 rows)"] is not None
    assert float(bars["reference, 0 to 1: 75.0% (30 rows)"].get("height")) > float(
        bars["window, 0 to 1: 20.0% (2 rows)"].get("height"))
    t = texts(root)
    assert "reference (n=40)" in t and "window (n=10)" in t and "below" in t and "above" in t
    assert any("missing values" in x and "11.1%" in x for x in t)


def test_distribution_categorical_other_and_many_categories():
    root = parse_svg(distribution({"categories": ["a", "b"], "counts": [10, 5]},
                                  {"categories": ["a", "b"], "counts": [3, 9], "other": 1}, "plan"))
    tips = [r.find(SVG_NS + "title").text for r in root.iter(SVG_NS + "rect") if r.find(SVG_NS + "title") is not None]
    assert "reference, a: 66.7% (10 rows)" in tips and "window, other / unseen categories: 7.7% (1 rows)" in tips
    assert "(other)" in texts(root)
    many = {"categories": [f"c{i}" for i in range(30)], "counts": list(range(1, 31))}
    root = parse_svg(distribution({"counts": {f"c{i}": i + 1 for i in range(30)}}, many, "wide"))
    labels = [t for t in texts(root) if t.startswith("c") or t == "(other)"]
    assert len(labels) == 12 and "(other)" in labels and "c29" in labels  # biggest kept, the rest folded


@pytest.mark.parametrize("ref, win", [({}, {}), (None, None), ({"edges": [0, 1], "counts": [0]}, {}),
                                      ({"edges": [0, "x"], "counts": [1]}, {"edges": [float("nan")]}),
                                      ({"categories": ["a"], "counts": ["x"]}, {"categories": "ab"}),
                                      ({"edges": [0, 1, 2], "counts": [5]}, {"counts": [1, 2, 3, 4]})])
def test_distribution_degenerate_input(ref, win):
    out = distribution(ref, win, "t")
    parse_svg(out)
    assert "nan" not in out and "inf" not in out


def test_distribution_one_side_only():
    root = parse_svg(distribution({"edges": [0, 1, 2], "counts": [1, 1]}, {}, "t"))
    tips = [r.find(SVG_NS + "title").text for r in root.iter(SVG_NS + "rect") if r.find(SVG_NS + "title") is not None]
    assert len(tips) == 2 and all(t.startswith("reference") for t in tips)


def test_data_sections_escape_hostile_strings():
    s = rich_summary()
    s["estimated"]["kpis"] = {EVIL: 0.5}
    s["segments"] = {EVIL: {"kpis": {EVIL: 0.5}, "labelled_rows": 3, "baseline": {EVIL: 0.6}}}
    s["findings"].append({"status": "firing", "segment": EVIL, "metric": EVIL, "message": EVIL})
    s["drift"][1].update(column=EVIL, message=EVIL, unseen_categories=[EVIL], method=EVIL, effect_method=EVIL)
    s["drift"][3].update(skipped=EVIL)
    s["variance"] = {EVIL: {"test": EVIL, "message": EVIL, "drifted": True}}
    s["multivariate"].update(message=EVIL, method=EVIL, auc=None, top_features=[{"feature": EVIL}])
    s["quality"] = [{"check": EVIL, "column": EVIL, "severity": EVIL, "message": EVIL}]
    s["distributions"] = {EVIL: {"reference": {"categories": [EVIL, "b"], "counts": [1, 2]},
                                 "window": {"categories": [EVIL], "counts": [1]}}}
    s["anomalies"] = {EVIL: [0]}
    s["history"] = {EVIL: [["2026-11-23T07:00:00+00:00", 0.5]]}
    out = render_html(s)
    assert "<script" not in out.lower()
    for key in ("estimated", "segments", "drift", "joint", "variance", "quality"):
        assert "&lt;script&gt;" in between(out, key), key
    assert 'class="num breached"' in between(out, "segments")  # names still match after escaping
    roots = svgs(out)
    plot = next(r for r in roots if (r.find(SVG_NS + "title").text or "").startswith(EVIL))
    assert EVIL in texts(plot)  # the category label, parsed back to the original text
    history = svgs(between(out, "history"))[0]
    assert [c for c in history.iter(SVG_NS + "circle") if c.get("class") == "anomaly"]
    assert "<script>" not in distribution({"categories": [EVIL]}, {}, EVIL)


def test_a_stored_report_is_rendered_from_its_summary_when_read():
    """The report stage stores the summary only (``html`` empty); reading renders the same page a
    render at check time would have. A report stored with its page (before) keeps that page."""
    from types import SimpleNamespace

    from monitor.reports import report_page

    summary = full_summary()
    assert report_page(SimpleNamespace(html="", summary=summary)) == render_html(summary)
    assert "<svg" in report_page(SimpleNamespace(html="", summary=summary))
    assert report_page(SimpleNamespace(html="<p>kept</p>", summary=summary)) == "<p>kept</p>"
