// Scheduled reports: the settings report, with the filters it was scheduled
// from, e-mailed or written to a directory on a recurrence.
import { api, query } from '../api.js';
import { go, isAdmin } from '../app.js';
import { clear, formatTime, h, toast } from '../dom.js';
import { language, languages, t } from '../i18n.js';
import { deleteButton, formErrors, simpleField } from './credentials.js';
import { emptyState } from './empty.js';
import { filtersInWords } from './report.js';
import { triSelect } from './parts.js';

const FILTERS = ['name', 'secure', 'automatic_check', 'keep_copy', 'status', 'errors'];
const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

// The filters in words, as the printed report says them.
function filtersText(filters) {
  return filtersInWords(filters || {}) || t('report.noFilters');
}

function when(s) {
  if (s.recurrence === 'hours') return t('schedule.everyHours', { n: s.every_hours });
  if (s.recurrence === 'weekly') return `${t(`day.${WEEKDAYS[s.day]}`)} ${s.at}`;
  if (s.recurrence === 'monthly') return t('schedule.monthlyOn', { day: s.day, at: s.at });
  return t('schedule.dailyAt', { at: s.at });
}

function lastRun(s) {
  if (!s.last_run_at) return h('td', { class: 'last-run never' }, t('check.never'));
  const failed = s.last_result === 'error';
  return h('td', { class: `last-run ${failed ? 'failed' : 'ok'}`, title: failed ? s.last_error : '' },
    `${failed ? '✗' : '✓'} ${formatTime(s.last_run_at)}`,
    failed ? h('div', { class: 'detail' }, s.last_error) : '');
}

export async function schedulesPage(main) {
  const data = await api('GET', '/schedules');
  const refresh = () => schedulesPage(clear(main));
  const runNow = async (s, button) => {
    button.disabled = true;
    try {
      const r = await api('POST', `/schedules/${s.id}/run`);
      toast(r.last_result === 'ok' ? t('schedule.sent') : r.last_error, r.last_result === 'ok' ? 'ok' : 'error');
    } catch (e) { toast(e.message, 'error'); }
    refresh();
  };
  main.append(h('div', { class: 'titlebar' }, h('h1', {}, t('schedules.title')),
    isAdmin() && h('a', { href: '#/schedules/new', class: 'button', id: 'new-schedule' }, t('common.new'))),
  h('table', { class: 'list', id: 'schedules' },
    h('thead', {}, h('tr', {}, ['col.id', 'col.name', 'schedule.when', 'report.filters', 'schedule.deliver',
      'schedule.next', 'schedule.last', 'common.actions'].map((k) => h('th', {}, t(k))))),
    h('tbody', {}, data.schedules.map((s) => h('tr', { dataset: { id: s.id } },
      h('td', {}, s.id), h('td', {}, s.name, s.enabled ? '' : ` (${t('status.disabled')})`),
      h('td', {}, when(s)), h('td', {}, filtersText(s.filters)),
      h('td', {}, [s.recipients, s.directory].filter(Boolean).join('; '), ` (${s.format.toUpperCase()})`),
      h('td', {}, formatTime(s.next_run_at)), lastRun(s),
      h('td', { class: 'actions' }, h('div', { class: 'row-actions' },
        h('a', { href: `#/schedules/${s.id}`, class: 'edit' }, t('common.edit')),
        isAdmin() && h('button', { type: 'button', class: 'run',
          onclick: (ev) => runNow(s, ev.target) }, t('schedule.runNow')))))))),
  data.schedules.length ? '' : emptyState('schedules-none', t('empty.schedules'),
    [['#/accounts', t('empty.toReport'), 'empty-report']]));
}

