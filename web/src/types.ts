// The shapes of /v1/dashboard/* (frontdoors/dashboard/data.py) the pages read.

export type Health = "ok" | "alerting" | "critical" | "failed" | "unchecked";

export interface SessionInfo { auth: boolean; actor: string; can_write: boolean; version: string }

/** One row of GET /v1/fleet. */
export interface Card {
  name: string; task: string; health: Health; serving_version: string | null;
  last_run_id: string | null; last_run_status: string | null; last_finished_at: string | null;
  open_alerts: Record<string, number>; pending_actions: number; awaiting_approval: number;
  kpis: Record<string, number | null>;
}

/** One row of GET /v1/fleet/alerts?by=rule. */
export interface Group {
  key: string; rule: string | null; kind: string | null; count: number; severity: string; models: string[];
  alert_ids: number[]; first_seen: string; acknowledged: number;
}

export interface Fleet { models: Card[]; counts: Record<string, number> }

export interface Ack { actor: string | null; at: string | null; reason: string }

export interface Alert {
  id: number; model: string; rule: string; kind: string; segment: string; state: string; open: boolean;
  severity: string; message: string; value: number | null; baseline: number | null;
  first_seen: string | null; last_seen: string | null; resolved_at: string | null; ack: Ack | null;
}

export interface AlertsPage { open: Alert[]; recent: Alert[] }

export interface Action {
  id: number; kind: string; state: string; eta: string | null; reason: string; expires_at: string | null;
  alert_id: number | null; finished_at: string | null; error: string | null; verification: string | null;
}

/** One KPI for a chart: its points, threshold, latest baseline, and the times of its anomaly marks. */
export interface Series {
  name: string; points: [string, number | null][]; baseline: number | null; threshold: number | null;
  anomalies: string[];
}

export interface ChartData { title: string; unit: string; series: Series[] }

/** GET /v1/models/{name}/timeseries */
export interface Timeseries {
  model: string; since: string; until: string;
  kpis: {
    name: string; unit: string; threshold: number | null;
    points: { at: string; value: number | null; baseline: number | null; run_id: string }[];
    marks: { at: string; kind: string; rule: string; severity: string; message: string }[];
  }[];
}

/** GET /v1/models/{name}/annotations */
export interface Annotation { at: string; kind: string; version: string | null; summary: string; source: string }

/** GET /v1/models/{name}/drift */
export interface DriftSeries {
  column: string; output: boolean;
  points: { at: string; run_id: string; method: string | null; effect: number | null; threshold: number | null; status: string }[];
}

export interface Tile { name: string; value: number | null; reference: number | null; change_pct: number | null; breached: boolean }

export interface DriftRow {
  column: string; label: string; method: string; effect_size: number | null; p_value_adjusted: number | null;
  drifted: boolean; skipped: string | null; message: string;
}

export interface Run {
  id: string; status: string; trigger: string; version: string | null; window_end: string | null;
  created_at: string | null; error: string | null; report: boolean;
}

export interface AuditEvent { id: number; at: string; actor: string; action: string; subject: string; reason: string }

export interface ModelPage {
  name: string; task: string; health: Health; serving_version: string | null;
  last_run: Run | null; latest_run: string | null;
  tiles: { model: Tile[]; service: Tile[] };
  drift: DriftRow[];
  quality: { check: string; column: string; severity: string; message: string }[];
  alerts: Alert[]; actions: Action[]; runs: Run[]; audit: AuditEvent[];
}
