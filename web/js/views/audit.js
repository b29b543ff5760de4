// The audit log (admins): who changed what, when; filterable, exportable.
import { api, query } from '../api.js';
import { formatTime, h } from '../dom.js';
import { has, t } from '../i18n.js';
import { pager } from './parts.js';
import { emptyState } from './empty.js';

const OBJECTS = ['account', 'credential', 'connector', 'user', 'settings', 'schedule'];

// A change in words: the field's label as its form shows it, and its values
// as the form offers them (Yes/No, the security and action names).
const LABELS = { account: 'field', credential: 'credential', connector: 'connector',
  schedule: 'schedule', settings: 'settings', user: 'user' };

function fieldLabel(object, key) {
  for (const k of [`${LABELS[object] || 'field'}.${key}`, `field.${key}`]) if (has(k)) return t(k);
  return key;
}

const VALUES = { security: 'security', after_fetch: 'after', action_when: 'when', status: 'status' };

function valueText(key, v) {
  if (v === null || v === undefined || v === '') return '—';
  if (['password', 'secret', 'refresh_token'].includes(key) && (v === 'set' || v === 'changed')) {
    return t(v === 'set' ? 'audit.secretSet' : 'audit.secretChanged');
  }
  if (v === 'yes' || v === true) return t('common.yes');
  if (v === 'no' || v === false) return t('common.no');
  if (VALUES[key] && has(`${VALUES[key]}.${v}`)) return t(`${VALUES[key]}.${v}`);
  if (key === 'protocol') return String(v).toUpperCase();
  return String(v);
}

function changesText(object, changes) {
  return Object.entries(changes).map(([field, v]) => (Array.isArray(v)
    ? `${fieldLabel(object, field)}: ${valueText(field, v[0])} → ${valueText(field, v[1])}`
    : `${fieldLabel(object, field)}: ${valueText(field, v)}`)).join('; ');
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
        h('td', { class: 'changes', dataset: { raw: JSON.stringify(e.changes) } },
          changesText(e.object, e.changes)))))),
    data.total ? '' : filters.object || filters.actor
      ? h('p', { class: 'empty', id: 'audit-empty' }, t('empty.audit.filtered'))
      : emptyState('audit-empty', t('empty.audit')),
    pager(page, data.per_page, data.total, (p) => show(filters, p)));
}