export async function scheduleForm(main, id, params) {
  const fromReport = {};
  for (const k of FILTERS) if (params && params.get(k)) fromReport[k] = params.get(k);
  const [s, settings] = await Promise.all([id ? api('GET', `/schedules/${id}`)
    : { recurrence: 'weekly', day: 1, at: '08:00', format: 'csv', enabled: true, filters: fromReport },
  api('GET', '/settings')]);
  const name = h('input', { id: 's-name', value: s.name || '' });
  // the report's filters, editable: they start as the report's when scheduled from it
  const f = s.filters || {};
  const filterControls = {
    name: h('input', { id: 'sf-name', type: 'search', value: f.name || '' }),
    secure: triSelect('sf-secure', f.secure), automatic_check: triSelect('sf-auto', f.automatic_check),
    keep_copy: triSelect('sf-keep', f.keep_copy), errors: triSelect('sf-errors', f.errors),
    status: h('select', { id: 'sf-status' }, h('option', { value: '' }, t('common.all')),
      ['enabled', 'disabled'].map((v) => h('option', { value: v, selected: f.status === v }, t(`status.${v}`)))),
  };
  const filterLabels = { name: 'col.name', secure: 'col.secure', automatic_check: 'col.auto',
    keep_copy: 'col.keep', status: 'status.label', errors: 'check.withErrors' };
  const filterBox = h('fieldset', { class: 'filters', id: 's-filters' }, h('legend', {}, t('report.filters')),
    Object.entries(filterControls).map(([k, c]) => h('label', { for: c.id }, t(filterLabels[k]), ' ', c)),
    h('p', { class: 'field-error', id: 'err-filters', hidden: true }));
  const recurrence = h('select', { id: 's-recurrence' }, ['daily', 'weekly', 'monthly', 'hours'].map((r) =>
    h('option', { value: r, selected: s.recurrence === r }, t(`schedule.rec.${r}`))));
  const at = h('input', { id: 's-at', type: 'time', value: s.at || '08:00' });
  const weekday = h('select', { id: 's-weekday' }, WEEKDAYS.map((d, i) =>
    h('option', { value: d, selected: s.recurrence === 'weekly' && s.day === i }, t(`day.${d}`))));
  const monthday = h('input', { id: 's-monthday', type: 'number', min: 1, max: 31,
    value: s.recurrence === 'monthly' ? s.day : 1 });
  const hours = h('input', { id: 's-every_hours', type: 'number', min: 1, max: 720, value: s.every_hours || 24 });
  const format = h('select', { id: 's-format' }, ['csv', 'html'].map((f) =>
    h('option', { value: f, selected: s.format === f }, f.toUpperCase())));
  // what the report is written in: the scheduler's language unless chosen
  const reportLanguage = h('select', { id: 's-language' }, languages.map(([code, label]) =>
    h('option', { value: code, selected: (s.language || language()) === code }, label)));
  const recipients = h('input', { id: 's-recipients', value: s.recipients || '', placeholder: 'ops@example.com, …' });
  const directory = h('input', { id: 's-directory', value: s.directory || '',
    placeholder: settings.report_dir || '' });
  const enabled = h('input', { id: 's-enabled', type: 'checkbox', checked: s.enabled });
  const fields = {
    at: simpleField('at', 'schedule.at', at), weekday: simpleField('day', 'schedule.weekday', weekday),
    monthday: simpleField('day-m', 'schedule.monthday', monthday),
    hours: simpleField('every_hours', 'schedule.everyHoursLabel', hours),
  };
  const shown = () => {
    const r = recurrence.value;
    fields.at.hidden = r === 'hours';
    fields.weekday.hidden = r !== 'weekly';
    fields.monthday.hidden = r !== 'monthly';
    fields.hours.hidden = r !== 'hours';
  };
  recurrence.addEventListener('change', shown);
  shown();
  const form = h('form', { class: 'card', id: 'schedule-form', novalidate: true },
    h('h1', {}, id ? t('schedule.edit', { name: s.name }) : t('schedule.new')),
    filterBox,
    simpleField('name', 'col.name', name), simpleField('recurrence', 'schedule.recurrence', recurrence),
    fields.weekday, fields.monthday, fields.at, fields.hours,
    simpleField('format', 'schedule.format', format),
    simpleField('language', 'schedule.language', reportLanguage),
    simpleField('recipients', 'schedule.recipients', recipients),
    simpleField('directory', 'schedule.directory', directory),
    h('p', { class: 'help' }, t('schedule.deliverHelp')),
    h('p', { class: 'help', id: 's-directory-help' }, t('schedule.directoryHelp', { dir: settings.report_dir || '' })),
    simpleField('enabled', 'status.enabled', enabled),
    h('p', { class: 'error', id: 'form-error', role: 'alert', hidden: true }),
    h('div', { class: 'buttons' }, isAdmin() && h('button', { type: 'submit', id: 'save' }, t('common.save')),
      h('a', { href: '#/schedules', class: 'button secondary' }, t('common.cancel')),
      id && isAdmin() && deleteButton(main, `/schedules/${id}`, s.name, '#/schedules')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = recurrence.value;
    const body = { name: name.value.trim(), recurrence: r, format: format.value, language: reportLanguage.value,
      recipients: recipients.value.trim(), directory: directory.value.trim() || null, enabled: enabled.checked };
    body.filters = {};
    for (const [k, c] of Object.entries(filterControls)) if (c.value.trim()) body.filters[k] = c.value.trim();
    if (r !== 'hours') body.at = at.value;
    if (r === 'weekly') body.day = weekday.value;
    if (r === 'monthly') body.day = monthday.value === '' ? '' : Number(monthday.value);
    if (r === 'hours') body.every_hours = hours.value === '' ? '' : Number(hours.value);
    try {
      await api(id ? 'PATCH' : 'POST', id ? `/schedules/${id}` : '/schedules', body);
      toast(t('common.saved'), 'ok');
      go('#/schedules');
    } catch (e) {
      // the month day shares the "day" field with the weekday
      if (r === 'monthly') for (const f of e.fields || []) if (f.field === 'day') f.field = 'day-m';
      formErrors(main, e);
    }
  });
  if (!isAdmin()) for (const el of form.querySelectorAll('input, select')) el.disabled = true;
  main.append(form);
}

export const scheduleLink = (filters) => `#/schedules/new${query(filters)}`;
