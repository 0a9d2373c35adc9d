import { useEffect, useState } from "react";

import { getJson } from "./api";
import { connect, useLiveState } from "./live";
import { AlertsView } from "./pages/Alerts";
import { FleetView } from "./pages/Fleet";
import { LoginView } from "./pages/Login";
import { ModelView } from "./pages/Model";
import { RunView } from "./pages/Run";
import { Link, match, usePath } from "./router";
import type { SessionInfo } from "./types";

function LiveIndicator() {
  const state = useLiveState();
  const text = state === "live" ? "live" : state === "reconnecting" ? "reconnecting…" : "connecting…";
  return <span className={`live live-${state}`} role="status" aria-live="polite">{text}</span>;
}

export function App() {
  const path = usePath();
  const route = match(path);
  const [session, setSession] = useState<SessionInfo | null>(null);
  useEffect(() => {
    if (route.page === "login") return;
    getJson<SessionInfo>("/v1/dashboard/session").then(setSession, () => undefined);
    connect();
  }, [route.page === "login"]); // eslint-disable-line react-hooks/exhaustive-deps

  if (route.page === "login") return <LoginView />;
  const canWrite = session?.can_write ?? false;
  return (
    <>
      <header className="top">
        <Link to="/" className="brand">modelwatch</Link>
        <nav aria-label="pages">
          <Link to="/" className={route.page === "fleet" ? "active" : ""}>Models</Link>
          <Link to="/alerts" className={route.page === "alerts" ? "active" : ""}>Alerts</Link>
        </nav>
        <LiveIndicator />
        {session && (
          <span className="who">
            {session.actor}{session.can_write ? "" : " (read-only)"}
            {session.auth && (
              <form method="post" action="/logout"><button type="submit" className="link">Sign out</button></form>
            )}
          </span>
        )}
      </header>
      <main>
        {route.page === "fleet" && <FleetView />}
        {route.page === "alerts" && <AlertsView canWrite={canWrite} />}
        {route.page === "model" && <ModelView name={route.name} canWrite={canWrite} />}
        {route.page === "run" && <RunView id={route.id} />}
        {route.page === "missing" && <p className="error">No such page: {path}</p>}
      </main>
      <footer className="muted">modelwatch {session?.version}</footer>
    </>
  );
}
