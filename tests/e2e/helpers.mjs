// What the browser tests share.

// An API call from inside the page, as the console makes them: the session
// cookie, and the CSRF token read from /api/v1/session.
export async function apiCall(p, method, path, body) {
  return p.evaluate(async ([m, u, b]) => {
    const s = await (await fetch('/api/v1/session')).json();
    const r = await fetch(`/api/v1${u}`, { method: m, headers: { 'Content-Type': 'application/json',
      'X-CSRF-Token': s.csrf_token }, body: b === null ? undefined : JSON.stringify(b) });
    return { status: r.status, body: await r.text() };
  }, [method, path, body ?? null]);
}
