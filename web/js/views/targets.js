// Delivery targets (issue 19): the "Delivery targets" card on an account's
// page, with Send a test delivery, and the target form, whose fields change
// with the kind (webhook, Maildir, command, LMTP).
import { api } from '../api.js';
import { go, isAdmin } from '../app.js';
import { clear, h, toast } from '../dom.js';
import { t } from '../i18n.js';
import { deleteButton, formErrors, simpleField } from './credentials.js';

export const KINDS = ['webhook', 'maildir', 'command', 'lmtp'];
const HOUR = 3600;
const DAY = 86400;

// Where a target hands messages to, in a few words.
export function targetWhere(x) {
  if (x.kind === 'webhook') return x.url || '';
  if (x.kind === 'maildir') return x.path || '';
  if (x.kind === 'command') return x.command || '';
  if (x.kind === 'lmtp') {
    const at = x.host ? `${x.host}:${x.port}` : (x.path || '');
    return x.recipients ? `${at} → ${x.recipients}` : at;
  }
  return '';
}

// A test delivery's outcome, in the page's language; the error and the
// response are the server's (English) as they are.
function testResult(r) {
  const ok = r.outcome === 'delivered';
  return h('div', { class: 'target-test', dataset: { outcome: r.outcome } },
    h('p', { class: `outcome ${ok ? 'ok' : 'error'}`, role: 'status' },
      t(`target.outcome.${r.outcome}`), ` (${t('target.ms', { ms: r.ms })})`),
    r.error ? h('p', { class: 'detail error' }, h('strong', {}, `${t('deliveries.reason')}: `), h('span', { class: 'test-error' }, r.error)) : null,
    r.response ? h('details', { class: 'response', open: true }, h('summary', {}, t('deliveries.response')),
      h('pre', { class: 'test-response' }, r.response)) : null);
}

// The card on account `accountId`'s page; it loads on its own.
export function targetsCard(accountId) {
  const body = h('div', {});
  const card = h('section', { class: 'card', id: 'targets' },
    h('div', { class: 'titlebar' }, h('h2', {}, t('targets.title')),
      isAdmin() && h('a', { href: `#/accounts/${accountId}/targets/new`, class: 'button', id: 'new-target' },
        t('target.add'))),
    h('p', { class: 'help' }, t('targets.help')), body);
  const load = async () => {
    let data;
    try {
      data = await api('GET', `/accounts/${accountId}/targets`);
    } catch (e) {
      clear(body).append(h('p', { class: 'error' }, e.message));
      return;
    }
    if (!data.targets.length) {
      clear(body).append(h('p', { class: 'empty', id: 'targets-none' }, t('targets.none')));
      return;
    }
    const rows = [];
    for (const x of data.targets) {
      const out = h('td', { colspan: 8 });
      const outRow = h('tr', { class: 'test-row', dataset: { for: x.id }, hidden: true }, out);
      const test = async (button) => {
        button.disabled = true;
        outRow.hidden = false;
        delete outRow.dataset.done;
        clear(out).append(h('p', { class: 'loading', role: 'status' }, t('target.testing')));
        try {
          clear(out).append(testResult(await api('POST', `/targets/${x.id}/test`)));
        } catch (e) {
          clear(out).append(h('p', { class: 'error' }, e.message));
        }
        outRow.dataset.done = 'yes';
        button.disabled = false;
      };
      const remove = async () => {
        if (!confirm(t('common.confirmDelete', { name: x.name }))) return;
        try {
          await api('DELETE', `/targets/${x.id}`);
          toast(t('common.deleted'), 'ok');
          load();
        } catch (e) { toast(e.message, 'error'); }
      };
      const d = x.deliveries || {};
      rows.push(h('tr', { class: 'target', dataset: { id: x.id, kind: x.kind } },
        h('td', { class: 'name' }, h('a', { href: `#/accounts/${accountId}/targets/${x.id}` }, x.name)),
        h('td', { class: 'kind' }, t(`target.kind.${x.kind}`)),
        h('td', { class: 'where' }, targetWhere(x)),
        h('td', { class: 'enabled' }, t(x.enabled ? 'common.yes' : 'common.no')),
        h('td', { class: 'pending' }, d.pending ?? 0),
        h('td', { class: 'failed' }, d.failed ? h('a', { href: `#/deliveries?target=${x.id}` }, d.failed) : (d.failed ?? 0)),
        h('td', { class: 'delivered' }, d.delivered ?? 0),
        h('td', { class: 'actions' }, h('div', { class: 'row-actions' },
          h('a', { href: `#/accounts/${accountId}/targets/${x.id}`, class: 'edit' }, t('common.edit')),
          isAdmin() && h('button', { type: 'button', class: 'test-target', onclick: (ev) => test(ev.target) },
            t('target.test')),
          isAdmin() && h('button', { type: 'button', class: 'remove-target danger', onclick: remove },
            t('target.remove'))))), outRow);
    }
    clear(body).append(h('table', { class: 'list', id: 'targets-list' },
      h('thead', {}, h('tr', {}, ['col.name', 'target.kind', 'target.where', 'status.enabled',
        'targets.pending', 'targets.failed', 'targets.delivered', 'common.actions']
        .map((k) => h('th', {}, t(k))))),
      h('tbody', {}, rows)));
  };
  load();
  return card;
}

