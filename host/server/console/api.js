// Calls to the daemon's API from the console: same origin, signed in by the
// session cookie; every request that may change state carries the session's
// CSRF proof in X-Weft-Csrf (the daemon refuses it otherwise).

let csrf = "";

/** Sets the CSRF proof `GET /console/session` gave. */
export function setCsrf(value) {
  csrf = value || "";
}

/** An API answer that was not a success: its HTTP status and message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Builds `path?query`, leaving out empty values. */
export function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * Calls the API: `api("/v1/runs", {query: {limit: 50}})`,
 * `api("/v1/runs/ID/cancel", {method: "POST"})`. Resolves to the JSON body;
 * rejects with an ApiError carrying the daemon's `error` message.
 */
export async function api(path, { method = "GET", body, query, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-Weft-Csrf"] = csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(withQuery(path, query), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    signal,
  });
  const text = await response.text();
  let data = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { error: text };
  }
  if (!response.ok) {
    throw new ApiError(response.status, data.error || `${response.status} ${response.statusText}`);
  }
  return data;
}
