// The account form, for new and existing accounts.
import { api } from '../api.js';
import { go, isAdmin } from '../app.js';
import { clear, h, toast } from '../dom.js';
import { t } from '../i18n.js';
import { historyCard, runTest } from './parts.js';

const MECHANISMS = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'NTLM'];
const POP3_ONLY = ['USER', 'APOP'];
const TOKEN_MECHANISMS = ['OAUTHBEARER', 'XOAUTH2']; // an OAuth 2.0 credential's, and only its
const DEFAULTS = { keep_copy: true, automatic_check: true, interval: 300, enabled: true,
  protocol: 'imap', use_connector: false, skip_certificate: false, security: 'tls', auth: 'auto',
  create_folder: false, action_when: 'stored' };
// What happens on the server after fetch; keep and delete are keep copy's two values
const ACTIONS = ['keep', 'seen', 'move', 'delete'];
const IMAP_ONLY_ACTIONS = ['seen', 'move'];

function yesNo(id, value) {
  return h('select', { id, name: id },
    h('option', { value: 'yes', selected: value }, t('common.yes')),
    h('option', { value: 'no', selected: !value }, t('common.no')));
}

function field(id, labelKey, control, extra) {
  return h('div', { class: 'field', dataset: { field: id } },
    h('label', { for: `a-${id}` }, t(labelKey)), control, extra || null,
    h('p', { class: 'field-error', id: `err-${id}`, hidden: true }));
}

function defaultPort(protocol, security) {
  const tls = security === 'tls';
  return protocol === 'pop3' ? (tls ? 995 : 110) : (tls ? 993 : 143);
}

