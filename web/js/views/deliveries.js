// Failed deliveries (issue 19): the outbox's deliveries by state (failed
// first), with the reason and the last response, and replay of one or of
// all those the filter shows. Also the Deliveries section of a message.
import { api, query } from '../api.js';
import { go, isAdmin } from '../app.js';
import { formatTime, h, toast } from '../dom.js';
import { t } from '../i18n.js';
import { pager } from './parts.js';
import { emptyState } from './empty.js';

const STATES = ['failed', 'pending', 'delivered', 'skipped'];
const FILTERS = ['state', 'account', 'target', 'message', 'since'];

// A delivery state as a small coloured word.
export function stateBadge(state) {
  return h('span', { class: `delivery-state ${state}`, dataset: { state } }, t(`delivery.state.${state}`));
}

// The last response the target gave: folded, it can be long.
function response(text) {
  return text ? h('details', { class: 'response' }, h('summary', {}, t('deliveries.response')),
    h('pre', {}, text)) : '';
}

// When it ended, or when the next attempt is due.
function when(d) {
  if (d.state === 'pending') {
    return d.next_attempt_at ? t('deliveries.nextAttempt', { at: formatTime(d.next_attempt_at) }) : t('deliveries.queued');
  }
  return formatTime(d.done_at || d.last_attempt_at);
}

// Replays one failed delivery, then shows the page again.
export async function replayOne(d, button) {
  button.disabled = true;
  try {
    await api('POST', `/deliveries/${d.id}/replay`);
    toast(t('deliveries.replayedOne'), 'ok');
  } catch (e) { toast(e.message, 'error'); }
  go(location.hash);
}

function replayButton(d) {
  return d.state === 'failed' && isAdmin() ? h('button', { type: 'button', class: 'replay',
    onclick: (ev) => replayOne(d, ev.target) }, t('deliveries.replay')) : '';
}

