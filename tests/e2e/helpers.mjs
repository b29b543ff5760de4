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

// An API call that must succeed: its JSON.
export async function apiOk(p, method, path, body) {
  const r = await apiCall(p, method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.body}`);
  return JSON.parse(r.body || 'null');
}

// Fetch now for an account, and its run once it has ended.
export async function fetchAndWait(p, id) {
  await apiOk(p, 'POST', `/accounts/${id}/fetch`, {});
  for (let i = 0; i < 300; i++) {
    const h = await apiOk(p, 'GET', `/accounts/${id}/history`);
    if (h.runs.length && h.runs[0].result !== 'running') return h.runs[0];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`account ${id}: the fetch did not finish`);
}
