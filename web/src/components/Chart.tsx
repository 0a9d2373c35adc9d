// One KPI chart with uPlot (canvas; thousands of points in milliseconds; ~50 kB): the KPIs of one
// unit share an axis, each rule's threshold and the baseline are dashed lines, the anomaly
// detector's flagged points are ringed in red, and deploys / rollbacks / retrains are vertical marks.

import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

import { formatValue } from "../format";
import type { Annotation, ChartData } from "../types";

const PALETTE = ["#2563eb", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#dc2626"];
const MARKS: Record<string, string> = { deploy: "#2563eb", promote: "#2563eb", rollback: "#dc2626", retrain: "#7c3aed" };

const seconds = (iso: string) => new Date(iso).getTime() / 1000;

/** The chart's columns: one shared time axis, each KPI's values aligned on it (null where absent). */
export function align(chart: ChartData): { xs: number[]; ys: (number | null)[][] } {
  const times = [...new Set(chart.series.flatMap((s) => s.points.map(([t]) => seconds(t))))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const ys = chart.series.map((s) => {
    const column: (number | null)[] = new Array(times.length).fill(null);
    s.points.forEach(([t, v]) => { column[index.get(seconds(t))!] = v; });
    return column;
  });
  return { xs: times, ys };
}

function overlays(chart: ChartData, annotations: Annotation[]) {
  return (u: uPlot) => {
    const ctx = u.ctx;
    ctx.save();
    const dpr = devicePixelRatio || 1;
    chart.series.forEach((s, i) => {
      const color = PALETTE[i % PALETTE.length];
      for (const [value, dash] of [[s.threshold, [6, 4]], [s.baseline, [2, 3]]] as const) {
        if (value === null || value === undefined) continue;
        const y = u.valToPos(value, "y", true);
        ctx.strokeStyle = color; ctx.setLineDash(dash.map((d) => d * dpr)); ctx.lineWidth = dpr;
        ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke();
      }
      ctx.setLineDash([]);
      ctx.strokeStyle = "#dc2626"; ctx.lineWidth = 2 * dpr;
      const values = new Map(s.points.map(([t, v]) => [seconds(t), v]));
      s.anomalies.forEach((t) => {
        const v = values.get(seconds(t));
        if (v === null || v === undefined) return;
        ctx.beginPath();
        ctx.arc(u.valToPos(seconds(t), "x", true), u.valToPos(v, "y", true), 6 * dpr, 0, 2 * Math.PI);
        ctx.stroke();
      });
    });
    annotations.forEach((a) => {
      const x = u.valToPos(seconds(a.at), "x", true);
      if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
      ctx.strokeStyle = MARKS[a.kind] ?? "#6b7280"; ctx.lineWidth = dpr; ctx.setLineDash([3 * dpr, 3 * dpr]);
      ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
      ctx.fillStyle = ctx.strokeStyle; ctx.font = `${11 * dpr}px sans-serif`;
      ctx.fillText(`${a.kind}${a.version ? ` ${a.version}` : ""}`, x + 3 * dpr, u.bbox.top + 12 * dpr);
    });
    ctx.restore();
  };
}

export function Chart({ chart, annotations, width = 560 }: { chart: ChartData; annotations: Annotation[]; width?: number }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current) return;
    const { xs, ys } = align(chart);
    const fixed = chart.series.flatMap((s) => [s.threshold, s.baseline]).filter((v): v is number => v !== null);
    const opts: uPlot.Options = {
      width: Math.min(width, box.current.clientWidth || width), height: 220,
      series: [{}, ...chart.series.map((s, i) => ({
        label: s.name, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false,
        points: { show: true, size: 5 }, value: (_u: uPlot, v: number | null) => formatValue(v, chart.unit),
      }))],
      axes: [{}, { size: 70, values: (_u, ticks) => ticks.map((t) => formatValue(t, chart.unit)) }],
      scales: { y: { range: (_u, lo, hi) => {
        const all = [lo, hi, ...fixed].filter((v) => Number.isFinite(v));
        const min = Math.min(...all), max = Math.max(...all);
        const pad = (max - min || Math.abs(max) || 1) * 0.08;
        return [min - pad, max + pad];
      } } },
      hooks: { draw: [overlays(chart, annotations)] },
    };
    const plot = new uPlot(opts, [xs, ...ys] as uPlot.AlignedData, box.current);
    return () => plot.destroy();
  }, [chart, annotations, width]);
  const described = chart.series.map((s) => {
    const last = [...s.points].reverse().find(([, v]) => v !== null);
    return `${s.name}: ${s.points.length} points, latest ${formatValue(last ? last[1] : null, chart.unit)}` +
      (s.threshold !== null ? `, threshold ${formatValue(s.threshold, chart.unit)}` : "") +
      (s.baseline !== null ? `, baseline ${formatValue(s.baseline, chart.unit)}` : "") +
      (s.anomalies.length ? `, ${s.anomalies.length} anomal${s.anomalies.length > 1 ? "ies" : "y"}` : "");
  }).join("; ");
  return (
    <figure className="chart" data-title={chart.title}>
      <figcaption>{chart.title}</figcaption>
      <div ref={box} className="plot" role="img" aria-label={`${chart.title}. ${described}`} />
      <p className="legend-extra muted">dashed: threshold · dotted: baseline · red ring: anomaly</p>
    </figure>
  );
}
