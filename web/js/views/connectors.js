// Network connectors (proxies).
import { api } from '../api.js';
import { go, isAdmin } from '../app.js';
import { clear, h, toast } from '../dom.js';
import { t } from '../i18n.js';
import { deleteButton, formErrors, simpleField } from './credentials.js';
import { stepItem } from './parts.js';

// The accounts that go through a connector, each a link to its page.
function usedBy(c) {
  const items = [];
  for (const u of c.used_by || []) {
    if (items.length) items.push(', ');
    items.push(h('a', { href: `#/accounts/${u.id}` }, u.name));
    if (u.through_default) items.push(' ', t('connector.viaDefault'));
  }
  return items;
}

// A connector's kind in words: "SOCKS5 proxy", "HTTP proxy (CONNECT)".
export function connectorTypeName(c) {
  return t(c.type === 'http' && c.tls ? 'connector.type.https' : `connector.type.${c.type}`);
}

// Each connector's row, and under it the row its Test opens.
function connectorRows(c, colspan) {
  const testRow = h('tr', { class: 'test-row', dataset: { for: c.id }, hidden: true }, h('td', { colspan }));
  const test = h('button', { type: 'button', class: 'test', onclick: () => {
    if (!testRow.hidden) { testRow.hidden = true; return; }
    clear(testRow.firstChild).append(testPanel(testRow.firstChild, c.id, `-${c.id}`));
    testRow.hidden = false;
    testRow.querySelector('input').focus();
  } }, t('action.test'));
  return [h('tr', { dataset: { id: c.id } },
    h('td', {}, c.id), h('td', {}, c.name), h('td', { class: 'type', dataset: { type: c.type } }, connectorTypeName(c)),
    h('td', {}, c.address), h('td', {}, c.port),
    h('td', {}, c.credential ? c.credential.name : ''), h('td', {}, t(c.default ? 'common.yes' : 'common.no')),
    h('td', { class: 'used-by' }, usedBy(c)),
    h('td', { class: 'actions' }, h('div', { class: 'row-actions' },
      h('a', { href: `#/connectors/${c.id}` }, t('common.edit')), isAdmin() && test))), testRow];
}

// No connector yet: what one is for, and how to add one.
function emptyState() {
  return h('div', { class: 'card empty', id: 'connectors-none' },
    h('p', {}, h('strong', {}, t('connectors.none'))),
    h('p', {}, t('connectors.what')),
    h('p', {}, t(isAdmin() ? 'connectors.how' : 'connectors.howViewer')));
}

export async function connectorsPage(main) {
  const data = await api('GET', '/connectors');
  const heads = ['col.id', 'col.name', 'connector.type', 'connector.address', 'connector.port',
    'connector.credential', 'connector.isDefault', 'connector.usedBy', 'common.actions'];
  main.append(h('div', { class: 'titlebar' }, h('h1', {}, t('connectors.title')),
    isAdmin() && h('a', { href: '#/connectors/new', class: 'button', id: 'new-connector' }, t('common.new'))),
  data.connectors.length ? h('table', { class: 'list', id: 'connectors' },
    h('thead', {}, h('tr', {}, heads.map((k) => h('th', {}, t(k))))),
    h('tbody', {}, data.connectors.flatMap((c) => connectorRows(c, heads.length)))) : emptyState());
}