export async function deliveriesPage(main, params) {
  const filters = {};
  for (const k of FILTERS) if (params.get(k)) filters[k] = params.get(k);
  const state = STATES.includes(filters.state) ? filters.state : 'failed';
  const page = Number(params.get('page')) || 1;
  const [data, accounts, targets] = await Promise.all([
    api('GET', `/deliveries${query({ ...filters, state, page, per_page: 30 })}`),
    api('GET', '/accounts?per_page=1000'), api('GET', '/targets')]);
  const show = (f, p) => {
    go(`#/deliveries${query({ ...f, state: f.state === 'failed' ? '' : f.state, page: p > 1 ? p : '' })}`);
  };
  const stateSelect = h('select', { id: 'd-state', name: 'state' },
    STATES.map((s) => h('option', { value: s, selected: s === state }, t(`delivery.state.${s}`))));
  const account = h('select', { id: 'd-account', name: 'account' },
    h('option', { value: '' }, t('inbox.allAccounts')),
    accounts.accounts.map((a) => h('option', { value: a.id, selected: String(a.id) === filters.account }, a.name)));
  const target = h('select', { id: 'd-target', name: 'target' },
    h('option', { value: '' }, t('deliveries.allTargets')),
    targets.targets.map((x) => h('option', { value: x.id, selected: String(x.id) === filters.target },
      `${x.name} (${x.account.name})`)));
  const since = h('input', { id: 'd-since', name: 'since', value: filters.since || '',
    placeholder: t('deliveries.sincePlaceholder') });
  const form = h('form', { class: 'search', id: 'deliveries-search', novalidate: true },
    h('label', { for: 'd-state' }, t('deliveries.state')), stateSelect,
    h('label', { for: 'd-account' }, t('inbox.account')), account,
    h('label', { for: 'd-target' }, t('deliveries.target')), target,
    h('label', { for: 'd-since' }, t('deliveries.since')), since,
    h('button', { type: 'submit', id: 'd-submit' }, t('common.search')),
    filters.message ? h('a', { href: '#/deliveries', id: 'd-clear' }, t('common.clear')) : null);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    show({ state: stateSelect.value, account: account.value, target: target.value, message: filters.message,
      since: since.value.trim() }, 1);
  });
  // every failed delivery the filter shows (all its pages), in one request
  const replayAll = async (button) => {
    if (!confirm(t('deliveries.confirmReplayAll', { n: data.total }))) return;
    button.disabled = true;
    const body = {};
    for (const k of ['target', 'account', 'since']) if (filters[k]) body[k] = filters[k];
    if (!Object.keys(body).length) body.all = true;
    try {
      const r = await api('POST', '/deliveries/replay', body);
      toast(r.replayed === 1 ? t('deliveries.replayed1') : t('deliveries.replayed', { n: r.replayed }), 'ok');
    } catch (e) { toast(e.message, 'error'); }
    go(location.hash);
  };
  const title = t(state === 'failed' ? 'deliveries.title' : `deliveries.title.${state}`);
  main.append(h('div', { class: 'titlebar' }, h('h1', {}, title),
    isAdmin() && state === 'failed' && data.total && !filters.message ? h('button', { type: 'button', id: 'replay-all',
      onclick: (ev) => replayAll(ev.target) }, t('deliveries.replayAll', { n: data.total })) : ''),
  form,
  h('p', { class: 'help' }, t('deliveries.help')),
  h('table', { class: 'list', id: 'deliveries' },
    h('thead', {}, h('tr', {}, ['inbox.subject', 'inbox.account', 'deliveries.target', 'deliveries.attempts',
      state === 'pending' ? 'deliveries.next' : `deliveries.when.${state}`, 'deliveries.reason',
      'deliveries.response', 'common.actions'].map((k) => h('th', {}, t(k))))),
    h('tbody', {}, data.deliveries.map((d) => h('tr', { class: `delivery ${d.state}`, dataset: { id: d.id, state: d.state } },
      h('td', { class: 'subject' }, h('a', { href: `#/messages/${d.message.id}` }, d.message.subject || '—'),
        d.message.from ? h('div', { class: 'help' }, d.message.from) : ''),
      h('td', { class: 'account' }, d.account.name || d.account.id),
      h('td', { class: 'target' }, d.target.name || d.target.id,
        d.target.kind ? h('div', { class: 'help' }, t(`target.kind.${d.target.kind}`)) : ''),
      h('td', { class: 'attempts' }, d.attempts),
      h('td', { class: 'when' }, when(d)),
      h('td', { class: 'reason detail' }, d.last_error || ''),
      h('td', { class: 'last-response' }, response(d.last_response)),
      h('td', { class: 'actions' }, replayButton(d)))))),
  data.deliveries.length ? '' : targets.targets.length ? h('p', { class: 'empty', id: 'deliveries-none' }, t(`deliveries.none.${state}`))
    : emptyState('deliveries-none', t('empty.deliveries'), [['#/accounts', t('empty.toAccounts'), 'empty-accounts']]),
  pager(data.page, data.per_page, data.total, (p) => show({ ...filters, state }, p)));
}

// A message's deliveries, one per target, on the message's page.
export function messageDeliveries(m) {
  const list = m.deliveries || [];
  return h('section', { class: 'card', id: 'message-deliveries' }, h('h2', {}, t('deliveries.section')),
    list.length ? h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['deliveries.target', 'deliveries.state', 'deliveries.attempts',
        'deliveries.lastAttempt', 'deliveries.reason', 'deliveries.response', 'common.actions']
        .map((k) => h('th', {}, t(k))))),
      h('tbody', {}, list.map((d) => h('tr', { class: `delivery ${d.state}`, dataset: { id: d.id, state: d.state } },
        h('td', { class: 'target' }, d.target.name || d.target.id,
          d.target.kind ? h('div', { class: 'help' }, t(`target.kind.${d.target.kind}`)) : ''),
        h('td', { class: 'state' }, stateBadge(d.state),
          d.state === 'pending' && d.next_attempt_at ? h('div', { class: 'help' }, when(d)) : ''),
        h('td', { class: 'attempts' }, d.attempts),
        h('td', {}, formatTime(d.last_attempt_at)),
        h('td', { class: 'reason detail' }, d.last_error || ''),
        h('td', { class: 'last-response' }, response(d.last_response)),
        h('td', { class: 'actions' }, replayButton(d))))))
      : h('p', { class: 'empty' }, t('deliveries.noneForMessage')));
}
