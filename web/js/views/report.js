// The IMAP/POP3 settings report: search, 30 a page, actions; and its print
// view.
import { api, query } from '../api.js';
import { isAdmin } from '../app.js';
import { onLive } from '../live.js';
import { clear, formatTime, h } from '../dom.js';
import { language, t } from '../i18n.js';
import { tokenStateText } from './oauth.js';
import { fetchNow, pager, runTest, triSelect } from './parts.js';
import { scheduleLink } from './schedules.js';

const FILTERS = ['name', 'secure', 'automatic_check', 'keep_copy', 'status', 'errors'];
const yesNo = (b) => t(b ? 'common.yes' : 'common.no');
// The columns, as the product documents list them, with Status and the last check
const COLUMNS = ['rep.col.id', 'col.name', 'rep.col.status', 'col.secure', 'col.type', 'col.protocol',
  'col.port', 'col.auto', 'col.keep'];

function filtersFrom(params) {
  const f = {};
  for (const k of FILTERS) if (params.get(k)) f[k] = params.get(k);
  return f;
}

// The filters as a person reads them: "Automatic check: Yes, Status: Disabled".
export function filtersInWords(filters) {
  const label = { name: 'col.name', secure: 'col.secure', automatic_check: 'col.auto', keep_copy: 'rep.search.keep',
    status: 'rep.search.status', errors: 'check.withErrors' };
  const value = (k, v) => {
    if (k === 'name') return `“${v}”`;
    if (k === 'status') return t(`rep.filter.${v}`);
    return v === 'yes' || v === 'no' ? yesNo(v === 'yes') : v;
  };
  return FILTERS.filter((k) => filters[k]).map((k) => `${t(label[k])}: ${value(k, filters[k])}`).join(', ');
}

// Last check: how it went, when, and why it failed, on one line (cut short
// with the whole text on hover); a click shows all of it, with the next
// check and the messages stored.
// Push (IMAP IDLE): the mode in words, why it is not push, the connection's
// age and the last notice's time to stored.
export function pushText(a) {
  const p = a.push_status;
  if (!p) return '';
  const why = p.mode === 'off' && p.reason_code ? t(`push.off.${p.reason_code}`) : p.reason;
  const parts = [t(`push.mode.${p.mode}`)];
  if (p.age_s != null) parts.push(t('push.age', { age: duration(p.age_s) }));
  if (p.latency_ms != null) parts.push(t('push.latency', { ms: p.latency_ms }));
  return parts.join(', ') + (why ? ` — ${why}` : '');
}

function duration(s) {
  if (s < 60) return t('push.seconds', { n: s });
  if (s < 3600) return t('push.minutes', { n: Math.floor(s / 60) });
  return t('push.hours', { n: Math.floor(s / 3600) });
}

function pushBadge(a) {
  const p = a.push_status;
  if (!p || p.mode === 'off') return '';
  return h('span', { class: `push-mode ${p.mode}`, title: pushText(a) }, t(`push.badge.${p.mode}`));
}

function lastCheck(a) {
  const c = a.last_check;
  const failed = c && c.result === 'error';
  const next = a.next_check ? t('rep.nextCheck', { at: formatTime(a.next_check) }) : t('rep.noNextCheck');
  const count = t('rep.messages', { n: a.message_count ?? 0 });
  const summary = !c ? t('check.never')
    : `${failed ? '✗' : '✓'} ${formatTime(c.at)}${failed ? ` — ${c.error || t('history.failed')}` : ''}`;
  const more = [failed && a.failures > 1 ? t('check.failures', { n: a.failures }) : '', next, count,
    a.push_status && a.push_status.mode !== 'off' ? pushText(a) : ''].filter(Boolean);
  const full = h('div', { class: 'check-more', hidden: true },
    failed && h('p', { class: 'reason' }, c.error || t('history.failed')), more.map((m) => h('p', {}, m)));
  const toggle = h('button', { type: 'button', class: 'check-summary', 'aria-expanded': 'false',
    title: [summary, ...more].join('\n') }, h('span', { class: 'check-text' }, summary),
  failed && a.failures > 1 ? h('span', { class: 'failures' }, ` ×${a.failures}`) : '');
  toggle.addEventListener('click', () => {
    full.hidden = !full.hidden;
    toggle.setAttribute('aria-expanded', String(!full.hidden));
    toggle.closest('td').classList.toggle('expanded', !full.hidden);
  });
  return h('td', { class: `last-check ${!c ? 'never' : failed ? 'failed' : 'ok'}`,
    dataset: { result: c ? c.result : 'never' } }, toggle, full);
}

