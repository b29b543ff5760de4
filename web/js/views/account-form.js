// The account form, for new and existing accounts: the product documents'
// "IMAP Configuration / POP3" window, their fields in their order (the
// server's in a "Server configuration" section), then the mailbox folder
// and the mechanism, and the rest folded under Advanced.
import { api } from '../api.js';
import { go, isAdmin } from '../app.js';
import { clear, h, toast } from '../dom.js';
import { t } from '../i18n.js';
import { credentialDialogForm } from './credentials.js';
import { credentialHint, prefillFromQuery } from './discover.js';
import { historyCard, runTest } from './parts.js';

const MECHANISMS = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'NTLM'];
const POP3_ONLY = ['USER', 'APOP'];
const TOKEN_MECHANISMS = ['OAUTHBEARER', 'XOAUTH2']; // an OAuth 2.0 credential's, and only its
const DEFAULTS = { keep_copy: true, automatic_check: true, interval: 300, enabled: true,
  protocol: 'imap', use_connector: false, skip_certificate: false, security: 'tls', auth: 'auto',
  create_folder: false, action_when: 'stored', push: true };
// What happens on the server after fetch: delete is Keep a copy = No, the
// others are ways of keeping one
const KEEPING = ['keep', 'seen', 'move'];
const IMAP_ONLY_ACTIONS = ['seen', 'move'];
// The server's limits (src/core/account.h, core/names.h), checked here as one types
const RANGES = { port: [1, 65535], interval: [30, 604800], max_message_size: [1024, 2 ** 30],
  step_timeout: [5, 3600], min_speed: [1, 2 ** 30], min_speed_time: [5, 3600], size_tolerance: [0, 100] };
const NAME_MAX = 100;
const HOST_MAX = 253;
const ADVANCED_KEY = 'mailroom.accountAdvanced'; // Advanced stays open for whoever opened it

// A group of radio buttons that reads and writes like a select: .value,
// .disabled, and change events from its buttons.
function radios(id, options, value) {
  const inputs = options.map(([v]) => h('input', { type: 'radio', name: `a-${id}`, id: `a-${id}-${v}`, value: v,
    checked: v === value }));
  const group = h('div', { class: 'radios', id: `a-${id}`, role: 'radiogroup' },
    options.map(([, label], i) => h('label', { class: 'radio', for: inputs[i].id }, inputs[i], label)));
  Object.defineProperty(group, 'value', {
    get: () => (inputs.find((i) => i.checked) || {}).value || '',
    set: (v) => { for (const i of inputs) i.checked = i.value === v; },
  });
  Object.defineProperty(group, 'disabled', {
    get: () => inputs[0].disabled,
    set: (d) => { for (const i of inputs) i.disabled = d; },
  });
  return group;
}

const yesNo = (id, value) => radios(id, [['yes', t('common.yes')], ['no', t('common.no')]], value ? 'yes' : 'no');

// One field: its label (a legend for radio buttons), a mark when required,
// the control, help, and the place for its error.
function field(id, labelKey, control, { required = false, extra = [] } = {}) {
  const mark = required && h('span', { class: 'required', title: t('af.required') }, ' *');
  const err = h('p', { class: 'field-error', id: `err-${id}`, hidden: true, 'aria-live': 'polite' });
  if (control.getAttribute('role') === 'radiogroup') {
    return h('fieldset', { class: 'field radio-field', dataset: { field: id } },
      h('legend', {}, t(labelKey), mark), control, ...extra, err);
  }
  if (required) control.setAttribute('aria-required', 'true');
  control.setAttribute('aria-describedby', `err-${id}`);
  return h('div', { class: 'field', dataset: { field: id } },
    h('label', { for: control.id }, t(labelKey), mark), control, ...extra, err);
}

function defaultPort(protocol, security) {
  const tls = security === 'tls';
  return protocol === 'pop3' ? (tls ? 995 : 110) : (tls ? 993 : 143);
}

