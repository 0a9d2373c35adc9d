// The JSON API, as the dashboard calls it: same-origin fetch (the browser sends the HttpOnly
// cookie), and on writes the CSRF header the API requires of cookie-signed requests.

export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

export const CSRF = { "X-Requested-With": "modelwatch" };

function detail(body: unknown, status: number): string {
  if (body && typeof body === "object" && "detail" in body) {
    const d = (body as { detail: unknown }).detail;
    if (typeof d === "string") return d;
    return JSON.stringify(d);
  }
  return `HTTP ${status}`;
}

/** The sign-in page for the current location: a 401 means the cookie is missing or stale. */
export function toLogin(): void {
  const here = window.location.pathname + window.location.search;
  window.location.assign(`/login?next=${encodeURIComponent(here)}`);
}

export async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  const body = await response.json().catch(() => null);
  if (response.status === 401) toLogin();
  if (!response.ok) throw new ApiError(response.status, detail(body, response.status));
  return body as T;
}

export async function postJson<T>(path: string, payload: unknown): Promise<T> {
  const response = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", ...CSRF },
    body: JSON.stringify(payload),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, detail(body, response.status));
  return body as T;
}
