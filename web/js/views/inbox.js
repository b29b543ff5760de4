// View inbox: what mailroom fetched, and one message. Message bodies are
// shown as text only: HTML is never rendered here.
import { api, query } from '../api.js';
import { formatBytes, formatTime, h } from '../dom.js';
import { t } from '../i18n.js';
import { messageDeliveries, stateBadge } from './deliveries.js';
import { pager } from './parts.js';
import { isAdmin } from '../app.js';
import { onLive } from '../live.js';
import { emptyState } from './empty.js';

const FILTERS = ['account', 'from', 'subject', 'since', 'until', 'status'];
const STATUSES = ['stored', 'parse_failed', 'size_mismatch', 'skipped'];

// The processing report's third kind: messages left on the server (too big).
function skippedTable(data, names) {
  return h('table', { class: 'inbox', id: 'skipped' },
    h('thead', {}, h('tr', {}, ['inbox.seen', 'inbox.account', 'inbox.serverId', 'inbox.size', 'inbox.reason']
      .map((k) => h('th', {}, t(k))))),
    h('tbody', {}, data.skipped.map((k) => h('tr', { dataset: { id: k.id } },
      h('td', {}, formatTime(k.seen_at)), h('td', {}, names[k.account] || k.account),
      h('td', {}, k.uid !== null ? `UID ${k.uid}` : `UIDL ${k.uidl}`),
      h('td', {}, formatBytes(k.size)), h('td', {}, t('inbox.status.skipped'))))));
}

export async function inboxPage(main, params) {
  const filters = {};
  for (const k of FILTERS) if (params.get(k)) filters[k] = params.get(k);
  const page = Number(params.get('page')) || 1;
  const skippedView = filters.status === 'skipped';
  const [data, accounts] = await Promise.all([
    skippedView ? api('GET', `/skipped${query({ account: filters.account, page, per_page: 30 })}`)
      : api('GET', `/messages${query({ ...filters, page, per_page: 30 })}`),
    api('GET', '/accounts?per_page=1000')]);
  const show = (f, p) => { location.hash = `#/inbox${query({ ...f, page: p > 1 ? p : '' })}`; };
  const input = (id, type = 'search') => h('input', { id: `i-${id}`, name: id, type, value: filters[id] || '' });
  const account = h('select', { id: 'i-account', name: 'account' },
    h('option', { value: '' }, t('inbox.allAccounts')),
    accounts.accounts.map((a) => h('option', { value: a.id, selected: String(a.id) === filters.account }, a.name)));
  const fields = { from: input('from'), subject: input('subject'), since: input('since', 'date'), until: input('until', 'date') };
  const status = h('select', { id: 'i-status', name: 'status' }, h('option', { value: '' }, t('common.all')),
    STATUSES.map((v) => h('option', { value: v, selected: filters.status === v }, t(`inbox.status.${v}`))));
  const form = h('form', { class: 'search', id: 'inbox-search' },
    h('label', { for: 'i-account' }, t('inbox.account')), account,
    h('label', { for: 'i-from' }, t('inbox.from')), fields.from,
    h('label', { for: 'i-subject' }, t('inbox.subject')), fields.subject,
    h('label', { for: 'i-since' }, t('inbox.since')), fields.since,
    h('label', { for: 'i-until' }, t('inbox.until')), fields.until,
    h('label', { for: 'i-status' }, t('inbox.status')), status,
    h('button', { type: 'submit', id: 'i-submit' }, t('common.search')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    show({ account: account.value, from: fields.from.value.trim(), subject: fields.subject.value.trim(),
      since: fields.since.value, until: fields.until.value, status: status.value }, 1);
  });
  const names = Object.fromEntries(accounts.accounts.map((a) => [a.id, a.name]));
  if (skippedView) {
    main.append(h('h1', {}, t('inbox.title')), form, h('p', { class: 'help' }, t('inbox.skippedHelp')),
      skippedTable(data, names), pager(data.page, data.per_page, data.total, (p) => show(filters, p)));
    return;
  }
  const body = h('tbody', {}, data.messages.map((m) => inboxRow(m, names)));
  const shown = { empty: data.total ? h('span') : inboxEmpty(filters, accounts.accounts),
    pager: pager(data.page, data.per_page, data.total, (p) => show(filters, p)) };
  const notice = h('p', { class: 'live-notice', id: 'inbox-new', role: 'status', hidden: true },
    h('a', { href: `#/inbox${query(filters)}` }, t('inbox.newMail')));
  main.append(h('h1', {}, t('inbox.title')), form, notice,
    h('table', { class: 'inbox', id: 'inbox' },
      h('thead', {}, h('tr', {}, ['inbox.received', 'inbox.account', 'inbox.from', 'inbox.subject',
        'inbox.size', 'inbox.attachments', 'inbox.status', 'inbox.delivery'].map((k) => h('th', {}, t(k))))),
      body),
    shown.empty, shown.pager);
  followInbox(main, { filters, page, body, shown, notice, names, accounts: accounts.accounts, show });
}

function inboxRow(m, names) {
  return h('tr', { dataset: { id: m.id } },
    h('td', {}, formatTime(m.received)), h('td', {}, names[m.account] || m.account),
    h('td', {}, m.from || ''),
    h('td', {}, h('a', { href: `#/messages/${m.id}`, class: 'subject' }, m.subject || '—'), classBadge(m)),
    h('td', {}, formatBytes(m.size)),
    h('td', {}, m.attachments ? h('span', { class: 'clip', title: t('inbox.hasAttachment'),
      'aria-label': t('inbox.hasAttachment') }, '📎') : ''),
    h('td', { class: `status ${m.status}` }, t(`inbox.status.${m.status}`),
      m.size_mismatch ? h('span', { class: 'size-mismatch', title: t('message.sizeMismatch',
        { size: formatBytes(m.size), listed: formatBytes(m.listed_size) }) },
      ` · ${t('inbox.status.size_mismatch')}`) : null),
    h('td', { class: 'delivery' }, m.delivery ? stateBadge(m.delivery) : ''));
}

