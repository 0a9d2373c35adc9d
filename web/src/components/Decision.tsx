// A person's say over an alert or a recovery action: a reason box, the buttons the state allows,
// and the server's answer (or refusal) next to them. The page re-reads its data after a success.

import { useState } from "react";

import { postJson } from "../api";

export interface Choice { label: string; path: string }

interface Props { choices: Choice[]; canWrite: boolean; onDone?: () => void; subject: string }

type Result = { ok: boolean; text: string } | null;

export function Decision({ choices, canWrite, onDone, subject }: Props) {
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Result>(null);
  if (!canWrite) return choices.length ? <span className="muted">read-only</span> : null;

  async function decide(choice: Choice) {
    setBusy(true);
    try {
      const body = await postJson<{ state?: string; message?: string }>(choice.path, { reason });
      const said = body?.state ? `now ${body.state.replace(/_/g, " ")}` : body?.message ?? "done";
      setResult({ ok: true, text: `${choice.label}: ${said}` });
      onDone?.();
    } catch (e) {
      const status = (e as { status?: number }).status;
      setResult({ ok: false, text: `Failed${status ? ` (HTTP ${status})` : ""}: ${(e as Error).message}` });
      setBusy(false);
    }
  }

  const done = result?.ok ?? false;
  return (
    <div className="act">
      {choices.length > 0 && !done && (
        <>
          <input name="reason" aria-label={`reason for ${subject}`} placeholder="reason (audited)" maxLength={2000}
                 value={reason} onChange={(e) => setReason(e.target.value)} disabled={busy} />
          {choices.map((c) => (
            <button key={c.label} type="button" disabled={busy} onClick={() => decide(c)}>{c.label}</button>
          ))}
        </>
      )}
      {result && <output className={`result ${result.ok ? "ok" : "error"}`} role="status">{result.text}</output>}
    </div>
  );
}
