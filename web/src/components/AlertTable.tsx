import { Badge } from "./Badge";
import { Decision } from "./Decision";
import { relative } from "../format";
import { Link, modelPath } from "../router";
import type { Alert } from "../types";

/** Alerts with their state, who acknowledged them and why, and Acknowledge on firing ones. */
export function AlertTable({ alerts, canWrite, onDone, showModel = true }:
  { alerts: Alert[]; canWrite: boolean; onDone: () => void; showModel?: boolean }) {
  if (!alerts.length) return <p className="calm">None.</p>;
  return (
    <table className="alerts">
      <thead><tr>
        <th>state</th>{showModel && <th>model</th>}<th>rule</th><th>message</th><th>since</th><th>decision</th>
      </tr></thead>
      <tbody>
        {alerts.map((a) => (
          <tr key={a.id} data-alert={a.id}>
            <td><Badge word={a.state} /> <Badge word={a.severity} /></td>
            {showModel && <td><Link to={modelPath(a.model)}>{a.model}</Link></td>}
            <td>{a.rule}{a.segment && <span className="muted"> [{a.segment}]</span>}</td>
            <td>{a.message}</td>
            <td title={a.first_seen ?? ""}>{relative(a.first_seen)}{a.resolved_at && `, resolved ${relative(a.resolved_at)}`}</td>
            <td>
              {a.ack && (
                <span className="small">acknowledged by {a.ack.actor} {relative(a.ack.at)}{a.ack.reason && `: ${a.ack.reason}`}</span>
              )}
              <Decision subject={`alert ${a.id}`} canWrite={canWrite} onDone={onDone}
                        choices={a.state === "firing" && !a.ack ? [{ label: "Acknowledge", path: `/v1/alerts/${a.id}/ack` }] : []} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
