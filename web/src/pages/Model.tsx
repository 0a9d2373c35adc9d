// Why it is firing: the latest KPIs against baselines and SLOs, KPI history over a chosen range
// (thresholds, baselines, anomaly marks, deploy / rollback / retrain marks), drift per feature over
// time, alerts, the recovery schedule with Approve / Cancel, runs and the audit trail.

import { useMemo, useState } from "react";

import { AlertTable } from "../components/AlertTable";
import { Badge } from "../components/Badge";
import { Chart } from "../components/Chart";
import { Decision, type Choice } from "../components/Decision";
import { Distribution, type Dist } from "../components/Distribution";
import { formatKpi, relative, timestamp } from "../format";
import { toCharts } from "../charts";
import { Link } from "../router";
import type { Action, Annotation, DriftSeries, ModelPage, Tile, Timeseries } from "../types";
import { useData } from "../useData";

/** The range buttons and the ``last=`` each asks the timeline reads for ("all": their 400-day maximum). */
const RANGES: Record<string, string> = { "6h": "6h", "24h": "24h", "7d": "7d", "30d": "30d", all: "400d" };

export function choicesFor(action: Action): Choice[] {
  const base = `/v1/recovery/${action.id}`;
  if (action.state === "pending_approval")
    return [{ label: "Approve", path: `${base}/approve` }, { label: "Cancel", path: `${base}/cancel` }];
  if (action.state === "scheduled") return [{ label: "Cancel", path: `${base}/cancel` }];
  return [];
}

function Tiles({ tiles, service }: { tiles: Tile[]; service: boolean }) {
  if (!tiles.length) return null;
  return (
    <ul className="tiles">
      {tiles.map((t) => (
        <li key={t.name} className={`tile${t.breached ? " breached" : ""}`}>
          <span className="small muted">{t.name}</span>
          <strong>{formatKpi(t.name, t.value)}</strong>
          <span className="small muted">{service ? "SLO" : "baseline"} {formatKpi(t.name, t.reference)}
            {t.change_pct !== null && ` (${Math.abs(t.change_pct).toFixed(1)}% ${t.change_pct > 0 ? "worse" : "better"})`}</span>
        </li>
      ))}
    </ul>
  );
}

/** ``last=<range>`` ending an hour past this browser's clock: a server clock ahead of the
 *  browser's would otherwise hide the newest checks (the server's "now" is the default end). */
export function timeWindow(range: string, now: Date = new Date()): string {
  const until = new Date(now.getTime() + 3600_000).toISOString();
  return `last=${RANGES[range]}&until=${encodeURIComponent(until)}`;
}

