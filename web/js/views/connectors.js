// Network connectors (proxies).
import { api } from '../api.js';
import { go, isAdmin } from '../app.js';
import { h, toast } from '../dom.js';
import { t } from '../i18n.js';
import { deleteButton, formErrors, simpleField } from './credentials.js';

export async function connectorsPage(main) {
  const data = await api('GET', '/connectors');
  main.append(h('div', { class: 'titlebar' }, h('h1', {}, t('connectors.title')),
    isAdmin() && h('a', { href: '#/connectors/new', class: 'button', id: 'new-connector' }, t('common.new'))),
  h('table', { class: 'list', id: 'connectors' },
    h('thead', {}, h('tr', {}, ['col.id', 'col.name', 'connector.type', 'connector.address', 'connector.port',
      'connector.credential', 'connector.isDefault', 'common.actions'].map((k) => h('th', {}, t(k))))),
    h('tbody', {}, data.connectors.map((c) => h('tr', { dataset: { id: c.id } },
      h('td', {}, c.id), h('td', {}, c.name), h('td', {}, c.type), h('td', {}, c.address), h('td', {}, c.port),
      h('td', {}, c.credential ? c.credential.name : ''), h('td', {}, t(c.default ? 'common.yes' : 'common.no')),
      h('td', {}, h('a', { href: `#/connectors/${c.id}` }, t('common.edit'))))))));
}

export async function connectorForm(main, id) {
  const [c, creds] = await Promise.all([id ? api('GET', `/connectors/${id}`) : Promise.resolve({ type: 'socks5' }),
    api('GET', '/credentials')]);
  const name = h('input', { id: 'k-name', value: c.name || '', required: true });
  const type = h('select', { id: 'k-type' }, h('option', { value: 'socks5', selected: c.type === 'socks5' }, 'SOCKS5'),
    h('option', { value: 'http', selected: c.type === 'http' }, 'HTTP CONNECT'));
  const address = h('input', { id: 'k-address', value: c.address || '', required: true });
  const port = h('input', { id: 'k-port', type: 'number', min: 1, max: 65535, value: c.port || '' });
  const credential = h('select', { id: 'k-credential' }, h('option', { value: '' }, t('common.none')),
    creds.credentials.map((k) => h('option', { value: k.id, selected: c.credential && c.credential.id === k.id }, k.name)));
  const form = h('form', { class: 'card', id: 'connector-form', novalidate: true },
    h('h1', {}, id ? t('connector.edit', { name: c.name }) : t('connector.new')),
    simpleField('name', 'col.name', name), simpleField('type', 'connector.type', type),
    simpleField('address', 'connector.address', address), simpleField('port', 'connector.port', port),
    simpleField('credential', 'connector.credential', credential),
    h('p', { class: 'error', id: 'form-error', role: 'alert', hidden: true }),
    h('div', { class: 'buttons' }, isAdmin() && h('button', { type: 'submit', id: 'save' }, t('common.save')),
      h('a', { href: '#/connectors', class: 'button secondary' }, t('common.cancel')),
      id && isAdmin() && deleteButton(main, `/connectors/${id}`, c.name, '#/connectors')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { name: name.value.trim(), type: type.value, address: address.value.trim(),
      port: port.value === '' ? null : Number(port.value), credential: credential.value ? Number(credential.value) : null };
    try {
      await api(id ? 'PATCH' : 'POST', id ? `/connectors/${id}` : '/connectors', body);
      toast(t('common.saved'), 'ok');
      go('#/connectors');
    } catch (e) { formErrors(main, e); }
  });
  main.append(form);
}