// What the server would say of a host name, in the console's language.
function hostProblem(host) {
  if (!host) return t('af.v.required');
  const bad = t('af.v.host', { host });
  if (host.includes(':')) return /^[0-9a-fA-F:.]+$/.test(host) && host.split('::').length <= 2 ? '' : bad;
  if (/^[0-9.]+$/.test(host)) {
    const parts = host.split('.');
    return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255) ? '' : bad;
  }
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  const labelOk = (l) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l);
  return name && name.length <= HOST_MAX && name.split('.').every(labelOk) ? '' : bad;
}

function specialUse(use) {
  const word = (use || '').replace(/^\\/, '');
  return word ? t(`af.use.${word}`) === `af.use.${word}` ? word : t(`af.use.${word}`) : '';
}

export async function accountForm(main, id, q) {
  const [account, creds, conns, settings, targets] = await Promise.all([
    id ? api('GET', `/accounts/${id}`) : Promise.resolve({ ...DEFAULTS }),
    api('GET', '/credentials'), api('GET', '/connectors'), api('GET', '/settings'),
    id ? api('GET', `/accounts/${id}/targets`) : Promise.resolve({ targets: [] })]);
  // a new account proposed by Set up from an e-mail address (views/discover.js)
  const proposed = !id && q && q.get('from') === 'discover' ? prefillFromQuery(q) : {};
  const a = { ...DEFAULTS, ...account };
  for (const k of ['protocol', 'address', 'security']) if (proposed[k]) a[k] = proposed[k];
  if (proposed.port) Object.assign(a, { port: proposed.port, port_is_default: false });
  const secure = a.security !== 'none';
  const action = a.after_fetch || (a.keep_copy ? 'keep' : 'delete');
  let keptAction = KEEPING.includes(action) ? action : 'keep'; // the choice while a copy is kept
  let chosenAuth = a.auth || 'auto';
  const c = {
    name: h('input', { id: 'a-name', value: a.name || '', required: true, maxlength: 400 }),
    keep_copy: yesNo('keep_copy', action !== 'delete'),
    automatic_check: yesNo('automatic_check', a.automatic_check),
    enabled: yesNo('enabled', a.enabled),
    address: h('input', { id: 'a-address', value: a.address || '', required: true, autocomplete: 'off' }),
    port: h('input', { id: 'a-port', type: 'number', min: 1, max: 65535,
      value: a.port_is_default === false ? a.port : '' }),
    protocol: h('select', { id: 'a-protocol', required: true },
      h('option', { value: 'imap', selected: a.protocol === 'imap' }, 'IMAP'),
      h('option', { value: 'pop3', selected: a.protocol === 'pop3' }, 'POP3')),
    use_connector: yesNo('use_connector', a.use_connector),
    connector: h('select', { id: 'a-connector' },
      h('option', { value: '' }, settings.default_connector
        ? t('connector.default', { name: settings.default_connector.name }) : t('connector.noDefault')),
      conns.connectors.map((k) => h('option', { value: k.id, selected: a.connector && a.connector.id === k.id }, k.name))),
    credential: h('select', { id: 'a-credential', required: true },
      h('option', { value: '' }, '—'),
      creds.credentials.map((k) => h('option', { value: k.id, selected: a.credential && a.credential.id === k.id },
        `${k.name} (${k.username})`))),
    skip_certificate: yesNo('skip_certificate', a.skip_certificate),
    secure: yesNo('secure', secure),
    security: radios('security', ['tls', 'starttls', 'starttls-optional'].map((s) => [s, t(`security.${s}`)]),
      secure ? a.security : 'tls'),
    folder: h('input', { id: 'a-folder', value: a.folder && a.folder !== 'INBOX' ? a.folder : '',
      placeholder: t('form.folderDefault'), list: 'a-folder-list', autocomplete: 'off' }),
    auth: h('select', { id: 'a-auth' }, h('option', { value: 'auto' }, t('form.auto')),
      [...MECHANISMS, ...POP3_ONLY, ...TOKEN_MECHANISMS].map((m) =>
        h('option', { value: m, selected: a.auth === m }, m))),
    push: yesNo('push', a.push !== false),
    interval: h('input', { id: 'a-interval', type: 'number', min: 30, max: 604800, value: a.interval }),
    max_message_size: h('input', { id: 'a-max_message_size', type: 'number', min: 1024,
      value: a.max_message_size && a.max_message_size !== 67108864 ? a.max_message_size : '',
      placeholder: '67108864' }),
    ca_file: h('input', { id: 'a-ca_file', value: a.ca_file || '', placeholder: '/etc/ssl/…' }),
    after_fetch: h('select', { id: 'a-after_fetch' }, [...KEEPING, 'delete'].map((v) =>
      h('option', { value: v, selected: v === action }, t(`after.${v}`)))),
    move_folder: h('input', { id: 'a-move_folder', value: a.move_folder || '',
      placeholder: t('form.moveFolderExample'), list: 'a-folder-list', autocomplete: 'off' }),
    create_folder: yesNo('create_folder', a.create_folder),
    action_when: h('select', { id: 'a-action_when' }, ['stored', 'delivered'].map((v) =>
      h('option', { value: v, selected: v === a.action_when }, t(`when.${v}`)))),
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
  const note = (key) => h('p', { class: 'help note', id: `note-${key}`, hidden: true }, t(`af.note.${key}`));
  const notes = { connector: note('connector'), security: note('security'), folder: note('folder'),
    size_tolerance: note('size_tolerance'), after_fetch: note('after_fetch') };
  const optionalHelp = h('p', { class: 'help', id: 'security-help' }, t('security.optionalHelp'));
  const afterHelp = h('p', { class: 'help', id: 'after-fetch-help' });
  const folderList = h('datalist', { id: 'a-folder-list' });
  const folderHelp = h('p', { class: 'help', id: 'folder-help' }, t('af.folders.hint'));

  const pop3 = () => c.protocol.value === 'pop3';
  // the action the account gets: a POP3 server can only keep or delete
  const currentAction = () => {
    if (c.keep_copy.value !== 'yes') return 'delete';
    return pop3() && IMAP_ONLY_ACTIONS.includes(keptAction) ? 'keep' : keptAction;
  };
  const wrap = (k) => main.querySelector(`[data-field="${k}"]`);

  // Fields that depend on others are disabled, never changed: what the
  // admin chose stays shown, and a note says when it is not used.
  const sync = () => {
    const useConn = c.use_connector.value === 'yes';
    const isSecure = c.secure.value === 'yes';
    const keep = c.keep_copy.value === 'yes';
    c.connector.disabled = !useConn;
    notes.connector.hidden = useConn || !c.connector.value;
    c.security.disabled = !isSecure;
    notes.security.hidden = isSecure;
    optionalHelp.hidden = !(isSecure && c.security.value === 'starttls-optional');
    c.folder.disabled = pop3();
    notes.folder.hidden = !(pop3() && c.folder.value.trim());
    c.size_tolerance.disabled = !pop3();
    notes.size_tolerance.hidden = pop3() || !c.size_tolerance.value;
    c.interval.disabled = c.automatic_check.value !== 'yes';
    // push is IMAP's, and a kind of automatic check; the answer is kept either way
    c.push.disabled = pop3() || c.automatic_check.value !== 'yes';
    for (const o of c.after_fetch.options) {
      o.hidden = keep ? o.value === 'delete' || (pop3() && IMAP_ONLY_ACTIONS.includes(o.value)) : o.value !== 'delete';
    }
    c.after_fetch.value = currentAction();
    c.after_fetch.disabled = !keep;
    notes.after_fetch.hidden = !(keep && pop3() && IMAP_ONLY_ACTIONS.includes(keptAction));
    const shown = currentAction();
    for (const k of ['move_folder', 'create_folder']) wrap(k).hidden = shown !== 'move';
    wrap('action_when').hidden = shown === 'keep';
    afterHelp.textContent = t(pop3() ? 'after.helpPop3' : `after.help.${shown}`);
    c.port.placeholder = t('form.portDefault', { port: defaultPort(c.protocol.value, isSecure ? c.security.value : 'none') });
    const kind = (creds.credentials.find((k) => String(k.id) === c.credential.value) || {}).kind;
    for (const o of c.auth.options) { // a token is no password, and a password no token
      const otherKind = kind && o.value !== 'auto' && (kind === 'oauth2') !== TOKEN_MECHANISMS.includes(o.value);
      o.hidden = (!pop3() && POP3_ONLY.includes(o.value)) || otherKind;
    }
    // a mechanism the credential or protocol rules out shows as auto, and comes back with them
    const wanted = [...c.auth.options].find((o) => o.value === chosenAuth);
    c.auth.value = wanted && !wanted.hidden ? chosenAuth : 'auto';
  };
  c.after_fetch.addEventListener('change', () => { keptAction = c.after_fetch.value; });
  c.auth.addEventListener('change', () => { chosenAuth = c.auth.value; });

  // --- checks as the admin types, as the server makes them ---
  const range = (k) => () => {
    const el = c[k];
    if (el.disabled) return '';
    if (el.validity.badInput) return t('af.v.number');
    if (el.value === '') return '';
    const [min, max] = RANGES[k];
    const n = Number(el.value);
    return Number.isInteger(n) && n >= min && n <= max ? '' : t('af.v.range', { min, max });
  };
  const rules = {
    name: () => {
      const v = c.name.value.trim();
      if (!v) return t('af.v.required');
      if ([...v].length > NAME_MAX) return t('af.v.tooLong', { n: NAME_MAX });
      return /^\d+$/.test(v) ? t('af.v.digits') : '';
    },
    address: () => hostProblem(c.address.value.trim()),
    credential: () => (c.credential.value ? '' : t('af.v.required')),
    connector: () => (c.use_connector.value === 'yes' && !c.connector.value && !settings.default_connector
      ? t('af.v.connector') : ''),
    ca_file: () => (c.ca_file.value.trim() && !c.ca_file.value.trim().startsWith('/') ? t('af.v.absolute') : ''),
    move_folder: () => (currentAction() === 'move' && !c.move_folder.value.trim() ? t('af.v.moveFolder') : ''),
  };
  for (const k of Object.keys(RANGES)) rules[k] = range(k);
  // a change here re-checks those fields too
  const dependents = { use_connector: ['connector'], connector: ['connector'], keep_copy: ['move_folder'],
    after_fetch: ['move_folder'], protocol: ['move_folder', 'size_tolerance'], automatic_check: ['interval'] };

  const formError = h('p', { class: 'error', id: 'form-error', role: 'alert', hidden: true });
  const setError = (k, message) => {
    const el = main.querySelector(`#err-${k}`);
    if (!el) return false;
    el.textContent = message || '';
    el.hidden = !message;
    const control = c[k];
    if (control && control.setAttribute) {
      if (message) control.setAttribute('aria-invalid', 'true');
      else control.removeAttribute('aria-invalid');
    }
    if (formError.dataset.kind === 'fields') { // the count above the buttons follows the fields
      const n = main.querySelectorAll('#account-form .field-error:not([hidden])').length;
      formError.textContent = t('af.v.fix', { n });
      formError.hidden = !n;
    }
    return true;
  };
  const touched = new Set();
  const check = (k) => (rules[k] ? setError(k, rules[k]()) : null);
  // An error shown as a field is left moves what is below it: while the
  // pointer is pressed (on Save, say) it waits, so the click lands where aimed.
  let pressing = false;
  const waiting = new Set();
  main.addEventListener('pointerdown', () => {
    pressing = true;
    window.addEventListener('pointerup', () => setTimeout(() => {
      pressing = false;
      for (const k of waiting) check(k);
      waiting.clear();
    }), { once: true });
  }, true);
  for (const [k, el] of Object.entries(c)) {
    el.addEventListener('blur', () => {
      touched.add(k);
      if (pressing) waiting.add(k);
      else check(k);
    }, true);
    el.addEventListener('input', () => { if (touched.has(k) || !main.querySelector(`#err-${k}`)?.hidden) check(k); });
    el.addEventListener('change', () => {
      sync();
      for (const d of dependents[k] || []) if (touched.has(d) || touched.has(k)) check(d);
    });
  }
  const advanced = h('details', { class: 'advanced', id: 'advanced' });
  // Every check at once (on Save, on Test): the first wrong field gets the focus.
  const checkAll = (skip = []) => {
    formError.hidden = true;
    delete formError.dataset.kind;
    const wrong = Object.keys(rules).filter((k) => !skip.includes(k) && check(k) !== null &&
      !main.querySelector(`#err-${k}`).hidden)
      .sort((x, y) => (c[x].compareDocumentPosition(c[y]) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
    for (const k of Object.keys(rules)) touched.add(k);
    if (!wrong.length) return true;
    if (wrong.some((k) => advanced.contains(c[k]))) advanced.open = true;
    c[wrong[0]].focus();
    formError.textContent = t('af.v.fix', { n: wrong.length });
    formError.dataset.kind = 'fields';
    formError.hidden = false;
    return false;
  };
  // the server's errors next to the fields they name, others above the buttons
  const showErrors = (e) => {
    for (const el of main.querySelectorAll('#account-form .field-error')) el.hidden = true;
    formError.hidden = true;
    delete formError.dataset.kind;
    let shown = false;
    let first = null;
    for (const f of e.fields || []) {
      if (setError(f.field, f.message)) {
        shown = true;
        if (advanced.contains(main.querySelector(`#err-${f.field}`))) advanced.open = true;
        if (first === null) first = f.field;
      }
    }
    if (!shown) { formError.textContent = e.message; formError.hidden = false; }
    else c[first]?.focus?.();
  };

  const values = () => {
    const n = (el) => (el.value === '' ? null : Number(el.value));
    const act = currentAction();
    const useConn = c.use_connector.value === 'yes';
    const secureOn = c.secure.value === 'yes';
    return {
      name: c.name.value.trim(), keep_copy: act !== 'delete', after_fetch: act,
      // kept as typed whatever the action: an action changed back finds them again
      move_folder: c.move_folder.value.trim() || null, create_folder: c.create_folder.value === 'yes',
      action_when: c.action_when.value,
      automatic_check: c.automatic_check.value === 'yes', interval: n(c.interval) ?? 300,
      push: c.push.value === 'yes',
      enabled: c.enabled.value === 'yes', address: c.address.value.trim(), port: n(c.port),
      protocol: c.protocol.value, use_connector: useConn,
      connector: useConn ? n(c.connector) : null,
      // the admin's answer, whatever the connection's security
      credential: n(c.credential), skip_certificate: c.skip_certificate.value === 'yes',
      security: secureOn ? c.security.value : 'none',
      folder: !pop3() && c.folder.value.trim() ? c.folder.value.trim() : null,
      auth: c.auth.value, max_message_size: n(c.max_message_size),
      ca_file: c.ca_file.value.trim() || null,
      step_timeout: n(c.step_timeout), min_speed: n(c.min_speed),
      min_speed_time: n(c.min_speed_time),
      size_tolerance: pop3() ? n(c.size_tolerance) : null,
    };
  };

  // Test connection: the steps, and the server's folders for the folder field
  const testOut = h('div', { id: 'test-result', class: 'test-output' });
  const testButton = h('button', { type: 'button', id: 'test-connection' }, t('form.test'));
  const showFolders = (folders, truncated) => {
    clear(folderList).append(...folders.map((f) => h('option', { value: f.name }, specialUse(f.special_use))));
    folderHelp.textContent = t(truncated ? 'af.folders.truncated' : 'af.folders.found', { n: folders.length });
    folderHelp.dataset.count = folders.length;
  };
  testButton.addEventListener('click', async () => {
    if (!checkAll(['name'])) return; // a form may be tested before it is named
    testButton.disabled = true;
    delete testOut.dataset.done;
    const last = await runTest(testOut, '/accounts/test', { ...values(), ...(id ? { id } : {}) }, showErrors);
    if (last && Array.isArray(last.folders) && last.folders.length) showFolders(last.folders, last.folders_truncated);
    testButton.disabled = false;
  });

  // "Add a credential": the credentials form in a dialog, over this one
  const dialog = h('dialog', { id: 'credential-dialog', class: 'dialog', 'aria-label': t('credential.new') });
  dialog.addEventListener('close', () => clear(dialog));
  const addCredential = h('button', { type: 'button', class: 'link small', id: 'add-credential',
    'aria-haspopup': 'dialog' }, t('form.addCredential'));
  addCredential.addEventListener('click', async () => {
    clear(dialog);
    await credentialDialogForm(dialog, (saved) => {
      creds.credentials.push(saved);
      c.credential.append(h('option', { value: saved.id }, `${saved.name} (${saved.username})`));
      c.credential.value = String(saved.id);
      dialog.close();
      sync();
      check('credential');
      c.credential.focus();
      toast(t(saved.kind === 'oauth2' ? 'af.credentialOauth' : 'af.credentialAdded', { name: saved.name }), 'ok');
    }, () => dialog.close());
    dialog.showModal();
    dialog.querySelector('input:not([disabled]), select:not([disabled])')?.focus();
  });

  const advancedOpen = localStorage.getItem(ADVANCED_KEY) === 'open' || (id && [a.step_timeout !== 60,
    a.min_speed !== 1024, a.min_speed_time !== 60, !!a.size_tolerance, !!a.ca_file, a.max_message_size !== 67108864,
    a.interval !== 300, action !== 'keep' && action !== 'delete', targets.targets.length > 0].some((x) => x));
  advanced.open = !!advancedOpen;
  const summary = h('summary', {}, t('af.advanced'));
  // the admin's own opening and closing is remembered, not the form's
  summary.addEventListener('click', () => localStorage.setItem(ADVANCED_KEY, advanced.open ? 'closed' : 'open'));
  const targetsSlot = h('div', { id: 'advanced-targets' });
  advanced.append(
    summary,
    h('div', { class: 'grid' },
      field('interval', 'field.interval', c.interval),
      field('push', 'field.push', c.push, { extra: [h('p', { class: 'help' }, t('form.pushHelp'))] }),
      field('max_message_size', 'field.max_message_size', c.max_message_size),
      field('ca_file', 'field.ca_file', c.ca_file)),
    h('h3', {}, t('af.afterTitle')),
    h('div', { class: 'grid' },
      field('after_fetch', 'field.after_fetch', c.after_fetch, { extra: [afterHelp, notes.after_fetch] }),
      field('move_folder', 'field.move_folder', c.move_folder),
      field('create_folder', 'field.create_folder', c.create_folder),
      field('action_when', 'field.action_when', c.action_when)),
    h('h3', { id: 'limits' }, t('form.limits')),
    h('p', { class: 'help' }, t('form.limitsHelp')),
    h('div', { class: 'grid' },
      field('step_timeout', 'field.step_timeout', c.step_timeout),
      field('min_speed', 'field.min_speed', c.min_speed),
      field('min_speed_time', 'field.min_speed_time', c.min_speed_time),
      field('size_tolerance', 'field.size_tolerance', c.size_tolerance,
        { extra: [h('p', { class: 'help' }, t('form.sizeToleranceHelp')), notes.size_tolerance] })),
    ...(id ? [targetsSlot] : []));

  const admin = isAdmin();
  const form = h('form', { class: 'account-form card', id: 'account-form', novalidate: true },
    h('h1', {}, t('af.title')),
    h('p', { class: 'subtitle', id: 'form-mode' }, id ? t('account.edit', { name: a.name }) : t('account.new'),
      !id && admin && h('a', { href: '#/accounts/discover', id: 'discover-entry', class: 'button secondary small' },
        t('discover.entry'))),
    id && h('p', { class: 'help', id: 'after-fetch-now' }, t('after.now', {
      action: t(`after.${action}`), when: t(`when.${a.action_when || 'stored'}`) })),
    admin && h('p', { class: 'help required-help' }, h('span', { class: 'required' }, '*'), ' ', t('af.requiredHelp')),
    h('div', { class: 'grid' },
      field('name', 'field.name', c.name, { required: true }),
      field('keep_copy', 'field.keep_copy', c.keep_copy),
      field('automatic_check', 'field.automatic_check', c.automatic_check),
      field('enabled', 'field.enabled', c.enabled)),
    h('section', { class: 'form-section', id: 'server-section', 'aria-labelledby': 'server-title' },
      h('h2', { id: 'server-title' }, t('af.server')),
      h('div', { class: 'grid' },
        field('address', 'field.address', c.address, { required: true }),
        field('port', 'field.port', c.port),
        field('protocol', 'field.protocol', c.protocol, { required: true }),
        field('use_connector', 'field.use_connector', c.use_connector),
        field('connector', 'field.connector', c.connector, { extra: [
          h('a', { href: '#/connectors/new', class: 'small' }, t('form.addConnector')), notes.connector] }),
        field('credential', 'field.credential', c.credential, { required: true, extra: [admin && addCredential,
          proposed.credential_kind && h('p', { class: 'help', id: 'credential-needed' },
            t('discover.needs', { kind: credentialHint(proposed) }))] }),
        field('skip_certificate', 'field.skip_certificate', c.skip_certificate),
        field('secure', 'field.secure', c.secure),
        field('security', 'field.security', c.security, { extra: [optionalHelp, notes.security] }))),
    h('div', { class: 'grid' },
      field('folder', 'field.folder', c.folder, { extra: [folderList, folderHelp, notes.folder] }),
      field('auth', 'field.auth', c.auth)),
    advanced,
    formError,
    h('div', { class: 'buttons' },
      admin && h('button', { type: 'submit', id: 'save' }, t('common.save')),
      admin && testButton,
      h('a', { href: '#/accounts', class: 'button secondary' }, t('common.cancel')),
      id && admin && h('button', { type: 'button', class: 'danger', id: 'delete',
        onclick: async () => {
          if (!confirm(t('common.confirmDelete', { name: a.name }))) return;
          try { await api('DELETE', `/accounts/${id}`); toast(t('common.deleted'), 'ok'); go('#/accounts'); } catch (e) { showErrors(e); }
        } }, t('common.delete'))),
    !admin && h('p', { class: 'help' }, t('viewer.readOnly')),
    testOut);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!checkAll()) return;
    try {
      await api(id ? 'PATCH' : 'POST', id ? `/accounts/${id}` : '/accounts', values());
      toast(t('common.saved'), 'ok');
      go('#/accounts');
    } catch (e) {
      showErrors(e);
    }
  });
  main.append(form, dialog);
  if (id) {
    main.append(historyCard(id));
    // app.js puts the delivery targets card before the history: it belongs under Advanced
    new MutationObserver((_, seen) => {
      const card = main.querySelector(':scope > #targets');
      if (card) { targetsSlot.append(card); seen.disconnect(); }
    }).observe(main, { childList: true });
  }
  sync();
  if (!admin) for (const el of form.querySelectorAll('input, select')) el.disabled = true;
}
