import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { align } from "../components/Chart";
import { Decision } from "../components/Decision";
import { FleetView, headline, sortCards } from "../pages/Fleet";
import { LoginView } from "../pages/Login";
import { choicesFor, timeWindow } from "../pages/Model";
import { toCharts } from "../charts";
import { bins } from "../components/Distribution";
import type { Action, Card } from "../types";

afterEach(() => { cleanup(); vi.restoreAllMocks(); });

function card(name: string, health: Card["health"]): Card {
  return { name, task: "binary_classification", health, serving_version: "1", last_run_id: null,
           last_run_status: null, last_finished_at: null, open_alerts: {}, pending_actions: 0, awaiting_approval: 0,
           kpis: { recall: 0.9, roc_auc: null, latency_p95_ms: 80, accuracy: 0.8 } };
}

function answer(status: number, body: unknown) {
  return vi.spyOn(globalThis, "fetch").mockResolvedValue(
    new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } }));
}

describe("Decision", () => {
  it("posts the reason with the CSRF header and shows the new state", async () => {
    const fetch = answer(200, { id: 3, state: "acknowledged" });
    const done = vi.fn();
    render(<Decision subject="alert 3" canWrite onDone={done} choices={[{ label: "Acknowledge", path: "/v1/alerts/3/ack" }]} />);
    fireEvent.change(screen.getByRole("textbox"), { target: { value: "on it <b>now</b>" } });
    fireEvent.click(screen.getByText("Acknowledge"));
    await waitFor(() => expect(screen.getByRole("status").textContent).toBe("Acknowledge: now acknowledged"));
    const [url, init] = fetch.mock.calls[0] as [string, RequestInit];
    expect(url).toBe("/v1/alerts/3/ack");
    expect(init.method).toBe("POST");
    expect(JSON.parse(init.body as string)).toEqual({ reason: "on it <b>now</b>" });
    expect((init.headers as Record<string, string>)["X-Requested-With"]).toBe("modelwatch");
    expect(done).toHaveBeenCalledOnce();
    expect(screen.queryByRole("button")).toBeNull();  // decided: no second click
  });

  it("shows a refusal with its HTTP status and keeps the button for a retry", async () => {
    answer(409, { detail: "recovery action 2 is running; too late to cancel" });
    render(<Decision subject="rollback 2" canWrite choices={[{ label: "Cancel", path: "/v1/recovery/2/cancel" }]} />);
    fireEvent.click(screen.getByText("Cancel"));
    await waitFor(() => expect(screen.getByRole("status").textContent)
      .toBe("Failed (HTTP 409): recovery action 2 is running; too late to cancel"));
    expect(screen.getByRole<HTMLButtonElement>("button").disabled).toBe(false);
  });

  it("shows read-only instead of buttons to a read-only token", () => {
    render(<Decision subject="alert 1" canWrite={false} choices={[{ label: "Acknowledge", path: "/x" }]} />);
    expect(screen.queryByRole("button")).toBeNull();
    expect(screen.getByText("read-only")).toBeTruthy();
  });
});

describe("recovery buttons", () => {
  const action = (state: string) => ({ id: 7, state } as Action);
  it("offers approve and cancel while pending, cancel while scheduled, nothing after", () => {
    expect(choicesFor(action("pending_approval")).map((c) => c.label)).toEqual(["Approve", "Cancel"]);
    expect(choicesFor(action("scheduled"))).toEqual([{ label: "Cancel", path: "/v1/recovery/7/cancel" }]);
    expect(choicesFor(action("succeeded"))).toEqual([]);
  });
});

describe("fleet overview", () => {
  it("puts what is firing first, then by name, and filters", () => {
    const sorted = sortCards([card("b", "ok"), card("a", "ok"), card("z", "critical"), card("m", "alerting")], "");
    expect(sorted.map((c) => c.name)).toEqual(["z", "m", "a", "b"]);
    expect(sortCards([card("churn", "ok"), card("fraud", "critical")], "fra").map((c) => c.name)).toEqual(["fraud"]);
  });

  it("shows the task's headline KPIs that have a value, then the service ones", () => {
    expect(headline(card("a", "ok"))).toEqual([["recall", 0.9], ["latency_p95_ms", 80]]);
  });

  it("renders a tile for each of a thousand models, critical ones first", async () => {
    // speed is measured in Chromium (tests/integration/test_dashboard.py); jsdom's timing means little
    const models = Array.from({ length: 1000 }, (_, i) => card(`model-${i}`, i % 50 ? "ok" : "critical"));
    vi.spyOn(globalThis, "fetch").mockImplementation(async (url) => new Response(
      JSON.stringify(String(url).startsWith("/v1/fleet/alerts") ? [] : { models, counts: { ok: 980, critical: 20 } }),
      { status: 200, headers: { "Content-Type": "application/json" } }));
    const started = performance.now();
    const { container } = render(<FleetView />);
    await waitFor(() => expect(container.querySelectorAll("li.tile").length).toBe(1000), { timeout: 25000 });
    const took = performance.now() - started;
    console.log(`fleet overview: 1000 models rendered in ${took.toFixed(0)} ms (jsdom)`);
    expect(took).toBeLessThan(30000);
    expect(container.querySelector("li.tile")?.getAttribute("data-model")).toBe("model-0");  // critical first
  }, 30000);
});