// A click elsewhere closes an open row menu.
document.addEventListener('click', (ev) => {
  for (const m of document.querySelectorAll('details.row-menu[open]')) if (!m.contains(ev.target)) m.open = false;
});

// A row's Actions menu: opening one closes the others; the arrows move in
// it, Escape closes it.
function rowMenu(name, items) {
  const menu = h('details', { class: 'menu row-menu' },
    h('summary', { 'aria-label': t('rep.actionsFor', { name }) }, t('common.actions')),
    h('div', { class: 'menu-items', role: 'menu' }, items));
  menu.addEventListener('toggle', () => {
    if (!menu.open) return;
    for (const other of document.querySelectorAll('details.row-menu[open]')) if (other !== menu) other.open = false;
    menu.querySelector('.menu-items a, .menu-items button')?.focus();
  });
  menu.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && menu.open) { menu.open = false; menu.querySelector('summary').focus(); }
    if ((ev.key === 'ArrowDown' || ev.key === 'ArrowUp') && menu.open) { // and Tab, as everywhere
      const items = [...menu.querySelectorAll('[role="menuitem"]')];
      const at = items.indexOf(document.activeElement);
      items[(at + (ev.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length].focus();
      ev.preventDefault();
    }
  });
  for (const item of menu.querySelectorAll('.menu-items a, .menu-items button')) {
    item.setAttribute('role', 'menuitem');
    item.addEventListener('click', () => { menu.open = false; });
  }
  return menu;
}

function row(a, refresh) {
  const admin = isAdmin();
  const result = h('tr', { class: 'test-result', hidden: true },
    h('td', { colspan: COLUMNS.length + 2 }));
  const testButton = h('button', { type: 'button', class: 'test' }, t('action.test'));
  testButton.addEventListener('click', async () => {
    result.hidden = false;
    testButton.disabled = true;
    await runTest(result.firstChild, `/accounts/${a.id}/test`);
    testButton.disabled = false;
  });
  // Fetch now runs from the menu and counts its progress in the row, where the last check shows
  const check = lastCheck(a);
  const progress = h('span', { class: 'fetch-progress', role: 'status', hidden: true });
  check.prepend(progress);
  const fetchButton = h('button', { type: 'button', class: 'fetch' }, t('action.fetch'));
  fetchButton.addEventListener('click', () => {
    fetchButton.disabled = true;
    progress.hidden = false;
    check.querySelector('.check-summary').hidden = true;
    fetchNow(a, progress, refresh);
  });
  // an account whose OAuth 2.0 sign-in needs a person says so, linking to it
  const tk = a.credential_token;
  if (tk && tk.state !== 'ok' && a.credential) {
    check.prepend(h('span', { class: 'token-warning' },
      h('a', { href: `#/credentials/${a.credential.id}` }, tokenStateText(tk))));
  }
  const tr = h('tr', { dataset: { id: a.id }, class: a.enabled ? 'enabled' : 'disabled' },
    h('td', {}, a.id), h('td', { class: 'name', title: a.name }, a.name),
    h('td', { class: 'status' }, h('span', { class: `state ${a.enabled ? 'on' : 'off'}` },
      t(a.enabled ? 'rep.state.enabled' : 'rep.state.disabled'))),
    h('td', {}, yesNo(a.secure_connection)),
    h('td', {}, a.connection_type), h('td', {}, a.protocol.toUpperCase()), h('td', {}, a.port),
    h('td', { class: 'auto' }, yesNo(a.automatic_check), ' ', pushBadge(a)), h('td', {}, yesNo(a.keep_copy)),
    check,
    h('td', { class: 'actions' }, rowMenu(a.name, [
      h('a', { href: `#/accounts/${a.id}`, class: 'edit' }, t('action.edit')),
      h('a', { href: `#/inbox?account=${a.id}`, class: 'inbox' }, t('action.inbox'),
        h('span', { class: 'badge', title: t('rep.messages', { n: a.message_count ?? 0 }) }, a.message_count ?? 0)),
      admin && testButton,
      admin && fetchButton].filter(Boolean))));
  return [tr, result];
}