// Live (live.js): new mail on the first page is listed as it is stored,
// re-read with the same filters; on a later page the rows stay put (the
// reader is not moved) and a notice links to the newest. A message whose
// delivery changed gets its row's delivery cell re-read.
function followInbox(main, v) {
  const ours = (e) => e.kind === 'reset' ||
    (e.kind === 'message' && (!v.filters.account || (e.data.accounts || []).includes(Number(v.filters.account))));
  onLive(main, ['message', 'message_status'], async (events) => {
    if (events.some(ours)) {
      if (v.page !== 1) {
        v.notice.hidden = false;
        return;
      }
      const data = await api('GET', `/messages${query({ ...v.filters, page: 1, per_page: 30 })}`);
      const before = new Set([...v.body.rows].map((r) => r.dataset.id));
      v.body.replaceChildren(...data.messages.map((m) => {
        const tr = inboxRow(m, v.names);
        if (before.size && !before.has(String(m.id))) tr.classList.add('new');
        return tr;
      }));
      const empty = data.total ? h('span') : inboxEmpty(v.filters, v.accounts);
      const pages = pager(data.page, data.per_page, data.total, (p) => v.show(v.filters, p));
      v.shown.empty.replaceWith(empty);
      v.shown.pager.replaceWith(pages);
      v.shown = { empty, pager: pages };
      return;
    }
    const all = events.some((e) => e.data.more);
    const ids = new Set(events.flatMap((e) => e.data.ids || []).map(String));
    for (const tr of [...v.body.rows].filter((r) => all || ids.has(r.dataset.id))) {
      const m = await api('GET', `/messages/${tr.dataset.id}`);
      tr.querySelector('td.delivery').replaceChildren(m.delivery ? stateBadge(m.delivery) : '');
    }
  });
}

// An empty inbox says how mail gets here; an empty search, only that.
function inboxEmpty(filters, accounts) {
  if (Object.keys(filters).length) return h('p', { class: 'empty', id: 'inbox-empty' }, t('empty.inbox.filtered'));
  return emptyState('inbox-empty', t('empty.inbox'), [
    isAdmin() && !accounts.length && ['#/accounts/new', t('empty.addAccount'), 'empty-add-account'],
    accounts.length && ['#/accounts', t('empty.toAccounts'), 'empty-accounts']]);
}

// An auto-reply or a delivery report says so; ordinary mail says nothing.
function classBadge(m) {
  return m.class && m.class !== 'ordinary'
    ? h('span', { class: `badge class-${m.class}`, dataset: { class: m.class } }, t(`message.class.${m.class}`)) : null;
}

// How deep an attachment sits in forwarded messages (0: the message's own).
function depthOf(a, list) {
  let depth = 0;
  for (let p = a.parent; p && depth < 10; depth++) p = (list.find((x) => x.position === p) || {}).parent;
  return depth;
}

// One message; live, its processing (deliveries) is re-read when it changes.
export async function messagePage(main, id) {
  await messageContent(main, id);
  onLive(main, ['message_status'], async (events) => {
    if (!events.some((e) => e.kind === 'reset' || e.data.more || (e.data.ids || []).includes(id))) return;
    const fresh = h('div');
    await messageContent(fresh, id);
    main.replaceChildren(...fresh.childNodes);
  });
}

async function messageContent(main, id) {
  const m = await api('GET', `/messages/${id}`);
  const row = (key, value) => value ? h('tr', {}, h('th', {}, t(key)), h('td', {}, value)) : null;
  main.append(h('article', { class: 'message card', id: 'message' },
    h('p', {}, h('a', { href: `#/inbox?account=${m.account}` }, t('common.back'))),
    h('h1', { id: 'message-subject' }, m.subject || '—'),
    h('table', { class: 'headers' },
      row('inbox.from', m.from), row('message.to', m.to), row('message.cc', m.cc),
      row('message.date', formatTime(m.date)), row('inbox.received', formatTime(m.received)),
      row('inbox.size', formatBytes(m.size)),
      row('message.class', m.class && m.class !== 'ordinary' ? t(`message.class.${m.class}`) : null)),
    m.status === 'parse_failed' ? h('p', { class: 'error' }, t('message.notParsed')) : null,
    m.size_mismatch ? h('p', { class: 'error', id: 'size-mismatch' }, t('message.sizeMismatch',
      { size: formatBytes(m.size), listed: formatBytes(m.listed_size) })) : null,
    h('pre', { class: 'body', id: 'message-text' }, m.text || ''),
    m.attachment_list.length ? h('ul', { class: 'attachments', id: 'attachments' },
      m.attachment_list.map((a) => h('li', { class: a.parent ? 'nested' : null,
        style: `--depth: ${depthOf(a, m.attachment_list)}`, 'data-parent': a.parent || null },
        h('a', { href: `/api/v1/messages/${id}/attachments/${a.position}`,
          download: a.filename || `attachment-${a.position}` },
        `${a.filename || `#${a.position}`}`),
        ` (${a.content_type}, ${formatBytes(a.size)})`))) : null,
    h('p', {}, h('a', { href: `/api/v1/messages/${id}/raw`, id: 'download-eml', class: 'button',
      download: `message-${id}.eml` }, t('message.eml')))),
  messageDeliveries(m));
}
