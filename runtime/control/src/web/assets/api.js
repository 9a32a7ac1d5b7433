// The API from the page: same origin, the session cookie sent by the browser, and the
// session's CSRF token on every state-changing request.

let csrf = null;

export function setCsrf(token) {
  csrf = token || null;
}

// {ok, status, data}: data is the JSON answer (or the text when it is not JSON).
export async function call(method, path, body, type = 'application/json') {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = type;
  if (csrf && method !== 'GET') headers['X-CSRF-Token'] = csrf;
  let r;
  try {
    r = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : type === 'application/json' ? JSON.stringify(body) : body,
    });
  } catch (e) {
    return { ok: false, status: 0, data: { error: 'unreachable', message: `the gateway did not answer (${e.message})` } };
  }
  const text = await r.text();
  let data = text;
  try {
    data = JSON.parse(text);
  } catch {
    // a TOML config or plain text
  }
  return { ok: r.ok, status: r.status, data };
}

export const get = (path) => call('GET', path);
