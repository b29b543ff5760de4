// The dashboard, the console's landing page: how the accounts are doing
// (each count a link to the report showing them), the failing ones with
// their reasons, the ones whose OAuth 2.0 sign-in must be renewed, and
// charts of the last 24 hours and 7 days. With no account yet, the first
// steps instead, each ticked once done.
import { api, query } from '../api.js';
import { isAdmin } from '../app.js';
import { formatTime, h } from '../dom.js';
import { language, t } from '../i18n.js';
import { onLive } from '../live.js';
import { barChart, number } from './chart.js';

// Epoch seconds as the console's language writes them.
function when(epoch) {
  return epoch ? formatTime(epoch * 1000) : t('dash.never');
}

function hourLabel(epoch) {
  return new Date(epoch * 1000).toLocaleTimeString(language(), { hour: '2-digit', minute: '2-digit' });
}

function hourTick(epoch) {
  return new Date(epoch * 1000).toLocaleTimeString(language(), { hour: 'numeric' });
}

function dayLabel(epoch) {
  return new Date(epoch * 1000).toLocaleDateString(language(), { weekday: 'short', day: 'numeric' });
}

function dayLong(epoch) {
  return new Date(epoch * 1000).toLocaleDateString(language(), { weekday: 'long', day: 'numeric', month: 'long' });
}

function hourLong(b, step) {
  const end = hourLabel(b.start + step);
  return `${new Date(b.start * 1000).toLocaleDateString(language(), { day: 'numeric', month: 'short' })} ${hourLabel(b.start)}–${end}`;
}

// The first steps: what exists says what is done.
function firstSteps(d) {
  const s = d.setup;
  const admin = isAdmin();
  const steps = [
    ['credential', s.credentials > 0, admin ? '#/credentials/new' : '#/credentials'],
    ['account', s.accounts > 0, admin ? '#/accounts/new' : '#/accounts'],
    ['test', s.checked_ok, '#/accounts'],
    ['mail', s.messages > 0, '#/inbox'],
  ];
  return h('section', { class: 'card first-steps', id: 'first-steps' },
    h('h2', {}, t('dash.start.title')),
    h('p', {}, t(s.accounts ? 'dash.start.introSome' : 'dash.start.intro')),
    admin ? null : h('p', { class: 'help' }, t('dash.start.viewer')),
    h('ol', { class: 'steps' }, steps.map(([key, done, href]) =>
      h('li', { class: done ? 'done' : 'todo', id: `step-${key}`, dataset: { done: done ? 'yes' : 'no' } },
        h('span', { class: 'mark', 'aria-hidden': 'true' }, done ? '✓' : ''),
        h('span', { class: 'visually-hidden' }, t(done ? 'dash.start.done' : 'dash.start.todo')),
        h('div', {}, h('a', { href }, t(`dash.step.${key}`)),
          h('p', { class: 'help' }, t(`dash.step.${key}.help`)))))));
}

function counts(d) {
  const a = d.accounts;
  const card = (key, n, href, extra) => h('a', { class: `count ${key}`, href, id: `count-${key}` },
    h('span', { class: 'n' }, number(n)), h('span', { class: 'label' }, t(`dash.count.${key}`)), extra || null);
  return h('section', { class: 'counts', 'aria-label': t('dash.counts') },
    card('ok', a.ok, `#/accounts${query({ status: 'enabled', errors: 'no' })}`,
      a.never_checked ? h('span', { class: 'note' }, t('dash.neverChecked', { n: number(a.never_checked) })) : null),
    card('failing', a.failing, `#/accounts${query({ status: 'enabled', errors: 'yes' })}`),
    card('disabled', a.disabled, `#/accounts${query({ status: 'disabled' })}`),
    // the report has no filter for it
    card('consent', a.needs_consent, '#/accounts'));
}

function failingTable(d) {
  if (!d.failing.length)
    return h('section', { class: 'card', id: 'failing' }, h('h2', {}, t('dash.failing.title')),
      h('p', { class: 'empty' }, t('dash.failing.none')));
  const more = d.failing_total - d.failing.length;
  return h('section', { class: 'card', id: 'failing' }, h('h2', {}, t('dash.failing.title')),
    h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['dash.col.account', 'dash.col.reason', 'dash.col.failures', 'dash.col.lastCheck',
        'dash.col.lastSuccess'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, d.failing.map((f) => h('tr', { dataset: { id: f.id } },
        h('td', {}, h('a', { href: `#/accounts/${f.id}` }, f.name)),
        h('td', { class: 'reason detail' }, f.error || '—'),
        h('td', { class: 'num' }, number(f.failures)),
        h('td', {}, when(f.last_check_at)),
        h('td', { class: 'last-success' }, when(f.last_success_at)))))),
    more > 0 ? h('p', {}, h('a', { href: `#/accounts${query({ status: 'enabled', errors: 'yes' })}` },
      t('dash.failing.more', { n: number(more) }))) : null);
}