export async function accountForm(main, id) {
  const [account, creds, conns, settings] = await Promise.all([
    id ? api('GET', `/accounts/${id}`) : Promise.resolve({ ...DEFAULTS }),
    api('GET', '/credentials'), api('GET', '/connectors'), api('GET', '/settings')]);
  const a = { ...DEFAULTS, ...account };
  const secure = a.security !== 'none';
  const c = {
    name: h('input', { id: 'a-name', value: a.name || '', required: true }),
    after_fetch: h('select', { id: 'a-after_fetch' }, ACTIONS.map((v) =>
      h('option', { value: v, selected: v === (a.after_fetch || (a.keep_copy ? 'keep' : 'delete')) },
        t(`after.${v}`)))),
    move_folder: h('input', { id: 'a-move_folder', value: a.move_folder || '',
      placeholder: t('form.moveFolderExample') }),
    create_folder: yesNo('a-create_folder', a.create_folder),
    action_when: h('select', { id: 'a-action_when' }, ['stored', 'delivered'].map((v) =>
      h('option', { value: v, selected: v === a.action_when }, t(`when.${v}`)))),
    automatic_check: yesNo('a-automatic_check', a.automatic_check),
    interval: h('input', { id: 'a-interval', type: 'number', min: 30, value: a.interval }),
    enabled: yesNo('a-enabled', a.enabled),
    address: h('input', { id: 'a-address', value: a.address || '', required: true }),
    port: h('input', { id: 'a-port', type: 'number', min: 1, max: 65535,
      value: a.port_is_default === false ? a.port : '' }),
    protocol: h('select', { id: 'a-protocol' }, h('option', { value: 'imap', selected: a.protocol === 'imap' }, 'IMAP'),
      h('option', { value: 'pop3', selected: a.protocol === 'pop3' }, 'POP3')),
    use_connector: yesNo('a-use_connector', a.use_connector),
    connector: h('select', { id: 'a-connector' },
      h('option', { value: '' }, settings.default_connector
        ? t('connector.default', { name: settings.default_connector.name }) : t('connector.noDefault')),
      conns.connectors.map((k) => h('option', { value: k.id, selected: a.connector && a.connector.id === k.id }, k.name))),
    credential: h('select', { id: 'a-credential', required: true },
      h('option', { value: '' }, '—'),
      creds.credentials.map((k) => h('option', { value: k.id, selected: a.credential && a.credential.id === k.id },
        `${k.name} (${k.username})`))),
    skip_certificate: yesNo('a-skip_certificate', a.skip_certificate),
    secure: yesNo('a-secure', secure),
    security: h('select', { id: 'a-security' }, ['tls', 'starttls', 'starttls-optional'].map((s) =>
      h('option', { value: s, selected: a.security === s || (!secure && s === 'tls') }, t(`security.${s}`)))),
    folder: h('input', { id: 'a-folder', value: a.folder && a.folder !== 'INBOX' ? a.folder : '',
      placeholder: t('form.folderDefault') }),
    auth: h('select', { id: 'a-auth' }, h('option', { value: 'auto' }, t('form.auto')),
      [...MECHANISMS, ...POP3_ONLY, ...TOKEN_MECHANISMS].map((m) =>
        h('option', { value: m, selected: a.auth === m }, m))),
    max_message_size: h('input', { id: 'a-max_message_size', type: 'number', min: 1024,
      value: a.max_message_size && a.max_message_size !== 67108864 ? a.max_message_size : '',
      placeholder: '67108864' }),
    ca_file: h('input', { id: 'a-ca_file', value: a.ca_file || '', placeholder: '/etc/ssl/…' }),
    // slow and inexact servers: empty keeps the default (the placeholder)
    step_timeout: h('input', { id: 'a-step_timeout', type: 'number', min: 5, max: 3600,
      value: a.step_timeout && a.step_timeout !== 60 ? a.step_timeout : '', placeholder: '60' }),
    min_speed: h('input', { id: 'a-min_speed', type: 'number', min: 1,
      value: a.min_speed && a.min_speed !== 1024 ? a.min_speed : '', placeholder: '1024' }),
    min_speed_time: h('input', { id: 'a-min_speed_time', type: 'number', min: 5, max: 3600,
      value: a.min_speed_time && a.min_speed_time !== 60 ? a.min_speed_time : '', placeholder: '60' }),
    size_tolerance: h('input', { id: 'a-size_tolerance', type: 'number', min: 0, max: 100,
      value: a.size_tolerance || '', placeholder: '0' }),
  };
  const optionalHelp = h('p', { class: 'help', id: 'security-help' }, t('security.optionalHelp'));
  const afterHelp = h('p', { class: 'help', id: 'after-fetch-help' });

  const sync = () => { // fields that depend on others
    const useConn = c.use_connector.value === 'yes';
    const isSecure = c.secure.value === 'yes';
    const pop3 = c.protocol.value === 'pop3';
    c.connector.disabled = !useConn;
    c.security.disabled = !isSecure;
    c.skip_certificate.disabled = !isSecure;
    optionalHelp.hidden = !(isSecure && c.security.value === 'starttls-optional');
    c.folder.disabled = pop3;
    c.size_tolerance.disabled = !pop3;
    c.interval.disabled = c.automatic_check.value !== 'yes';
    for (const o of c.after_fetch.options) o.hidden = pop3 && IMAP_ONLY_ACTIONS.includes(o.value);
    if (c.after_fetch.selectedOptions[0]?.hidden) c.after_fetch.value = 'keep';
    const move = c.after_fetch.value === 'move';
    for (const k of ['move_folder', 'create_folder']) {
      main.querySelector(`[data-field="${k}"]`).hidden = !move;
    }
    main.querySelector('[data-field="action_when"]').hidden = c.after_fetch.value === 'keep';
    afterHelp.textContent = t(pop3 ? 'after.helpPop3' : `after.help.${c.after_fetch.value}`);
    c.port.placeholder = t('form.portDefault', { port: defaultPort(c.protocol.value, isSecure ? c.security.value : 'none') });
    const kind = (creds.credentials.find((k) => String(k.id) === c.credential.value) || {}).kind;
    for (const o of c.auth.options) { // a token is no password, and a password no token
      const otherKind = kind && o.value !== 'auto' && (kind === 'oauth2') !== TOKEN_MECHANISMS.includes(o.value);
      o.hidden = (!pop3 && POP3_ONLY.includes(o.value)) || otherKind;
    }
    if (c.auth.selectedOptions[0]?.hidden) c.auth.value = 'auto';
  };
  for (const el of [c.use_connector, c.secure, c.security, c.protocol, c.automatic_check, c.credential,
    c.after_fetch]) {
    el.addEventListener('change', sync);
  }

  const values = () => {
    const num = (el) => (el.value === '' ? null : Number(el.value));
    const secureOn = c.secure.value === 'yes';
    const action = c.after_fetch.value;
    return {
      // keep copy and the action agree: every action but delete keeps a copy
      name: c.name.value.trim(), keep_copy: action !== 'delete', after_fetch: action,
      move_folder: action === 'move' ? c.move_folder.value.trim() || null : null,
      create_folder: action === 'move' && c.create_folder.value === 'yes',
      action_when: c.action_when.value,
      automatic_check: c.automatic_check.value === 'yes', interval: num(c.interval) ?? 300,
      enabled: c.enabled.value === 'yes', address: c.address.value.trim(), port: num(c.port),
      protocol: c.protocol.value, use_connector: c.use_connector.value === 'yes',
      connector: c.use_connector.value === 'yes' ? num(c.connector) : null,
      credential: num(c.credential), skip_certificate: secureOn && c.skip_certificate.value === 'yes',
      security: secureOn ? c.security.value : 'none',
      folder: c.protocol.value === 'imap' && c.folder.value.trim() ? c.folder.value.trim() : null,
      auth: c.auth.value, max_message_size: num(c.max_message_size),
      ca_file: c.ca_file.value.trim() || null,
      step_timeout: num(c.step_timeout), min_speed: num(c.min_speed),
      min_speed_time: num(c.min_speed_time),
      size_tolerance: c.protocol.value === 'pop3' ? num(c.size_tolerance) : null,
    };
  };

  const formError = h('p', { class: 'error', id: 'form-error', role: 'alert', hidden: true });
  const showErrors = (e) => {
    for (const el of main.querySelectorAll('.field-error')) el.hidden = true;
    formError.hidden = true;
    let shown = false;
    for (const f of e.fields || []) {
      const el = main.querySelector(`#err-${f.field}`);
      if (el) { el.textContent = f.message; el.hidden = false; shown = true; }
    }
    if (!shown) { formError.textContent = e.message; formError.hidden = false; }
  };

  const testOut = h('div', { id: 'test-result', class: 'test-output' });
  const testButton = h('button', { type: 'button', id: 'test-connection' }, t('form.test'));
  testButton.addEventListener('click', async () => {
    testButton.disabled = true;
    delete testOut.dataset.done;
    await runTest(testOut, '/accounts/test', { ...values(), ...(id ? { id } : {}) }, showErrors);
    testButton.disabled = false;
  });

  const form = h('form', { class: 'account-form card', id: 'account-form', novalidate: true },
    h('h1', {}, id ? t('account.edit', { name: a.name }) : t('account.new')),
    id && h('p', { class: 'help', id: 'after-fetch-now' }, t('after.now', {
      action: t(`after.${a.after_fetch || (a.keep_copy ? 'keep' : 'delete')}`),
      when: t(`when.${a.action_when || 'stored'}`) })),
    field('name', 'field.name', c.name),
    h('div', { class: 'grid' },
      field('protocol', 'field.protocol', c.protocol),
      field('address', 'field.address', c.address),
      field('port', 'field.port', c.port),
      field('credential', 'field.credential', c.credential,
        h('a', { href: '#/credentials/new', class: 'small' }, t('form.addCredential'))),
      field('secure', 'field.secure', c.secure),
      field('security', 'field.security', c.security, optionalHelp),
      field('skip_certificate', 'field.skip_certificate', c.skip_certificate),
      field('use_connector', 'field.use_connector', c.use_connector),
      field('connector', 'field.connector', c.connector,
        h('a', { href: '#/connectors/new', class: 'small' }, t('form.addConnector'))),
      field('folder', 'field.folder', c.folder),
      field('auth', 'field.auth', c.auth),
      field('after_fetch', 'field.after_fetch', c.after_fetch, afterHelp),
      field('move_folder', 'field.move_folder', c.move_folder),
      field('create_folder', 'field.create_folder', c.create_folder),
      field('action_when', 'field.action_when', c.action_when),
      field('automatic_check', 'field.automatic_check', c.automatic_check),
      field('interval', 'field.interval', c.interval),
      field('enabled', 'field.enabled', c.enabled),
      field('max_message_size', 'field.max_message_size', c.max_message_size),
      field('ca_file', 'field.ca_file', c.ca_file)),
    h('details', { class: 'limits', id: 'limits', open: [a.step_timeout !== 60, a.min_speed !== 1024,
      a.min_speed_time !== 60, !!a.size_tolerance].some((x) => id && x) },
    h('summary', {}, t('form.limits')),
    h('p', { class: 'help' }, t('form.limitsHelp')),
    h('div', { class: 'grid' },
      field('step_timeout', 'field.step_timeout', c.step_timeout),
      field('min_speed', 'field.min_speed', c.min_speed),
      field('min_speed_time', 'field.min_speed_time', c.min_speed_time),
      field('size_tolerance', 'field.size_tolerance', c.size_tolerance,
        h('p', { class: 'help' }, t('form.sizeToleranceHelp'))))),
    formError,
    h('div', { class: 'buttons' },
      isAdmin() && h('button', { type: 'submit', id: 'save' }, t('common.save')),
      isAdmin() && testButton,
      h('a', { href: '#/accounts', class: 'button secondary' }, t('common.cancel')),
      id && isAdmin() && h('button', { type: 'button', class: 'danger', id: 'delete',
        onclick: async () => {
          if (!confirm(t('common.confirmDelete', { name: a.name }))) return;
          try { await api('DELETE', `/accounts/${id}`); toast(t('common.deleted'), 'ok'); go('#/accounts'); } catch (e) { showErrors(e); }
        } }, t('common.delete'))),
    !isAdmin() && h('p', { class: 'help' }, t('viewer.readOnly')),
    testOut);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api(id ? 'PATCH' : 'POST', id ? `/accounts/${id}` : '/accounts', values());
      toast(t('common.saved'), 'ok');
      go('#/accounts');
    } catch (e) {
      showErrors(e);
    }
  });
  main.append(form);
  if (id) main.append(historyCard(id));
  sync();
  if (!isAdmin()) for (const el of form.querySelectorAll('input, select')) el.disabled = true;
}
