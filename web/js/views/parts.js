// Pieces several pages use: the pager, a yes/no/any select, Test connection
// steps, Fetch now, and an account's fetch history.
import { api, apiStream } from '../api.js';
import { clear, formatBytes, formatTime, h, toast } from '../dom.js';
import { language, t, waitingText } from '../i18n.js';

export function pager(page, perPage, total, goTo) {
  const pages = Math.max(1, Math.ceil(total / perPage));
  const from = total ? (page - 1) * perPage + 1 : 0;
  const to = Math.min(total, page * perPage);
  const button = (key, target, disabled) => h('button', {
    type: 'button', class: 'page', dataset: { page: target }, disabled,
    onclick: () => goTo(target),
  }, t(key));
  return h('div', { class: 'pager' },
    button('page.first', 1, page <= 1),
    button('page.prev', page - 1, page <= 1),
    h('span', { class: 'range' }, total ? t('page.range', { from, to, total }) : t('page.empty')),
    button('page.next', page + 1, page >= pages),
    button('page.last', pages, page >= pages));
}

export function triSelect(id, value, anyKey = 'common.any') {
  return h('select', { id, name: id },
    h('option', { value: '' }, t(anyKey)),
    h('option', { value: 'yes', selected: value === 'yes' }, t('common.yes')),
    h('option', { value: 'no', selected: value === 'no' }, t('common.no')));
}

export function stepItem(s) {
  return h('li', { class: `step ${s.result}`, dataset: { step: s.step, result: s.result } },
    h('span', { class: 'mark', 'aria-hidden': 'true' }, s.result === 'ok' ? '✓' : s.result === 'failed' ? '✗' : '•'),
    h('span', { class: 'name' }, s.step),
    h('span', { class: 'ms' }, `${s.ms} ms`),
    h('span', { class: 'detail' }, s.detail));
}

// Runs Test connection into `out`, showing each step as the server reports
// it. Returns the last line (ok, messages, folders…), or false when the
// request itself was refused (e.g. bad fields: onError gets the error).
export async function runTest(out, path, body, onError) {
  const list = h('ol', { class: 'steps' });
  const status = h('p', { class: 'loading', role: 'status', id: 'test-status' }, t('form.testing'));
  clear(out).append(status, list);
  let failed = null;
  // the running step: what it waits on and the time so far, kept moving
  const started = Date.now();
  let waiting = null;
  const tick = () => {
    if (!waiting || out.dataset.done) return;
    status.textContent = t('form.testWaiting', { what: waitingText(waiting),
      s: new Intl.NumberFormat(language(), { minimumFractionDigits: 1, maximumFractionDigits: 1 })
        .format((Date.now() - started) / 1000) });
  };
  const timer = setInterval(tick, 250);
  let last = null;
  try {
    await apiStream('POST', path, body, (line) => {
      if (line.waiting) {
        waiting = line.waiting;
        status.dataset.waiting = line.waiting;
        tick();
      } else if (line.done) {
        last = line;
        status.className = line.ok ? 'ok' : 'error';
        status.textContent = line.ok ? t('form.testOk', { n: line.messages })
          : t('form.testFailed', { step: failed || '?' });
        out.dataset.done = 'yes';
      } else {
        if (line.result === 'failed' && !failed) failed = line.step;
        list.append(stepItem(line));
      }
    });
  } catch (e) {
    clear(out);
    if (onError) onError(e);
    else out.append(h('p', { class: 'error' }, e.message));
    return false;
  } finally {
    clearInterval(timer);
  }
  return last || true;
}

// Starts a fetch and reports how it ended; onDone refreshes the page.
export async function fetchNow(account, button, onDone) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = t('action.fetching');
  try {
    // the newest finished run now; ours (or the one we join) comes after it
    const before = await api('GET', `/accounts/${account.id}/history?per_page=5`);
    const last = (before.runs.find((r) => r.result !== 'running') || { id: 0 }).id;
    await api('POST', `/accounts/${account.id}/fetch`);
    let run = null;
    for (let i = 0; i < 600 && !run; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const hist = await api('GET', `/accounts/${account.id}/history?per_page=1`);
      const top = hist.runs[0];
      if (top && top.id > last && top.result !== 'running') run = top;
      else if (top && top.id > last && top.fetched) { // its progress, as each batch commits
        button.textContent = t('action.fetchingSoFar', { n: top.fetched, size: formatBytes(top.bytes) });
        button.dataset.fetched = top.fetched;
      }
    }
    if (run && run.result === 'ok') toast(t('fetch.done', { name: account.name, n: run.fetched }), 'ok');
    else if (run) toast(t('fetch.failed', { name: account.name, error: run.error }), 'error');
  } catch (e) {
    toast(e.code === 'running' ? t('fetch.running', { name: account.name })
      : t('fetch.failed', { name: account.name, error: e.message }), 'error');
  } finally {
    button.disabled = false;
    button.textContent = label;
    if (onDone) onDone();
  }
}

// An account's fetch history, newest first, 10 a page (each page loads on its own).
export function historyCard(accountId) {
  const card = h('section', { class: 'card', id: 'history' }, h('h2', {}, t('history.title')));
  const body = h('div', {});
  card.append(body);
  const load = async (page) => {
    const data = await api('GET', `/accounts/${accountId}/history?page=${page}&per_page=10`);
    clear(body).append(
      h('table', { class: 'list' },
        h('thead', {}, h('tr', {}, ['history.started', 'history.duration', 'history.result', 'history.fetched',
          'history.deleted', 'history.skipped', 'history.error'].map((k) => h('th', {}, t(k))))),
        h('tbody', {}, data.runs.map((r) => h('tr', { class: `run ${r.result}`, dataset: { id: r.id } },
          h('td', {}, formatTime(r.started_at)),
          h('td', {}, r.ended_at ? `${Math.max(0, (new Date(r.ended_at) - new Date(r.started_at)) / 1000)} s` : '…'),
          h('td', {}, t(r.result === 'error' ? 'history.failed' : `history.${r.result}`)), h('td', {}, `${r.fetched} (${formatBytes(r.bytes)})`),
          h('td', {}, r.deleted), h('td', {}, r.skipped), h('td', { class: 'detail' }, r.error || ''))))),
      pager(data.page, 10, data.total, load));
  };
  load(1);
  return card;
}