export async function connectorForm(main, id) {
  const [c, creds] = await Promise.all([id ? api('GET', `/connectors/${id}`) : Promise.resolve({ type: 'socks5' }),
    api('GET', '/credentials')]);
  const name = h('input', { id: 'k-name', value: c.name || '', required: true });
  const type = h('select', { id: 'k-type' },
    h('option', { value: 'socks5', selected: c.type === 'socks5' }, t('connector.type.socks5')),
    h('option', { value: 'http', selected: c.type === 'http' }, t('connector.type.http')));
  const address = h('input', { id: 'k-address', value: c.address || '', required: true });
  const port = h('input', { id: 'k-port', type: 'number', min: 1, max: 65535, value: c.port || '' });
  const credential = h('select', { id: 'k-credential' }, h('option', { value: '' }, t('common.none')),
    creds.credentials.map((k) => h('option', { value: k.id, selected: c.credential && c.credential.id === k.id }, k.name)));
  const resolve = h('select', { id: 'k-resolve' },
    h('option', { value: 'proxy', selected: c.resolve !== 'local' }, t('connector.resolveProxy')),
    h('option', { value: 'local', selected: c.resolve === 'local' }, t('connector.resolveLocal')));
  const tls = h('input', { id: 'k-tls', type: 'checkbox', checked: !!c.tls });
  const skip = h('input', { id: 'k-skip', type: 'checkbox', checked: !!c.skip_certificate });
  const caFile = h('input', { id: 'k-ca-file', value: c.ca_file || '', placeholder: '/etc/ssl/proxy-ca.pem' });
  const socksOnly = simpleField('resolve', 'connector.resolve', resolve);
  const httpOnly = simpleField('tls', 'connector.tls', tls);
  const tlsOnly = [simpleField('skip_certificate', 'connector.skipCertificate', skip),
    simpleField('ca_file', 'connector.caFile', caFile)];
  const sync = () => {
    socksOnly.hidden = type.value !== 'socks5';
    httpOnly.hidden = type.value !== 'http';
    for (const f of tlsOnly) f.hidden = type.value !== 'http' || !tls.checked;
  };
  type.addEventListener('change', sync);
  tls.addEventListener('change', sync);
  sync();
  const form = h('form', { class: 'card', id: 'connector-form', novalidate: true },
    h('h1', {}, id ? t('connector.edit', { name: c.name }) : t('connector.new')),
    simpleField('name', 'col.name', name), simpleField('type', 'connector.type', type),
    simpleField('address', 'connector.address', address), simpleField('port', 'connector.port', port),
    simpleField('credential', 'connector.credential', credential), socksOnly, httpOnly, ...tlsOnly,
    id && h('div', { class: 'field' }, h('label', {}, t('connector.usedBy')),
      h('p', { id: 'k-used-by' }, usedBy(c).length ? usedBy(c) : t('common.none'))),
    h('p', { class: 'error', id: 'form-error', role: 'alert', hidden: true }),
    h('div', { class: 'buttons' }, isAdmin() && h('button', { type: 'submit', id: 'save' }, t('common.save')),
      h('a', { href: '#/connectors', class: 'button secondary' }, t('common.cancel')),
      id && isAdmin() && deleteButton(main, `/connectors/${id}`, c.name, '#/connectors')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const http = type.value === 'http';
    const body = { name: name.value.trim(), type: type.value, address: address.value.trim(),
      port: port.value === '' ? null : Number(port.value), credential: credential.value ? Number(credential.value) : null,
      resolve: http ? 'proxy' : resolve.value, tls: http && tls.checked,
      skip_certificate: http && tls.checked && skip.checked,
      ca_file: http && tls.checked && caFile.value.trim() ? caFile.value.trim() : null };
    try {
      await api(id ? 'PATCH' : 'POST', id ? `/connectors/${id}` : '/connectors', body);
      toast(t('common.saved'), 'ok');
      go('#/connectors');
    } catch (e) { formErrors(main, e); }
  });
  main.append(form);
  if (id && isAdmin()) main.append(testCard(main, id));
}

// Test connector: the proxy's steps, and optionally a tunnel to a mail
// server. suffix keeps the ids apart when several panels are on a page
// (one per row of the list; none on the connector's own page).
function testPanel(errorsIn, id, suffix = '') {
  const target = h('input', { id: `k-target${suffix}`, placeholder: 'imap.example.org:993' });
  const out = h('div', { id: `connector-test-result${suffix}`, class: 'test-output', 'aria-live': 'polite' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const button = h('button', { type: 'button', id: `test-connector${suffix}`, class: 'run-test' }, t('connector.test'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    error.hidden = true;
    delete out.dataset.done;
    clear(out).append(h('p', { class: 'loading', role: 'status' }, t('form.testing')));
    try {
      const r = await api('POST', `/connectors/${id}/test`, target.value.trim() ? { target: target.value.trim() } : {});
      const failed = r.steps.find((s) => s.result === 'failed');
      clear(out).append(h('p', { class: r.ok ? 'ok' : 'error', role: 'status' },
        r.ok ? t('connector.testOk') : t('connector.testFailed', { step: failed ? failed.step : '?' })),
      h('ol', { class: 'steps' }, r.steps.map(stepItem)));
      out.dataset.done = 'yes';
    } catch (e) {
      clear(out);
      if (suffix) {
        error.textContent = (e.fields || []).map((f) => f.message).join(' ') || e.message;
        error.hidden = false;
      } else formErrors(errorsIn, e);
    }
    button.disabled = false;
  });
  return h('div', { class: 'connector-test' }, simpleField(`target${suffix}`, 'connector.target', target),
    h('p', { class: 'help' }, t('connector.targetHelp')), error, h('div', { class: 'buttons' }, button), out);
}

function testCard(main, id) {
  return h('section', { class: 'card', id: 'connector-test' }, h('h2', {}, t('connector.test')), testPanel(main, id));
}
