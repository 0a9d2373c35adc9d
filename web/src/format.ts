// Numbers and times as an on-call engineer reads them: in the KPI's own unit, times relative.

/** The unit a KPI is measured in, from its name (the API's naming: *_ms, *_rpm, error_rate, *_pct_*). */
export function unitOf(kpi: string): string {
  if (kpi.endsWith("_ms")) return "ms";
  if (kpi.endsWith("_rpm")) return "rpm";
  if (kpi === "error_rate" || kpi === "availability") return "percent";
  if (kpi.includes("_pct")) return "pct";
  return "value";
}

/** ``value`` in ``unit``: shares as percentages, milliseconds and requests per minute labelled. */
export function formatValue(value: number | null | undefined, unit: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  switch (unit) {
    case "percent":
      return `${(value * 100).toFixed(value * 100 < 10 ? 2 : 1)}%`;
    case "pct":
      return `${value.toFixed(1)}%`;
    case "ms":
      return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ms`;
    case "rpm":
      return `${value.toFixed(0)}/min`;
    case "ratio":
      return value.toFixed(3);
    default:
      return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
  }
}

export function formatKpi(name: string, value: number | null | undefined): string {
  return formatValue(value, unitOf(name));
}

/** '3 min ago' / 'in 2 h': how a schedule is read at a glance. */
export function relative(when: string | null | undefined, now: Date = new Date()): string {
  if (!when) return "never";
  const seconds = (new Date(when).getTime() - now.getTime()) / 1000;
  const size = Math.abs(seconds);
  for (const [unit, length] of [["d", 86400], ["h", 3600], ["min", 60]] as const) {
    if (size >= length) {
      const amount = `${Math.round(size / length)} ${unit}`;
      return seconds > 0 ? `in ${amount}` : `${amount} ago`;
    }
  }
  if (size < 30) return "just now";
  return seconds > 0 ? "in under a minute" : "under a minute ago";
}

export function timestamp(when: string | null | undefined): string {
  return when ? new Date(when).toISOString().replace("T", " ").slice(0, 16) + " UTC" : "–";
}
