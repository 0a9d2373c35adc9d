// KPI series (GET /v1/models/{name}/timeseries) into charts: one chart per unit, so ratios,
// milliseconds and requests per minute never share an axis.

import { unitOf } from "./format";
import type { ChartData, Timeseries } from "./types";

/** (chart title, unit for the axis, the KPIs it plots); a KPI matching none gets a chart of its own. */
export const CHARTS: [string, string, string[]][] = [
  ["Model performance", "ratio", ["accuracy", "precision", "recall", "f1", "roc_auc", "precision_macro", "recall_macro",
                                  "f1_macro", "precision_weighted", "recall_weighted", "f1_weighted"]],
  ["Regression error", "value", ["mae", "rmse"]],
  ["R²", "ratio", ["r2"]],
  ["Latency", "ms", ["latency_p50_ms", "latency_p95_ms", "latency_p99_ms"]],
  ["Error rate", "percent", ["error_rate"]],
  ["Throughput", "rpm", ["throughput_rpm"]],
  ["Availability", "percent", ["availability"]],
  ["Serving host", "pct", ["host_cpu_pct_p95", "host_memory_pct_p95", "host_disk_pct_max"]],
];
const SKIPPED = new Set(["log_loss"]); // unbounded and noisy; the report leaves it out too
const ANOMALY = "kpi_anomaly";

export function toCharts(series: Timeseries): ChartData[] {
  const kpis = new Map(series.kpis.filter((k) => !SKIPPED.has(k.name) && k.points.length).map((k) => [k.name, k]));
  const known = new Set(CHARTS.flatMap(([, , names]) => names));
  const groups: [string, string, string[]][] = [
    ...CHARTS,
    ...[...kpis.keys()].filter((n) => !known.has(n)).sort().map((n): [string, string, string[]] => [n, unitOf(n), [n]]),
  ];
  return groups.flatMap(([title, unit, names]) => {
    const members = names.filter((n) => kpis.has(n));
    if (!members.length) return [];
    return [{
      title, unit, series: members.map((n) => {
        const k = kpis.get(n)!;
        const baseline = [...k.points].reverse().find((p) => p.baseline !== null)?.baseline ?? null;
        return {
          name: n, points: k.points.map((p) => [p.at, p.value] as [string, number | null]), baseline,
          threshold: k.threshold, anomalies: k.marks.filter((m) => m.kind === ANOMALY).map((m) => m.at),
        };
      }),
    }];
  });
}
