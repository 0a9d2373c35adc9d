import { Badge } from "../components/Badge";
import { formatKpi, timestamp } from "../format";
import { Link, modelPath } from "../router";
import { useData } from "../useData";

interface Summary {
  run_id: string; model: string; status: string; trigger: string; version: string | null; error: string | null;
  window: { start: string | null; end: string | null };
  kpis?: Record<string, { value: number | null; baseline: number | null }>;
  findings?: { rule: string; status: string; severity: string; message: string }[];
  report?: { id: number } | null;
}

/** A check run: its KPIs and findings, and the link to its self-contained HTML report. */
export function RunView({ id }: { id: string }) {
  const { data, error } = useData<Summary>(`/v1/runs/${encodeURIComponent(id)}`, (e) => e.type === "run.finished");
  const model = data?.model;
  return (
    <>
      <h1>Run {id}</h1>
      {error && <p className="error">{error}</p>}
      {data && (
        <>
          <p>
            {model && <>Model <Link to={modelPath(model)}>{model}</Link> · </>}
            <Badge word={data.status} /> {data.trigger}, version {data.version ?? "–"}, window to {timestamp(data.window?.end)}
          </p>
          {data.error && <p className="error">{data.error}</p>}
          <p>{data.report ? <a href={`/v1/runs/${encodeURIComponent(id)}/report`}>Open the HTML report</a>
            : <span className="muted">No report yet.</span>} · <a href={`/v1/runs/${encodeURIComponent(id)}`}>JSON summary</a></p>
          <h2>KPIs</h2>
          <table><thead><tr><th>KPI</th><th>value</th><th>baseline</th></tr></thead><tbody>
            {Object.entries(data.kpis ?? {}).map(([name, k]) => (
              <tr key={name}><td>{name}</td><td>{formatKpi(name, k.value)}</td><td>{formatKpi(name, k.baseline)}</td></tr>
            ))}
          </tbody></table>
          <h2>Findings</h2>
          <table><thead><tr><th>status</th><th>rule</th><th>message</th></tr></thead><tbody>
            {(data.findings ?? []).map((f, i) => (
              <tr key={i}><td><Badge word={f.status} /></td><td>{f.rule}</td><td>{f.message}</td></tr>
            ))}
          </tbody></table>
        </>
      )}
    </>
  );
}
