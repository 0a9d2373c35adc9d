// What is firing first: open alerts grouped by cause, then one small tile per model, worst health
// first. Tiles are plain elements (no chart per model) so a thousand of them render at once.

import { useMemo, useState } from "react";

import { Badge } from "../components/Badge";
import { formatKpi, relative } from "../format";
import { Link, modelPath } from "../router";
import type { Card, Fleet, Group } from "../types";
import { useData } from "../useData";

const ORDER = ["critical", "alerting", "failed", "unchecked", "ok"];
/** The KPIs a tile shows, per task, then the service ones; the first four with a value win. */
const HEADLINE: Record<string, string[]> = {
  binary_classification: ["recall", "precision", "f1", "roc_auc"],
  multiclass_classification: ["accuracy", "f1_macro", "recall_macro", "precision_macro"],
  regression: ["mae", "rmse", "r2"],
};
const SERVICE = ["latency_p95_ms", "error_rate"];

export function headline(card: Card): [string, number][] {
  return [...(HEADLINE[card.task] ?? []), ...SERVICE]
    .filter((k) => typeof card.kpis[k] === "number")
    .slice(0, 4)
    .map((k) => [k, card.kpis[k] as number]);
}

export function sortCards(cards: Card[], filter: string): Card[] {
  const needle = filter.trim().toLowerCase();
  return cards
    .filter((c) => !needle || c.name.toLowerCase().includes(needle) || c.health.includes(needle))
    .sort((a, b) => ORDER.indexOf(a.health) - ORDER.indexOf(b.health) || a.name.localeCompare(b.name));
}

export function Groups({ groups }: { groups: Group[] }) {
  if (!groups.length) return <p className="calm">No open alerts.</p>;
  return (
    <table className="groups">
      <thead><tr><th>severity</th><th>cause</th><th>alerts</th><th>models</th><th>since</th></tr></thead>
      <tbody>
        {groups.map((g) => (
          <tr key={g.key} data-group={g.key}>
            <td><Badge word={g.severity} /></td>
            <td>{g.rule ?? g.key}{g.kind && <span className="muted"> ({g.kind})</span>}</td>
            <td>{g.count}{g.acknowledged > 0 && <span className="muted small"> ({g.acknowledged} acknowledged)</span>}</td>
            <td>{g.models.slice(0, 8).map((m, i) => <span key={m}>{i > 0 && ", "}<Link to={modelPath(m)}>{m}</Link></span>)}
              {g.models.length > 8 && <span className="muted"> and {g.models.length - 8} more</span>}</td>
            <td>{relative(g.first_seen)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Tile({ card }: { card: Card }) {
  const open = Object.values(card.open_alerts).reduce((a, b) => a + b, 0);
  const kpis = headline(card);
  return (
    <li className={`tile h-${card.health}`} data-model={card.name}>
      <Link to={modelPath(card.name)}><strong>{card.name}</strong></Link>
      <Badge word={card.health} />
      <span className="muted small">{card.serving_version ? `v${card.serving_version}` : "no serving version"}
        {" · "}checked {relative(card.last_finished_at)}</span>
      {kpis.length > 0 && (
        <span className="kpis small">{kpis.map(([k, v]) => `${k} ${formatKpi(k, v)}`).join(" · ")}</span>
      )}
      {open > 0 && <span className="small">{open} open alert{open > 1 ? "s" : ""}</span>}
      {card.awaiting_approval > 0 && <span className="small next">{card.awaiting_approval} awaiting approval</span>}
      {card.pending_actions - card.awaiting_approval > 0 && (
        <span className="small next">{card.pending_actions - card.awaiting_approval} recovery scheduled</span>
      )}
    </li>
  );
}

export function FleetView() {
  const { data, error } = useData<Fleet>("/v1/fleet");
  const groups = useData<Group[]>("/v1/fleet/alerts?by=rule");
  const [filter, setFilter] = useState("");
  const cards = useMemo(() => (data ? sortCards([...data.models], filter) : []), [data, filter]);
  const counts = data?.counts ?? {};
  return (
    <>
      <h1>Models</h1>
      {error && <p className="error">{error}</p>}
      {!data && !error && <p className="muted">Loading…</p>}
      {data && (
        <>
          <section aria-labelledby="firing">
            <h2 id="firing">Open alerts by cause</h2>
            {groups.data ? <Groups groups={groups.data} /> : <p className="muted">{groups.error ?? "Loading…"}</p>}
          </section>
          <section aria-labelledby="fleet">
            <h2 id="fleet">Fleet health <span className="muted small">
              {ORDER.filter((h) => counts[h]).map((h) => `${counts[h]} ${h}`).join(" · ")}</span></h2>
            <input type="search" aria-label="filter models" placeholder="filter by name or health"
                   value={filter} onChange={(e) => setFilter(e.target.value)} />
            <ul className="grid">{cards.map((c) => <Tile key={c.name} card={c} />)}</ul>
          </section>
        </>
      )}
    </>
  );
}