function checkbox(id, checked) {
  return h('input', { id, type: 'checkbox', checked: !!checked });
}

// The retry window in hours or days (whole days when it is), sent in seconds.
function retryControls(seconds) {
  const days = seconds % DAY === 0;
  const value = h('input', { id: 't-retry_for', type: 'number', min: 0, step: 'any',
    value: seconds ? String(seconds / (days ? DAY : HOUR)) : '' });
  const unit = h('select', { id: 't-retry-unit', 'aria-label': t('target.retryUnit') },
    h('option', { value: HOUR, selected: !days }, t('target.hours')),
    h('option', { value: DAY, selected: days }, t('target.days')));
  const toSeconds = () => (value.value === '' ? null : Math.round(Number(value.value) * Number(unit.value)));
  return { value, unit, seconds: toSeconds };
}

export async function targetForm(main, accountId, id) {
  const [x, account, creds] = await Promise.all([
    id ? api('GET', `/targets/${id}`) : Promise.resolve({ kind: 'webhook', enabled: true, retry_for: 3 * DAY }),
    api('GET', `/accounts/${accountId}`), api('GET', '/credentials')]);
  const back = `#/accounts/${accountId}`;
  const skips = (x.skip_classes || '').split(',').map((s) => s.trim()).filter(Boolean);
  const secretId = x.secret_credential && x.secret_credential.id;
  const c = {
    name: h('input', { id: 't-name', value: x.name || '' }),
    kind: h('select', { id: 't-kind' }, KINDS.map((k) =>
      h('option', { value: k, selected: x.kind === k }, t(`target.kind.${k}`)))),
    enabled: checkbox('t-enabled', x.enabled),
    url: h('input', { id: 't-url', type: 'url', value: x.url || '', placeholder: 'https://app.example.com/hooks/mail' }),
    allow_http: checkbox('t-allow_http', x.allow_http),
    secret_credential: h('select', { id: 't-secret_credential' }, h('option', { value: '' }, t('target.unsigned')),
      creds.credentials.filter((k) => k.kind === 'password' || k.id === secretId).map((k) =>
        h('option', { value: k.id, selected: k.id === secretId }, k.name))),
    stop_status: h('input', { id: 't-stop_status', value: x.stop_status && x.stop_status !== '410' ? x.stop_status : '',
      placeholder: '410' }),
    inline_max: h('input', { id: 't-inline_max', type: 'number', min: 0,
      value: x.inline_max && x.inline_max !== 1048576 ? x.inline_max : '', placeholder: '1048576' }),
    path: h('input', { id: 't-path', value: x.path || '' }),
    command: h('input', { id: 't-command', value: x.command || '', placeholder: '/usr/lib/dovecot/dovecot-lda -d support' }),
    via: h('select', { id: 't-via' },
      h('option', { value: 'tcp', selected: !(x.kind === 'lmtp' && x.path) }, t('target.viaTcp')),
      h('option', { value: 'unix', selected: x.kind === 'lmtp' && !!x.path }, t('target.viaUnix'))),
    host: h('input', { id: 't-host', value: x.host || '', placeholder: '127.0.0.1' }),
    port: h('input', { id: 't-port', type: 'number', min: 1, max: 65535,
      value: x.host && x.port && x.port !== 24 ? x.port : '', placeholder: '24' }),
    recipients: h('input', { id: 't-recipients', value: x.recipients || '', placeholder: 'support@example.com, …' }),
    timeout: h('input', { id: 't-timeout', type: 'number', min: 1, max: 3600,
      value: x.timeout && x.timeout !== 30 ? x.timeout : '', placeholder: '30' }),
    parallel: h('select', { id: 't-parallel' },
      h('option', { value: 'no', selected: !x.parallel }, t('target.keepOrder')),
      h('option', { value: 'yes', selected: !!x.parallel }, t('target.parallel'))),
    skip_auto: checkbox('t-skip-auto', skips.includes('auto')),
    skip_report: checkbox('t-skip-report', skips.includes('report')),
  };
  const retry = retryControls(x.retry_for || 3 * DAY);
  const pathLabel = h('label', { for: 't-path' });
  const f = {
    url: simpleField('url', 'target.url', c.url),
    allow_http: h('div', { class: 'field', dataset: { field: 'allow_http' } },
      h('label', { class: 'check', for: 't-allow_http' }, c.allow_http, t('target.allowHttp')),
      h('p', { class: 'help' }, t('target.allowHttpHelp')),
      h('p', { class: 'field-error', id: 'err-allow_http', hidden: true })),
    secret_credential: simpleField('secret_credential', 'target.secret', c.secret_credential,
      h('p', { class: 'help' }, t('target.secretHelp')),
      h('a', { href: '#/credentials/new', class: 'small' }, t('form.addCredential'))),
    stop_status: simpleField('stop_status', 'target.stopStatus', c.stop_status,
      h('p', { class: 'help' }, t('target.stopStatusHelp'))),
    inline_max: simpleField('inline_max', 'target.inlineMax', c.inline_max,
      h('p', { class: 'help' }, t('target.inlineMaxHelp'))),
    command: simpleField('command', 'target.command', c.command,
      h('p', { class: 'help', id: 't-command-help' }, t('target.commandHelp'))),
    via: simpleField('via', 'target.via', c.via),
    host: simpleField('host', 'target.host', c.host),
    port: simpleField('port', 'target.port', c.port),
    path: h('div', { class: 'field', dataset: { field: 'path' } }, pathLabel, c.path,
      h('p', { class: 'field-error', id: 'err-path', hidden: true })),
    recipients: simpleField('recipients', 'target.recipients', c.recipients,
      h('p', { class: 'help' }, t('target.recipientsHelp'))),
  };
  const byKind = {
    webhook: ['url', 'allow_http', 'secret_credential', 'stop_status', 'inline_max'],
    maildir: ['path'],
    command: ['command'],
    lmtp: ['via', 'host', 'port', 'path', 'recipients'],
  };
  const kindFields = h('div', { class: 'grid', id: 't-kind-fields' }, Object.values(f));
  const sync = () => {
    const k = c.kind.value;
    for (const [name, el] of Object.entries(f)) el.hidden = !byKind[k].includes(name);
    if (k === 'lmtp') {
      const unix = c.via.value === 'unix';
      f.host.hidden = unix;
      f.port.hidden = unix;
      f.path.hidden = !unix;
    }
    pathLabel.textContent = t(k === 'lmtp' ? 'target.socket' : 'target.directory');
    c.path.placeholder = k === 'lmtp' ? '/run/dovecot/lmtp' : '/var/mail/support/Maildir';
  };
  c.kind.addEventListener('change', sync);
  c.via.addEventListener('change', sync);
  sync();

  const values = () => {
    const k = c.kind.value;
    const num = (el) => (el.value === '' ? null : Number(el.value));
    const text = (el) => el.value.trim();
    const webhook = k === 'webhook';
    const lmtpTcp = k === 'lmtp' && c.via.value === 'tcp';
    const usesPath = k === 'maildir' || (k === 'lmtp' && c.via.value === 'unix');
    const skip = [c.skip_auto.checked && 'auto', c.skip_report.checked && 'report',
      skips.includes('ordinary') && 'ordinary'].filter(Boolean);
    // every field, empty when the kind does not use it: a target whose kind
    // changed keeps nothing of the old one
    return {
      name: text(c.name), kind: k, enabled: c.enabled.checked,
      url: webhook ? text(c.url) : '', allow_http: webhook && c.allow_http.checked,
      secret_credential: webhook && c.secret_credential.value ? Number(c.secret_credential.value) : '',
      stop_status: webhook ? text(c.stop_status) : '', inline_max: webhook ? num(c.inline_max) : null,
      path: usesPath ? text(c.path) : '', command: k === 'command' ? text(c.command) : '',
      host: lmtpTcp ? text(c.host) : '', port: lmtpTcp ? num(c.port) : null,
      recipients: k === 'lmtp' ? text(c.recipients) : '',
      timeout: num(c.timeout), parallel: c.parallel.value === 'yes', retry_for: retry.seconds(),
      skip_classes: skip.join(','),
    };
  };

  const form = h('form', { class: 'card', id: 'target-form', novalidate: true },
    h('p', { class: 'crumb' }, h('a', { href: back }, account.name), ' › ', t('targets.title')),
    h('h1', {}, id ? t('target.edit', { name: x.name }) : t('target.new', { account: account.name })),
    h('div', { class: 'grid' },
      simpleField('name', 'col.name', c.name),
      simpleField('kind', 'target.kind', c.kind),
      h('div', { class: 'field', dataset: { field: 'enabled' } },
        h('label', { class: 'check', for: 't-enabled' }, c.enabled, t('status.enabled')),
        h('p', { class: 'field-error', id: 'err-enabled', hidden: true }))),
    kindFields,
    h('fieldset', { class: 'target-common' }, h('legend', {}, t('target.common')),
      h('div', { class: 'grid' },
        simpleField('timeout', 'target.timeout', c.timeout),
        simpleField('parallel', 'target.order', c.parallel, h('p', { class: 'help' }, t('target.orderHelp'))),
        h('div', { class: 'field', dataset: { field: 'retry_for' } },
          h('label', { for: 't-retry_for' }, t('target.retryFor')),
          h('div', { class: 'inline' }, retry.value, retry.unit),
          h('p', { class: 'help' }, t('target.retryForHelp')),
          h('p', { class: 'field-error', id: 'err-retry_for', hidden: true })),
        h('div', { class: 'field', dataset: { field: 'skip_classes' } },
          h('label', {}, t('target.skip')),
          h('label', { class: 'check', for: 't-skip-auto' }, c.skip_auto, t('target.skipAuto')),
          h('label', { class: 'check', for: 't-skip-report' }, c.skip_report, t('target.skipReport')),
          h('p', { class: 'field-error', id: 'err-skip_classes', hidden: true })))),
    h('p', { class: 'error', id: 'form-error', role: 'alert', hidden: true }),
    h('div', { class: 'buttons' }, isAdmin() && h('button', { type: 'submit', id: 'save' }, t('common.save')),
      h('a', { href: back, class: 'button secondary', id: 'cancel' }, t('common.cancel')),
      id && isAdmin() && deleteButton(main, `/targets/${id}`, x.name, back)),
    !isAdmin() && h('p', { class: 'help' }, t('viewer.readOnly')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api(id ? 'PATCH' : 'POST', id ? `/targets/${id}` : `/accounts/${accountId}/targets`, values());
      toast(t('common.saved'), 'ok');
      go(back);
    } catch (e) {
      // LMTP over a socket: "host is required" is about the socket path there
      if (c.kind.value === 'lmtp' && c.via.value === 'unix') {
        for (const fe of e.fields || []) if (fe.field === 'host') fe.field = 'path';
      }
      formErrors(main, e);
    }
  });
  if (!isAdmin()) for (const el of form.querySelectorAll('input, select')) el.disabled = true;
  main.append(form);
}