describe("login", () => {
  it("says why the token was refused and keeps where to go next", () => {
    window.history.pushState(null, "", "/login?next=%2Falerts&error=invalid");
    render(<LoginView />);
    expect(screen.getByRole("alert").textContent).toBe("That token is not valid.");
    expect((document.querySelector("input[name=next]") as HTMLInputElement).value).toBe("/alerts");
    expect(document.querySelector("form")?.getAttribute("action")).toBe("/login");
  });
});

describe("chart data", () => {
  it("aligns KPIs on one time axis with gaps where a KPI has no value", () => {
    const { xs, ys } = align({ title: "t", unit: "ratio", series: [
      { name: "a", points: [["2026-01-01T00:00:00Z", 1], ["2026-01-01T01:00:00Z", 2]], baseline: null, threshold: null, anomalies: [] },
      { name: "b", points: [["2026-01-01T01:00:00Z", 3]], baseline: null, threshold: null, anomalies: [] },
    ] });
    expect(xs.length).toBe(2);
    expect(ys).toEqual([[1, 2], [null, 3]]);
  });
});

describe("KPI charts from the timeseries read", () => {
  const point = (at: string, value: number, baseline: number | null = null) => ({ at, value, baseline, run_id: "r" });
  it("puts KPIs of one unit on one chart, with the threshold, latest baseline and anomaly marks", () => {
    const charts = toCharts({ model: "m", since: "", until: "", kpis: [
      { name: "recall", unit: "ratio", threshold: 0.8, points: [point("2026-01-01T00:00:00Z", 0.9, 0.91), point("2026-01-01T01:00:00Z", 0.7, 0.9)],
        marks: [{ at: "2026-01-01T01:00:00Z", kind: "kpi_anomaly", rule: "r", severity: "warning", message: "" },
                { at: "2026-01-01T01:00:00Z", kind: "performance_drop", rule: "recall_drop", severity: "critical", message: "" }] },
      { name: "precision", unit: "ratio", threshold: null, points: [point("2026-01-01T00:00:00Z", 0.8)], marks: [] },
      { name: "latency_p95_ms", unit: "ms", threshold: 250, points: [point("2026-01-01T00:00:00Z", 120)], marks: [] },
      { name: "log_loss", unit: "score", threshold: null, points: [point("2026-01-01T00:00:00Z", 0.3)], marks: [] },
      { name: "custom", unit: "score", threshold: null, points: [point("2026-01-01T00:00:00Z", 3)], marks: [] },
      { name: "error_rate", unit: "ratio", threshold: null, points: [], marks: [] },
    ] });
    expect(charts.map((c) => [c.title, c.unit, c.series.map((s) => s.name)])).toEqual([
      ["Model performance", "ratio", ["precision", "recall"]], ["Latency", "ms", ["latency_p95_ms"]], ["custom", "value", ["custom"]]]);
    const recall = charts[0].series[1];
    expect([recall.threshold, recall.baseline, recall.anomalies]).toEqual([0.8, 0.9, ["2026-01-01T01:00:00Z"]]);
  });

  it("asks for the range ending an hour past the browser's clock", () => {
    expect(timeWindow("24h", new Date("2026-01-01T00:00:00Z"))).toBe("last=24h&until=2026-01-01T01%3A00%3A00.000Z");
    expect(timeWindow("all", new Date("2026-01-01T00:00:00Z"))).toMatch(/^last=400d&/);
  });
});

describe("reference vs window distributions", () => {
  it("compares shares per category, unseen window categories as one bin", () => {
    const b = bins({ type: "categorical", reference: { categories: ["web", "app"], counts: [75, 25] },
                     window: { categories: ["web", "app"], counts: [25, 25], other: 50 } });
    expect(b.labels).toEqual(["web", "app", "(unseen)"]);
    expect(b.reference).toEqual([0.75, 0.25, 0]);
    expect(b.window).toEqual([0.25, 0.25, 0.5]);
  });
});

describe("live", () => {
  it("says reconnecting and opens a new stream after the API refused one", async () => {
    vi.useFakeTimers();
    const made: FakeSource[] = [];
    class FakeSource {
      static CLOSED = 2;
      readyState = 0;
      onopen: (() => void) | null = null;
      onerror: (() => void) | null = null;
      onmessage: ((m: MessageEvent) => void) | null = null;
      constructor(public url: string) { made.push(this); }
      addEventListener() {}
      close() { this.readyState = 2; }
    }
    vi.stubGlobal("EventSource", FakeSource);
    const live = await import("../live");
    const states: string[] = [];
    const { useLiveState } = live;
    function Show() { const s = useLiveState(); states.push(s); return <span>{s}</span>; }
    render(<Show />);
    live.connect("/v1/events");
    act(() => made[0].onopen!());
    expect(screen.getByText("live")).toBeTruthy();
    act(() => { made[0].readyState = 2; made[0].onerror!(); });
    expect(screen.getByText("reconnecting")).toBeTruthy();
    act(() => { vi.advanceTimersByTime(3100); });
    expect(made.length).toBe(2);
    act(() => made[1].onopen!());
    expect(screen.getByText("live")).toBeTruthy();
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });
});