function DriftHistory({ drift }: { drift: DriftSeries[] }) {
  if (!drift.length) return <p className="muted">No drift results in this range.</p>;
  const times = [...new Set(drift.flatMap((c) => c.points.map((p) => p.at)))].sort().slice(-30);
  return (
    <table className="drift-history">
      <caption className="muted small">effect size per check (last {times.length}); drifted checks marked ●</caption>
      <thead><tr><th>feature</th>{times.map((t) => <th key={t} title={timestamp(t)} className="tick">{timestamp(t).slice(11, 16)}</th>)}</tr></thead>
      <tbody>
        {drift.map((c) => {
          const at = new Map(c.points.map((p) => [p.at, p]));
          return (
            <tr key={c.column} data-column={c.column}>
              <td>{c.column}</td>
              {times.map((t) => {
                const cell = at.get(t);
                const drifted = cell?.status === "firing";
                const shade = cell?.effect != null ? Math.min(1, Math.abs(cell.effect)) : 0;
                return (
                  <td key={t} className={drifted ? "drifted" : ""}
                      title={cell ? `${c.column} ${timestamp(t)}: ${cell.method ?? ""} effect ${cell.effect?.toFixed(3) ?? "–"}${drifted ? " (drifted)" : ""}` : ""}
                      style={{ background: `rgba(220, 38, 38, ${(shade * 0.6).toFixed(2)})` }}>{drifted ? "●" : ""}</td>
                );
              })}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function ModelView({ name, canWrite }: { name: string; canWrite: boolean }) {
  const [range, setRange] = useState("7d");
  const mine = (e: { model?: string }) => !e.model || e.model === name;
  const path = `/v1/models/${encodeURIComponent(name)}`;
  const { data, error, reload } = useData<ModelPage>(`/v1/dashboard/models/${encodeURIComponent(name)}`, mine);
  const window = useMemo(() => timeWindow(range), [range]);
  const series = useData<Timeseries>(`${path}/timeseries?${window}`, mine);
  const marks = useData<Annotation[]>(`${path}/annotations?${window}`, mine);
  const drift = useData<DriftSeries[]>(`${path}/drift?${window}`, mine);
  const dists = useData<{ distributions: Record<string, Dist> } | null>(
    data?.latest_run ? `/v1/runs/${encodeURIComponent(data.latest_run)}/distributions` : "", mine);
  const charts = useMemo(() => (series.data ? toCharts(series.data) : []), [series.data]);
  const annotations = marks.data ?? [];
  return (
    <>
      <h1>{name} {data && <Badge word={data.health} />}</h1>
      {error && <p className="error">{error}</p>}
      {data && (
        <>
          <p className="muted">{data.task.replace(/_/g, " ")} · serving {data.serving_version ?? "nothing"} · last check{" "}
            {data.last_run ? <><Link to={`/runs/${data.last_run.id}`}>{relative(data.last_run.created_at)}</Link> <Badge word={data.last_run.status} /></> : "never"}
            {data.last_run?.error && <span className="error"> {data.last_run.error}</span>}</p>
          <section id="kpis" aria-labelledby="kpis-h"><h2 id="kpis-h">Latest check</h2>
            <Tiles tiles={data.tiles.model} service={false} /><Tiles tiles={data.tiles.service} service /></section>
          <section id="history" aria-labelledby="history-h">
            <h2 id="history-h">KPI history</h2>
            <div role="group" aria-label="time range" className="ranges">
              {Object.keys(RANGES).map((r) => (
                <button key={r} type="button" aria-pressed={r === range} onClick={() => setRange(r)}>{r}</button>
              ))}
            </div>
            {series.error && <p className="error">{series.error}</p>}
            {series.data && charts.length === 0 && <p className="muted">No KPIs in this range.</p>}
            <div className="charts">{charts.map((c) => <Chart key={c.title} chart={c} annotations={annotations} />)}</div>
            {annotations.length > 0 && (
              <ul className="annotations small">{annotations.map((a, i) => (
                <li key={i} data-kind={a.kind}>{timestamp(a.at)}: {a.kind}{a.version ? ` ${a.version}` : ""}: {a.summary}</li>))}</ul>
            )}
          </section>
          <section id="alerts" aria-labelledby="alerts-h"><h2 id="alerts-h">Alerts</h2>
            <AlertTable alerts={data.alerts} canWrite={canWrite} onDone={reload} showModel={false} /></section>
          <section id="recovery" aria-labelledby="recovery-h"><h2 id="recovery-h">Recovery schedule</h2>
            {data.actions.length === 0 ? <p className="calm">No recovery actions.</p> : (
              <table><thead><tr><th>state</th><th>action</th><th>when</th><th>reason</th><th>decision</th></tr></thead><tbody>
                {data.actions.map((a) => (
                  <tr key={a.id} data-action={a.id}>
                    <td><Badge word={a.state} />{a.verification && <> <Badge word={a.verification} /></>}</td>
                    <td>{a.kind} #{a.id}</td>
                    <td title={timestamp(a.eta)}>{a.state === "pending_approval" && a.expires_at ? `expires ${relative(a.expires_at)}` : relative(a.finished_at ?? a.eta)}</td>
                    <td>{a.reason}{a.error && <span className="error"> {a.error}</span>}</td>
                    <td><Decision subject={`${a.kind} ${a.id}`} canWrite={canWrite} onDone={reload} choices={choicesFor(a)} /></td>
                  </tr>
                ))}
              </tbody></table>
            )}
          </section>
          <section id="drift" aria-labelledby="drift-h"><h2 id="drift-h">Drift</h2>
            <table><thead><tr><th>feature</th><th>method</th><th>effect</th><th>verdict</th></tr></thead><tbody>
              {data.drift.map((d) => (
                <tr key={d.column} data-column={d.column}>
                  <td>{d.label}</td><td>{d.method}</td><td>{d.effect_size?.toFixed(3) ?? "–"}</td>
                  <td>{d.skipped ? <span className="muted">{d.skipped}</span> : d.drifted ? <Badge word="drifted" /> : "stable"}
                    {d.message && <code className="small"> {d.message}</code>}</td>
                </tr>
              ))}
            </tbody></table>
            <div className="dists">
              {data.drift.filter((d) => d.drifted && dists.data?.distributions?.[d.column]).map((d) => (
                <Distribution key={d.column} column={d.label} dist={dists.data!.distributions[d.column]} />
              ))}
            </div>
            {drift.data && <DriftHistory drift={drift.data} />}
          </section>
          <section id="quality" aria-labelledby="quality-h"><h2 id="quality-h">Data quality</h2>
            {data.quality.length === 0 ? <p className="calm">No data-quality issues in the latest check.</p> : (
              <table><thead><tr><th>severity</th><th>check</th><th>column</th><th>issue</th></tr></thead><tbody>
                {data.quality.map((q, i) => (
                  <tr key={i}><td><Badge word={q.severity} /></td><td>{q.check}</td><td>{q.column}</td><td>{q.message}</td></tr>
                ))}
              </tbody></table>
            )}
          </section>
          <section id="runs" aria-labelledby="runs-h"><h2 id="runs-h">Runs</h2>
            <table><thead><tr><th>run</th><th>status</th><th>trigger</th><th>window end</th><th>report</th></tr></thead><tbody>
              {data.runs.map((r) => (
                <tr key={r.id} data-run={r.id}>
                  <td><Link to={`/runs/${r.id}`}>{r.id.slice(0, 12)}</Link></td><td><Badge word={r.status} /></td>
                  <td>{r.trigger}</td><td>{timestamp(r.window_end)}</td>
                  <td>{r.report ? <a href={`/v1/runs/${r.id}/report`}>report</a> : <span className="muted">–</span>}</td>
                </tr>
              ))}
            </tbody></table>
          </section>
          <section id="audit" aria-labelledby="audit-h"><h2 id="audit-h">Audit trail</h2>
            {data.audit.length === 0 ? <p className="muted">No decisions yet.</p> : (
              <table><thead><tr><th>when</th><th>who</th><th>did</th><th>to</th><th>why</th></tr></thead><tbody>
                {data.audit.map((e) => (
                  <tr key={e.id}><td>{timestamp(e.at)}</td><td>{e.actor}</td><td>{e.action}</td><td>{e.subject}</td><td>{e.reason}</td></tr>
                ))}
              </tbody></table>
            )}
          </section>
        </>
      )}
    </>
  );
}
