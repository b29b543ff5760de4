// View inbox: what mailroom fetched, and one message. Message bodies are
// shown as text only: HTML is never rendered here.
import { api, query } from '../api.js';
import { formatBytes, formatTime, h } from '../dom.js';
import { t } from '../i18n.js';
import { pager } from './parts.js';

const FILTERS = ['account', 'from', 'subject', 'since', 'until'];

export async function inboxPage(main, params) {
  const filters = {};
  for (const k of FILTERS) if (params.get(k)) filters[k] = params.get(k);
  const page = Number(params.get('page')) || 1;
  const [data, accounts] = await Promise.all([
    api('GET', `/messages${query({ ...filters, page, per_page: 30 })}`),
    api('GET', '/accounts?per_page=1000')]);
  const show = (f, p) => { location.hash = `#/inbox${query({ ...f, page: p > 1 ? p : '' })}`; };
  const input = (id, type = 'search') => h('input', { id: `i-${id}`, name: id, type, value: filters[id] || '' });
  const account = h('select', { id: 'i-account', name: 'account' },
    h('option', { value: '' }, t('inbox.allAccounts')),
    accounts.accounts.map((a) => h('option', { value: a.id, selected: String(a.id) === filters.account }, a.name)));
  const fields = { from: input('from'), subject: input('subject'), since: input('since', 'date'), until: input('until', 'date') };
  const form = h('form', { class: 'search', id: 'inbox-search' },
    h('label', { for: 'i-account' }, t('inbox.account')), account,
    h('label', { for: 'i-from' }, t('inbox.from')), fields.from,
    h('label', { for: 'i-subject' }, t('inbox.subject')), fields.subject,
    h('label', { for: 'i-since' }, t('inbox.since')), fields.since,
    h('label', { for: 'i-until' }, t('inbox.until')), fields.until,
    h('button', { type: 'submit', id: 'i-submit' }, t('common.search')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    show({ account: account.value, from: fields.from.value.trim(), subject: fields.subject.value.trim(),
      since: fields.since.value, until: fields.until.value }, 1);
  });
  const names = Object.fromEntries(accounts.accounts.map((a) => [a.id, a.name]));
  main.append(h('h1', {}, t('inbox.title')), form,
    h('table', { class: 'inbox', id: 'inbox' },
      h('thead', {}, h('tr', {}, ['inbox.received', 'inbox.account', 'inbox.from', 'inbox.subject',
        'inbox.size', 'inbox.attachments'].map((k) => h('th', {}, t(k))))),
      h('tbody', {}, data.messages.map((m) => h('tr', { dataset: { id: m.id } },
        h('td', {}, formatTime(m.received)), h('td', {}, names[m.account] || m.account),
        h('td', {}, m.from || ''),
        h('td', {}, h('a', { href: `#/messages/${m.id}`, class: 'subject' }, m.subject || '—')),
        h('td', {}, formatBytes(m.size)),
        h('td', {}, m.attachments ? h('span', { class: 'clip', title: t('inbox.hasAttachment'),
          'aria-label': t('inbox.hasAttachment') }, '📎') : ''))))),
    pager(data.page, data.per_page, data.total, (p) => show(filters, p)));
}

export async function messagePage(main, id) {
  const m = await api('GET', `/messages/${id}`);
  const row = (key, value) => value ? h('tr', {}, h('th', {}, t(key)), h('td', {}, value)) : null;
  main.append(h('article', { class: 'message card', id: 'message' },
    h('p', {}, h('a', { href: `#/inbox?account=${m.account}` }, t('common.back'))),
    h('h1', { id: 'message-subject' }, m.subject || '—'),
    h('table', { class: 'headers' },
      row('inbox.from', m.from), row('message.to', m.to), row('message.cc', m.cc),
      row('message.date', formatTime(m.date)), row('inbox.received', formatTime(m.received)),
      row('inbox.size', formatBytes(m.size))),
    m.status === 'parse_failed' ? h('p', { class: 'error' }, t('message.notParsed')) : null,
    h('pre', { class: 'body', id: 'message-text' }, m.text || ''),
    m.attachment_list.length ? h('ul', { class: 'attachments', id: 'attachments' },
      m.attachment_list.map((a) => h('li', {},
        h('a', { href: `/api/v1/messages/${id}/attachments/${a.position}`,
          download: a.filename || `attachment-${a.position}` },
        `${a.filename || `#${a.position}`}`),
        ` (${a.content_type}, ${formatBytes(a.size)})`))) : null,
    h('p', {}, h('a', { href: `/api/v1/messages/${id}/raw`, id: 'download-eml', class: 'button',
      download: `message-${id}.eml` }, t('message.eml')))));
}
