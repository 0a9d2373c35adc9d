// Client-side routes on the History API: four pages do not need a router library.

import { useEffect, useState, type MouseEvent, type ReactNode } from "react";

export type Route =
  | { page: "fleet" } | { page: "alerts" } | { page: "login" }
  | { page: "model"; name: string } | { page: "run"; id: string } | { page: "missing" };

export function match(path: string): Route {
  if (path === "/") return { page: "fleet" };
  if (path === "/alerts") return { page: "alerts" };
  if (path === "/login") return { page: "login" };
  let m = /^\/models\/([^/]+)$/.exec(path);
  if (m) return { page: "model", name: decodeURIComponent(m[1]) };
  m = /^\/runs\/([^/]+)$/.exec(path);
  if (m) return { page: "run", id: decodeURIComponent(m[1]) };
  return { page: "missing" };
}

export function navigate(to: string): void {
  window.history.pushState(null, "", to);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

export function usePath(): string {
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    const update = () => setPath(window.location.pathname);
    window.addEventListener("popstate", update);
    return () => window.removeEventListener("popstate", update);
  }, []);
  return path;
}

export function Link({ to, children, className }: { to: string; children: ReactNode; className?: string }) {
  const click = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={click} className={className}>{children}</a>;
}

export function modelPath(name: string): string {
  return `/models/${encodeURIComponent(name)}`;
}
