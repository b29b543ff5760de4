// The IMAP/POP3 settings report: search, 30 a page, actions; and its print
// view.
import { api, query } from '../api.js';
import { isAdmin } from '../app.js';
import { clear, formatTime, h } from '../dom.js';
import { language, t } from '../i18n.js';
import { tokenStateText } from './oauth.js';
import { fetchNow, pager, runTest, triSelect } from './parts.js';
import { scheduleLink } from './schedules.js';

const FILTERS = ['name', 'secure', 'automatic_check', 'keep_copy', 'status', 'errors'];
const yesNo = (b) => t(b ? 'common.yes' : 'common.no');

function filtersFrom(params) {
  const f = {};
  for (const k of FILTERS) if (params.get(k)) f[k] = params.get(k);
  return f;
}

// Last check: when, and how it went; the error shows on hover.
function lastCheck(a) {
  const c = a.last_check;
  if (!c) return h('td', { class: 'last-check never' }, t('check.never'));
  const failed = c.result === 'error';
  return h('td', { class: `last-check ${failed ? 'failed' : 'ok'}`, title: failed ? c.error : '' },
    `${failed ? '✗' : '✓'} ${formatTime(c.at)}`,
    failed && a.failures > 1 ? ` (${t('check.failures', { n: a.failures })})` : '');
}

function row(a, refresh) {
  const admin = isAdmin();
  const result = h('tr', { class: 'test-result', hidden: true },
    h('td', { colspan: 10 }));
  const test = async (ev) => {
    result.hidden = false;
    ev.target.disabled = true;
    await runTest(result.firstChild, `/accounts/${a.id}/test`);
    ev.target.disabled = false;
  };
  // an account whose OAuth 2.0 sign-in needs a person says so, linking to it
  const check = lastCheck(a);
  const tk = a.credential_token;
  if (tk && tk.state !== 'ok' && a.credential) {
    check.append(h('div', { class: 'token-warning' },
      h('a', { href: `#/credentials/${a.credential.id}` }, tokenStateText(tk))));
  }
  const tr = h('tr', { dataset: { id: a.id } },
    h('td', {}, a.id), h('td', {}, a.name), h('td', {}, yesNo(a.secure_connection)),
    h('td', {}, a.connection_type), h('td', {}, a.protocol.toUpperCase()), h('td', {}, a.port),
    h('td', {}, yesNo(a.automatic_check)), h('td', {}, yesNo(a.keep_copy)),
    check,
    h('td', { class: 'actions' }, h('div', { class: 'row-actions' },
      h('a', { href: `#/accounts/${a.id}`, class: 'edit' }, t('action.edit')),
      h('a', { href: `#/inbox?account=${a.id}`, class: 'inbox' }, t('action.inbox')),
      admin && h('button', { type: 'button', class: 'test', onclick: test }, t('action.test')),
      admin && h('button', { type: 'button', class: 'fetch',
        onclick: (ev) => fetchNow(a, ev.target, refresh) }, t('action.fetch')))));
  return [tr, result];
}

function searchForm(filters, apply) {
  const name = h('input', { id: 'f-name', name: 'name', value: filters.name || '', type: 'search' });
  const status = h('select', { id: 'f-status', name: 'status' },
    h('option', { value: '' }, t('common.all')),
    h('option', { value: 'enabled', selected: filters.status === 'enabled' }, t('status.enabled')),
    h('option', { value: 'disabled', selected: filters.status === 'disabled' }, t('status.disabled')));
  const more = h('div', { class: 'more', hidden: !(filters.secure || filters.automatic_check ||
      filters.keep_copy || filters.status || filters.errors) },
  h('label', { for: 'f-secure' }, t('col.secure')), triSelect('f-secure', filters.secure),
  h('label', { for: 'f-auto' }, t('col.auto')), triSelect('f-auto', filters.automatic_check),
  h('label', { for: 'f-keep' }, t('col.keep')), triSelect('f-keep', filters.keep_copy),
  h('label', { for: 'f-status' }, t('status.label')), status,
  h('label', { for: 'f-errors' }, t('check.withErrors')), triSelect('f-errors', filters.errors));
  const toggle = h('button', { type: 'button', id: 'f-more', class: 'link',
    onclick: () => { more.hidden = !more.hidden; toggle.textContent = t(more.hidden ? 'common.more' : 'common.less'); },
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

export async function reportPage(main, params) {
  const filters = filtersFrom(params);
  const page = Number(params.get('page')) || 1;
  const data = await api('GET', `/accounts${query({ ...filters, page, per_page: 30 })}`);
  const show = (f, p) => { location.hash = `#/accounts${query({ ...f, page: p > 1 ? p : '' })}`; };
  const body = h('tbody', {});
  const refresh = () => reportPage(clear(main), params);
  for (const a of data.accounts) body.append(...row(a, refresh));
  main.append(
    h('p', { class: 'crumb' }, t('crumb.accounts')),
    h('div', { class: 'titlebar' }, h('h1', {}, t('report.title')),
      h('div', { class: 'tools' },
        isAdmin() && h('a', { href: '#/accounts/new', class: 'button', id: 'new-account' }, t('common.new')),
        actionsMenu(filters))),
    searchForm(filters, (f) => show(f, 1)),
    h('table', { class: 'report', id: 'report' },
      h('thead', {}, h('tr', {}, ['col.id', 'col.name', 'col.secure', 'col.type', 'col.protocol',
        'col.port', 'col.auto', 'col.keep', 'col.lastCheck', 'common.actions'].map((k) => h('th', {}, t(k))))),
      body),
    pager(data.page, data.per_page, data.total, (p) => show(filters, p)));
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
  const applied = Object.entries(filters).map(([k, v]) => `${k} = ${v}`).join(', ');
  main.append(h('div', { class: 'print', id: 'print-view' },
    h('div', { class: 'no-print row' },
      h('a', { href: `#/accounts${query(filters)}` }, t('common.back')),
      h('button', { type: 'button', onclick: () => window.print() }, t('report.printNow'))),
    h('h1', {}, t('report.printTitle')),
    h('p', {}, `${t('report.filters')}: ${applied || t('report.noFilters')}`),
    h('p', {}, `${t('report.generated')}: ${new Date().toLocaleString(language())}`),
    h('table', { class: 'report' },
      h('thead', {}, h('tr', {}, ['col.id', 'col.name', 'col.secure', 'col.type', 'col.protocol',
        'col.port', 'col.auto', 'col.keep'].map((k) => h('th', {}, t(k))))),
      h('tbody', {}, accounts.map((a) => h('tr', {},
        h('td', {}, a.id), h('td', {}, a.name), h('td', {}, yesNo(a.secure_connection)),
        h('td', {}, a.connection_type), h('td', {}, a.protocol.toUpperCase()), h('td', {}, a.port),
        h('td', {}, yesNo(a.automatic_check)), h('td', {}, yesNo(a.keep_copy))))))));
}
