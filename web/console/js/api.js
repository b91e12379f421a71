// The console's calls: /console/api/<path> reaches the admin API with the session's credential
// (kept in an HttpOnly cookie this script cannot read). Changes carry the console's own header,
// which the server requires of every POST, PATCH and DELETE.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error;
    this.details = body?.details;
  }
}

async function request(method, url, body) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') headers['x-console-request'] = '1';
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const api = {
  get: (path) => request('GET', `/console/api/${path}`),
  post: (path, body) => request('POST', `/console/api/${path}`, body),
  patch: (path, body) => request('PATCH', `/console/api/${path}`, body),
  del: (path) => request('DELETE', `/console/api/${path}`),
  signIn: (token) => request('POST', '/console/session', { token }),
  session: () => request('GET', '/console/session'),
  signOut: () => request('DELETE', '/console/session'),
};

/** A query string from an object, skipping empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') search.set(k, v);
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** First and last day (UTC) of the current month, as the usage API's default range. */
export function thisMonth(now = new Date()) {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const day = (d) => d.toISOString().slice(0, 10);
  return { from: day(new Date(Date.UTC(y, m, 1))), to: day(new Date(Date.UTC(y, m + 1, 0))) };
}
