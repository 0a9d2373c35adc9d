import { useState } from "react";

import { postJson } from "../api";
import { AlertTable } from "../components/AlertTable";
import type { AlertsPage, Group } from "../types";
import { useData } from "../useData";
import { Groups } from "./Fleet";

/** Silence a model's rule for a while (POST /v1/silences); the comment is required and audited. */
function SilenceForm({ onDone }: { onDone: () => void }) {
  const [fields, setFields] = useState({ model: "", rule: "", duration: "2h", comment: "" });
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const set = (k: keyof typeof fields) => (e: { target: { value: string } }) => setFields({ ...fields, [k]: e.target.value });
  async function submit() {
    const body = Object.fromEntries(Object.entries(fields).filter(([, v]) => v.trim()));
    try {
      const made = await postJson<{ id: number }>("/v1/silences", body);
      setResult({ ok: true, text: `Silence #${made.id} created` });
      onDone();
    } catch (e) {
      setResult({ ok: false, text: `Failed (HTTP ${(e as { status?: number }).status}): ${(e as Error).message}` });
    }
  }
  return (
    <div className="silence">
      <label>model <input value={fields.model} onChange={set("model")} placeholder="any" /></label>
      <label>rule <input value={fields.rule} onChange={set("rule")} placeholder="any" /></label>
      <label>for <input value={fields.duration} onChange={set("duration")} size={5} /></label>
      <label>comment <input value={fields.comment} onChange={set("comment")} required /></label>
      <button type="button" onClick={submit}>Silence</button>
      {result && <output className={`result ${result.ok ? "ok" : "error"}`}>{result.text}</output>}
    </div>
  );
}

export function AlertsView({ canWrite }: { canWrite: boolean }) {
  const { data, error, reload } = useData<AlertsPage>("/v1/dashboard/alerts");
  const groups = useData<Group[]>("/v1/fleet/alerts?by=rule");
  return (
    <>
      <h1>Alerts</h1>
      {error && <p className="error">{error}</p>}
      {data && (
        <>
          <section aria-labelledby="by-cause"><h2 id="by-cause">By cause</h2>{groups.data && <Groups groups={groups.data} />}</section>
          <section id="open" aria-labelledby="open-h"><h2 id="open-h">Open ({data.open.length})</h2>
            <AlertTable alerts={data.open} canWrite={canWrite} onDone={reload} /></section>
          {canWrite && <section aria-labelledby="silence-h"><h2 id="silence-h">Silence</h2><SilenceForm onDone={reload} /></section>}
          <section id="recent" aria-labelledby="recent-h"><h2 id="recent-h">Recently resolved</h2>
            <AlertTable alerts={data.recent} canWrite={false} onDone={reload} /></section>
        </>
      )}
    </>
  );
}