function searchForm(filters, apply) {
  const name = h('input', { id: 'f-name', name: 'name', value: filters.name || '', type: 'search' });
  const status = h('select', { id: 'f-status', name: 'status' },
    h('option', { value: '' }, t('common.all')),
    h('option', { value: 'enabled', selected: filters.status === 'enabled' }, t('rep.filter.enabled')),
    h('option', { value: 'disabled', selected: filters.status === 'disabled' }, t('rep.filter.disabled')));
  const more = h('div', { class: 'more', hidden: !(filters.secure || filters.automatic_check ||
      filters.keep_copy || filters.status || filters.errors) },
  h('label', { for: 'f-secure' }, t('col.secure')), triSelect('f-secure', filters.secure),
  h('label', { for: 'f-auto' }, t('col.auto')), triSelect('f-auto', filters.automatic_check),
  h('label', { for: 'f-keep' }, t('rep.search.keep')), triSelect('f-keep', filters.keep_copy),
  h('label', { for: 'f-status' }, t('rep.search.status')), status,
  h('label', { for: 'f-errors' }, t('check.withErrors')), triSelect('f-errors', filters.errors));
  const toggle = h('button', { type: 'button', id: 'f-more', class: 'link', 'aria-expanded': String(!more.hidden),
    onclick: () => {
      more.hidden = !more.hidden;
      toggle.textContent = t(more.hidden ? 'common.more' : 'common.less');
      toggle.setAttribute('aria-expanded', String(!more.hidden));
    },
  }, t(more.hidden ? 'common.more' : 'common.less'));
  const form = h('form', { class: 'search', id: 'report-search' },
    h('label', { for: 'f-name' }, t('col.name')), name,
    h('button', { type: 'submit', id: 'f-submit' }, t('common.search')), toggle, more);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    apply({ name: name.value.trim(), secure: form.querySelector('#f-secure').value,
      automatic_check: form.querySelector('#f-auto').value,
      keep_copy: form.querySelector('#f-keep').value, status: status.value,
      errors: form.querySelector('#f-errors').value });
  });
  return form;
}

function actionsMenu(filters) {
  const q = query(filters);
  const menu = h('details', { class: 'menu', id: 'report-actions' },
    h('summary', {}, t('common.actions')),
    h('div', { class: 'menu-items' },
      h('a', { href: `#/accounts/print${q}`, id: 'action-print' }, t('report.print')),
      h('a', { href: `/api/v1/reports/accounts.csv${q}`, id: 'action-csv', download: 'accounts.csv' }, t('report.csv')),
      isAdmin() && h('a', { href: scheduleLink(filters), id: 'action-schedule' }, t('report.schedule'))));
  for (const a of menu.querySelectorAll('a')) a.addEventListener('click', () => { menu.open = false; });
  return menu;
}

// No account to show: the first steps when there are none at all, a way
// back when the filters leave none.
function emptyState(filtered) {
  if (filtered) {
    return h('div', { class: 'empty-state', id: 'report-empty', dataset: { kind: 'filtered' } },
      h('p', {}, t('rep.empty.filtered')), h('a', { href: '#/accounts', id: 'clear-filters' }, t('rep.empty.clear')));
  }
  const admin = isAdmin();
  return h('div', { class: 'empty-state', id: 'report-empty', dataset: { kind: 'none' } },
    h('h2', {}, t('rep.empty.title')),
    h('p', {}, t(admin ? 'rep.empty.intro' : 'rep.empty.viewer')),
    admin && h('ol', { class: 'first-steps' },
      h('li', {}, h('a', { href: '#/credentials/new', id: 'empty-credential' }, t('rep.empty.step1')),
        ' ', h('span', { class: 'help' }, t('rep.empty.step1Help'))),
      h('li', {}, h('a', { href: '#/accounts/new', id: 'empty-account' }, t('rep.empty.step2')),
        ' ', h('span', { class: 'help' }, t('rep.empty.step2Help'))),
      h('li', {}, t('rep.empty.step3'))));
}

