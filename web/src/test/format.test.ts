import { describe, expect, it } from "vitest";

import { formatKpi, formatValue, relative, unitOf } from "../format";

describe("unit-aware formatting", () => {
  it("names the unit of a KPI from its name", () => {
    expect(unitOf("latency_p95_ms")).toBe("ms");
    expect(unitOf("throughput_rpm")).toBe("rpm");
    expect(unitOf("error_rate")).toBe("percent");
    expect(unitOf("host_cpu_pct_p95")).toBe("pct");
    expect(unitOf("recall")).toBe("value");
  });

  it("shows shares as percentages and labels milliseconds", () => {
    expect(formatKpi("error_rate", 0.4)).toBe("40.0%");
    expect(formatKpi("error_rate", 0.012)).toBe("1.20%");
    expect(formatKpi("latency_p95_ms", 312.4)).toBe("312 ms");
    expect(formatValue(0.91234, "ratio")).toBe("0.912");
    expect(formatValue(null, "ms")).toBe("–");
    expect(formatValue(Number.NaN, "ms")).toBe("–");
  });

  it("reads times relative to now", () => {
    const now = new Date("2026-12-03T12:00:00Z");
    expect(relative("2026-12-03T11:57:00Z", now)).toBe("3 min ago");
    expect(relative("2026-12-03T14:00:00Z", now)).toBe("in 2 h");
    expect(relative(null, now)).toBe("never");
    expect(relative("2026-12-03T11:59:50Z", now)).toBe("just now");
  });
});