function consentList(d) {
  if (!d.needs_consent.length) return null;
  return h('section', { class: 'card', id: 'consent' }, h('h2', {}, t('dash.consent.title')),
    h('ul', {}, d.needs_consent.map((c) => h('li', { dataset: { id: c.id } },
      h('a', { href: `#/accounts/${c.id}` }, c.name), ' — ',
      h('a', { href: `#/credentials/${c.credential.id}` }, t('dash.consent.signIn', { name: c.credential.name }))))));
}

function charts(d) {
  const hours = d.hourly.buckets;
  const days = d.daily.buckets;
  const hourBars = (field) => hours.map((b) => ({ label: hourTick(b.start), long: hourLong(b, d.hourly.step), value: b[field] }));
  const dayBars = (field) => days.map((b) => ({ label: dayLabel(b.start), long: dayLong(b.start), value: b[field] }));
  const out = [
    h('section', { class: 'card charts', id: 'charts-day' }, h('h2', {}, t('dash.day.title')),
      h('div', { class: 'chart-row' },
        barChart({ id: 'chart-fetched-hour', title: t('dash.chart.fetchedHour'), xLabel: t('dash.axis.hour'),
          yLabel: t('dash.axis.messages'), bars: hourBars('fetched') }),
        barChart({ id: 'chart-failures-hour', title: t('dash.chart.failuresHour'), xLabel: t('dash.axis.hour'),
          yLabel: t('dash.axis.failures'), bars: hourBars('failures'), kind: 'failures' }))),
    h('section', { class: 'card charts', id: 'charts-week' }, h('h2', {}, t('dash.week.title')),
      h('div', { class: 'chart-row' },
        barChart({ id: 'chart-fetched-day', title: t('dash.chart.fetchedDay'), xLabel: t('dash.axis.day'),
          yLabel: t('dash.axis.messages'), bars: dayBars('fetched') }),
        barChart({ id: 'chart-failures-day', title: t('dash.chart.failuresDay'), xLabel: t('dash.axis.day'),
          yLabel: t('dash.axis.failures'), bars: dayBars('failures'), kind: 'failures' }))),
  ];
  if (d.outbox.targets)
    out.push(h('section', { class: 'card charts', id: 'outbox' }, h('h2', {}, t('dash.outbox.title')),
      h('p', {},
        h('a', { href: '#/deliveries?state=pending', id: 'outbox-pending' }, t('dash.outbox.pending', { n: number(d.outbox.pending) })),
        ' · ',
        h('a', { href: '#/deliveries', id: 'outbox-failed' }, t('dash.outbox.failed', { n: number(d.outbox.failed) }))),
      h('div', { class: 'chart-row' },
        barChart({ id: 'chart-backlog-hour', title: t('dash.chart.backlogHour'), xLabel: t('dash.axis.hour'),
          yLabel: t('dash.axis.pending'), bars: hourBars('backlog'), kind: 'backlog' }),
        barChart({ id: 'chart-backlog-day', title: t('dash.chart.backlogDay'), xLabel: t('dash.axis.day'),
          yLabel: t('dash.axis.pending'), bars: dayBars('backlog'), kind: 'backlog' }))));
  return out;
}

// Live (live.js): the counts, lists and charts are re-read as checks end
// and mail arrives, at most every 2 s, and replace the page in place.
export async function dashboardPage(main) {
  await dashboardContent(main);
  onLive(main, ['dashboard'], async () => {
    const fresh = h('div');
    await dashboardContent(fresh);
    main.replaceChildren(...fresh.childNodes);
  }, { every: 2000 });
}

async function dashboardContent(main) {
  // days and hours begin where the reader's do
  const d = await api('GET', `/dashboard${query({ utc_offset: -new Date().getTimezoneOffset() })}`);
  main.append(h('h1', { id: 'dashboard' }, t('dash.title')));
  if (!d.accounts.total) {
    main.append(firstSteps(d));
    return;
  }
  if (!d.setup.done) main.append(firstSteps(d));
  main.append(counts(d), failingTable(d), consentList(d) || '', ...charts(d),
    h('p', { class: 'help' }, t('dash.updated', { at: when(d.now) })));
}