export async function reportPage(main, params) {
  const filters = filtersFrom(params);
  const page = Number(params.get('page')) || 1;
  const data = await api('GET', `/accounts${query({ ...filters, page, per_page: 30 })}`);
  const show = (f, p) => { location.hash = `#/accounts${query({ ...f, page: p > 1 ? p : '' })}`; };
  const body = h('tbody', {});
  const refresh = () => reportPage(clear(main), params);
  for (const a of data.accounts) body.append(...row(a, refresh));
  if (!data.total) {
    body.append(h('tr', { class: 'empty-row' }, h('td', { colspan: COLUMNS.length + 2 },
      emptyState(Object.keys(filters).length > 0))));
  }
  main.append(
    h('p', { class: 'crumb' }, t('crumb.accounts')),
    h('div', { class: 'titlebar' }, h('h1', {}, t('report.title')),
      h('div', { class: 'tools' },
        isAdmin() && h('a', { href: '#/accounts/new', class: 'button', id: 'new-account' }, t('common.new')),
        actionsMenu(filters))),
    searchForm(filters, (f) => show(f, 1)),
    h('table', { class: 'report', id: 'report' },
      h('thead', {}, h('tr', {}, [...COLUMNS, 'col.lastCheck', 'common.actions'].map((k) => h('th', {}, t(k))))),
      body),
    pager(data.page, data.per_page, data.total, (p) => show(filters, p)));
  followReport(body, refresh);
}

// Live (live.js): an account shown whose check started or ended, or that
// got mail, has its row re-read (Status, Last check, the inbox count). A
// row in use (its menu open, a test or a fetch showing) is left alone.
function followReport(body, refresh) {
  onLive(body, ['account', 'message'], async (events) => { // a refresh makes a new body
    const all = events.some((e) => e.kind === 'reset' || e.data.more);
    const idsOf = (e) => (e.kind === 'account' ? (e.data.accounts || []).map((a) => a.id) : e.data.accounts || []);
    const ids = new Set(events.flatMap(idsOf).map(String));
    for (const tr of [...body.querySelectorAll('tr[data-id]')]) {
      if (!all && !ids.has(tr.dataset.id)) continue;
      const result = tr.nextElementSibling;
      const busy = tr.querySelector('details.row-menu[open]') || (result && !result.hidden) ||
        tr.querySelector('.fetch-progress:not([hidden])');
      if (busy) continue;
      const a = await api('GET', `/accounts/${tr.dataset.id}`);
      if (!tr.isConnected) continue;
      const [fresh, freshResult] = row(a, refresh);
      result.replaceWith(freshResult);
      tr.replaceWith(fresh);
    }
  });
}

async function allAccounts(filters) {
  const out = [];
  for (let page = 1; ; page++) {
    const d = await api('GET', `/accounts${query({ ...filters, page, per_page: 1000 })}`);
    out.push(...d.accounts);
    if (page >= d.pages) return out;
  }
}

export async function printPage(main, params) {
  const filters = filtersFrom(params);
  const accounts = await allAccounts(filters);
  main.append(h('div', { class: 'print', id: 'print-view' },
    h('div', { class: 'no-print row' },
      h('a', { href: `#/accounts${query(filters)}` }, t('common.back')),
      h('button', { type: 'button', onclick: () => window.print() }, t('report.printNow'))),
    h('h1', {}, t('report.printTitle')),
    h('p', { id: 'print-filters' }, `${t('report.filters')}: ${filtersInWords(filters) || t('report.noFilters')}`),
    h('p', {}, `${t('report.generated')}: ${new Date().toLocaleString(language())}`),
    h('table', { class: 'report' },
      h('thead', {}, h('tr', {}, COLUMNS.map((k) => h('th', {}, t(k))))),
      h('tbody', {}, accounts.map((a) => h('tr', {},
        h('td', {}, a.id), h('td', {}, a.name), h('td', {}, t(a.enabled ? 'rep.state.enabled' : 'rep.state.disabled')),
        h('td', {}, yesNo(a.secure_connection)),
        h('td', {}, a.connection_type), h('td', {}, a.protocol.toUpperCase()), h('td', {}, a.port),
        h('td', {}, yesNo(a.automatic_check)), h('td', {}, yesNo(a.keep_copy))))))));
}
