// The audit log (admins): who changed what, when; filterable, exportable.
import { api, query } from '../api.js';
import { formatTime, h } from '../dom.js';
import { t } from '../i18n.js';
import { pager } from './parts.js';
import { emptyState } from './empty.js';

const OBJECTS = ['account', 'credential', 'connector', 'user', 'settings', 'schedule'];

function changesText(changes) {
  return Object.entries(changes).map(([field, v]) => (Array.isArray(v)
    ? `${field}: ${v[0] ?? '—'} → ${v[1] ?? '—'}` : `${field}: ${v}`)).join('; ');
}

export async function auditPage(main, params) {
  const filters = { object: params.get('object') || '', actor: params.get('actor') || '' };
  const page = Number(params.get('page')) || 1;
  const data = await api('GET', `/audit${query({ ...filters, page, per_page: 30 })}`);
  const show = (f, p) => { location.hash = `#/audit${query({ ...f, page: p > 1 ? p : '' })}`; };
  const object = h('select', { id: 'au-object' }, h('option', { value: '' }, t('common.all')),
    OBJECTS.map((o) => h('option', { value: o, selected: o === filters.object }, t(`audit.object.${o}`))));
  const actor = h('input', { id: 'au-actor', type: 'search', value: filters.actor });
  const form = h('form', { class: 'search', id: 'audit-search' },
    h('label', { for: 'au-object' }, t('audit.object')), object,
    h('label', { for: 'au-actor' }, t('audit.actor')), actor,
    h('button', { type: 'submit' }, t('common.search')),
    h('a', { href: `/api/v1/audit${query({ ...filters, format: 'csv' })}`, id: 'audit-csv',
      download: 'audit.csv' }, t('report.csv')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    show({ object: object.value, actor: actor.value.trim() }, 1);
  });
  main.append(h('h1', {}, t('audit.title')), form,
    h('table', { class: 'list', id: 'audit' },
      h('thead', {}, h('tr', {}, ['audit.at', 'audit.actor', 'audit.action', 'audit.object', 'audit.changes']
        .map((k) => h('th', {}, t(k))))),
      h('tbody', {}, data.entries.map((e) => h('tr', { dataset: { id: e.id } },
        h('td', {}, formatTime(e.at)), h('td', {}, e.actor), h('td', {}, t(`audit.action.${e.action}`)),
        h('td', {}, `${t(`audit.object.${e.object}`)} ${e.object_name || ''}`),
        h('td', { class: 'changes' }, changesText(e.changes)))))),
    data.total ? '' : filters.object || filters.actor
      ? h('p', { class: 'empty', id: 'audit-empty' }, t('empty.audit.filtered'))
      : emptyState('audit-empty', t('empty.audit')),
    pager(page, data.per_page, data.total, (p) => show(filters, p)));
}
