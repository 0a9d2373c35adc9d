// Live updates: one EventSource on /v1/events for the whole app. Each event asks the open page to
// read its data again. EventSource reconnects by itself after a dropped connection (sending
// Last-Event-ID); after a refused one (the API restarting answers 502/503, an older API 404) it
// gives up, so we open a new one after a pause. While the stream is down the page polls slowly,
// and the header says "reconnecting".

import { useEffect, useRef, useState } from "react";

export type LiveState = "connecting" | "live" | "reconnecting";

export const EVENT_TYPES = [
  "run.finished",
  "alert.fired", "alert.acknowledged", "alert.resolved",
  "recovery.scheduled", "recovery.approved", "recovery.cancelled", "recovery.ran", "recovery.verified",
];
const RETRY_MS = 3000;
const POLL_MS = 10000;  // only while the stream is down

export interface LiveEvent { id?: string; type: string; model?: string; [key: string]: unknown }

type Listener = (event: LiveEvent) => void;
const listeners = new Set<Listener>();
const stateListeners = new Set<(s: LiveState) => void>();
let state: LiveState = "connecting";
let source: EventSource | null = null;
let retry: ReturnType<typeof setTimeout> | null = null;
let poll: ReturnType<typeof setInterval> | null = null;

function setState(next: LiveState): void {
  state = next;
  stateListeners.forEach((l) => l(next));
  if (next === "live" && poll) {
    clearInterval(poll);
    poll = null;
  } else if (next !== "live" && !poll) {
    poll = setInterval(() => emit({ type: "poll" }), POLL_MS);
  }
}

function emit(event: LiveEvent): void {
  listeners.forEach((l) => l(event));
}

function parse(message: MessageEvent, type: string): LiveEvent {
  try {
    const data = JSON.parse(message.data);
    return { ...data, type: data.type ?? type, id: message.lastEventId || data.id };
  } catch {
    return { type };
  }
}

export function connect(url = "/v1/events"): void {
  if (typeof EventSource === "undefined" || source) return;
  const es = new EventSource(url, { withCredentials: true });
  source = es;
  es.onopen = () => setState("live");
  es.onmessage = (m) => emit(parse(m, "message"));
  EVENT_TYPES.forEach((t) => es.addEventListener(t, (m) => emit(parse(m as MessageEvent, t))));
  es.onerror = () => {
    setState("reconnecting");
    if (es.readyState === EventSource.CLOSED) {
      es.close();
      source = null;
      if (!retry) retry = setTimeout(() => { retry = null; connect(url); }, RETRY_MS);
    }
  };
}

/** The stream's state, for the header's indicator. */
export function useLiveState(): LiveState {
  const [now, setNow] = useState(state);
  useEffect(() => {
    stateListeners.add(setNow);
    return () => { stateListeners.delete(setNow); };
  }, []);
  return now;
}

/** Call ``reload`` (at most every 500 ms) whenever an event arrives that ``relevant`` accepts. */
export function useLive(reload: () => void, relevant: (e: LiveEvent) => boolean = () => true): void {
  const latest = useRef({ reload, relevant });
  latest.current = { reload, relevant };
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const listener = (e: LiveEvent) => {
      if (e.type !== "poll" && !latest.current.relevant(e)) return;
      if (!timer) timer = setTimeout(() => { timer = null; latest.current.reload(); }, 500);
    };
    listeners.add(listener);
    return () => { listeners.delete(listener); if (timer) clearTimeout(timer); };
  }, []);
}
