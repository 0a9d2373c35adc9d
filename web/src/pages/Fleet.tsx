// What is firing first: open alerts grouped by cause, then one small tile per model, worst health
// first. Tiles are plain elements (no chart per model) so a thousand of them render at once.

import { useMemo, useState } from "react";

import { Badge } from "../components/Badge";
import { formatKpi, relative } from "../format";
import { Link, modelPath } from "../router";
import type { Card, Fleet, Group } from "../types";
import { useData } from "../useData";

const ORDER = ["critical", "alerting", "failed", "unchecked", "ok"];

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
          <tr key={`${g.kind}/${g.rule}`} data-group={g.rule}>
            <td><Badge word={g.severity} /></td>
            <td>{g.rule} <span className="muted">({g.kind})</span></td>
            <td>{g.count}</td>
            <td>{g.models.slice(0, 8).map((m, i) => <span key={m}>{i > 0 && ", "}<Link to={modelPath(m)}>{m}</Link></span>)}
              {g.models.length > 8 && <span className="muted"> and {g.models.length - 8} more</span>}</td>
            <td>{relative(g.since)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Tile({ card }: { card: Card }) {
  return (
    <li className={`tile h-${card.health}`} data-model={card.name}>
      <Link to={modelPath(card.name)}><strong>{card.name}</strong></Link>
      <Badge word={card.health} />
      <span className="muted small">{card.serving_version ? `v${card.serving_version}` : "no serving version"}
        {" · "}checked {relative(card.last_run?.at)}</span>
      {card.kpis.length > 0 && (
        <span className="kpis small">{card.kpis.map((k) => `${k.name} ${formatKpi(k.name, k.value)}`).join(" · ")}</span>
      )}
      {card.open_alerts > 0 && <span className="small">{card.open_alerts} open alert{card.open_alerts > 1 ? "s" : ""}</span>}
      {card.next_action && (
        <span className="small next">{card.next_action.kind} {card.next_action.state.replace(/_/g, " ")}</span>
      )}
    </li>
  );
}

export function FleetView() {
  const { data, error } = useData<Fleet>("/v1/dashboard/fleet");
  const [filter, setFilter] = useState("");
  const cards = useMemo(() => (data ? sortCards([...data.models], filter) : []), [data, filter]);
  const counts = useMemo(() => {
    const out: Record<string, number> = {};
    data?.models.forEach((c) => { out[c.health] = (out[c.health] ?? 0) + 1; });
    return out;
  }, [data]);
  return (
    <>
      <h1>Models</h1>
      {error && <p className="error">{error}</p>}
      {!data && !error && <p className="muted">Loading…</p>}
      {data && (
        <>
          <section aria-labelledby="firing">
            <h2 id="firing">Open alerts by cause</h2>
            <Groups groups={data.groups} />
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
