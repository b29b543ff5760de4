// Set up from an e-mail address (#/accounts/discover): the daemon proposes
// server, port, protocol, security and the kind of credential from its
// presets, the domain's DNS SRV records and its autoconfig file, each probed
// (connect, TLS, greeting, capabilities; no login). "Use this" opens the
// new-account form with the values as query parameters; prefillFromQuery
// turns them back into field values for that form.
import { api } from '../api.js';
import { go, isAdmin } from '../app.js';
import { clear, h } from '../dom.js';
import { t } from '../i18n.js';
import { stepItem } from './parts.js';

const PROTOCOLS = ['imap', 'pop3'];
const SECURITIES = ['none', 'starttls-optional', 'starttls', 'tls'];
const KINDS = ['password', 'app_password', 'oauth2'];
const OAUTH_PROVIDERS = ['google', 'microsoft'];
const HOST = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$|^[0-9a-fA-F:.]+$/;

// The query string "Use this" sends to #/accounts/new.
export function proposalQuery(p) {
  const q = new URLSearchParams({
    protocol: p.protocol, address: p.address, port: String(p.port), security: p.security,
    credential_kind: p.credential_kind, from: 'discover',
  });
  if (p.username) q.set('username', p.username);
  if (p.oauth_provider) q.set('oauth_provider', p.oauth_provider);
  return q.toString();
}

// The account form's field values from #/accounts/new?protocol=...&address=...:
// {protocol, address, port, security, credential_kind} (and username,
// oauth_provider as hints for the credential), each only when the parameter
// holds a value the form can take; {} when none does. q: URLSearchParams, a
// query string, or a plain object.
export function prefillFromQuery(q) {
  const params = q instanceof URLSearchParams ? q
    : new URLSearchParams(typeof q === 'string' ? q.replace(/^.*\?/, '') : (q || {}));
  const get = (k) => (params.get(k) || '').trim();
  const out = {};
  if (PROTOCOLS.includes(get('protocol'))) out.protocol = get('protocol');
  if (HOST.test(get('address'))) out.address = get('address');
  const port = get('port');
  if (/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535) out.port = Number(port);
  if (SECURITIES.includes(get('security'))) out.security = get('security');
  if (KINDS.includes(get('credential_kind'))) out.credential_kind = get('credential_kind');
  const user = get('username');
  if (user && user.length <= 320 && !/[\u0000-\u001f]/.test(user)) out.username = user;
  if (OAUTH_PROVIDERS.includes(get('oauth_provider'))) out.oauth_provider = get('oauth_provider');
  return out;
}

function securityText(s) {
  return s === 'none' ? t('discover.security.none') : t(`security.${s}`);
}

export function credentialHint(p) {
  if (p.credential_kind === 'oauth2') {
    return p.oauth_provider ? t('discover.kind.oauth2Provider', { provider: t(`oauth.provider.${p.oauth_provider}`) })
      : t('discover.kind.oauth2');
  }
  return t(`discover.kind.${p.credential_kind}`);
}

function proposalCard(p, i) {
  const ok = p.probe.ok;
  const failed = p.probe.steps.find((s) => s.result === 'failed');
  const status = !p.probe.probed ? t('discover.notProbed')
    : ok ? t('discover.probeOk') : t('discover.probeFailed', { step: failed ? failed.step : '?' });
  return h('li', { class: `card proposal ${ok ? 'probe-passed' : 'probe-failed'}`, dataset: { source: p.source, ok: ok ? 'yes' : 'no' } },
    h('div', { class: 'titlebar' },
      h('h2', {}, `${i + 1}. ${p.provider}`),
      h('span', { class: `badge source-${p.source}` }, t(`discover.source.${p.source}`)),
      h('button', {
        type: 'button', class: 'use-proposal', dataset: { index: i },
        onclick: () => go(`#/accounts/new?${proposalQuery(p)}`),
      }, t('discover.use'))),
    h('dl', { class: 'proposal-fields' },
      h('dt', {}, t('field.protocol')), h('dd', { class: 'protocol' }, p.protocol.toUpperCase()),
      h('dt', {}, t('field.address')), h('dd', { class: 'address' }, p.address),
      h('dt', {}, t('field.port')), h('dd', { class: 'port' }, String(p.port)),
      h('dt', {}, t('field.security')), h('dd', { class: 'security' }, securityText(p.security)),
      h('dt', {}, t('discover.username')), h('dd', { class: 'username' }, p.username),
      h('dt', {}, t('discover.credential')), h('dd', { class: 'credential-kind' }, credentialHint(p))),
    h('p', { class: `probe ${ok ? 'ok' : 'error'}`, role: 'status' }, status),
    p.probe.steps.length ? h('details', { class: 'probe-steps', open: !ok },
      h('summary', {}, t('discover.steps')),
      h('ol', { class: 'steps' }, p.probe.steps.map(stepItem))) : null,
    noteOf(p) ? h('p', { class: 'help note' }, noteOf(p)) : null);
}

// A proposal's note in the console's language: its sentences (each said,
// so api() has put them in that language), joined as the daemon joins them.
function noteOf(p) {
  return Array.isArray(p.notes) && p.notes.length ? p.notes.map((n) => n.note).join('; ') : p.note;
}

function results(out, r) {
  clear(out);
  out.dataset.done = 'yes';
  if (!r.proposals.length) out.append(h('p', { class: 'empty', id: 'discover-none' }, t('discover.none', { domain: r.domain })));
  else {
    out.append(h('p', { class: 'help' }, t('discover.found', { n: r.proposals.length })),
      h('ol', { class: 'proposals', id: 'proposals' }, r.proposals.map(proposalCard)));
  }
  if (r.notes.length) {
    out.append(h('details', { class: 'discover-notes', id: 'discover-notes', open: !r.proposals.length },
      h('summary', {}, t('discover.notes')),
      h('ul', {}, r.notes.map((n) => h('li', { dataset: { source: n.source } },
        h('strong', {}, `${t(`discover.source.${n.source}`)}: `), n.note)))));
  }
}

export function discoverPage(main, q) {
  main.append(h('div', { class: 'titlebar' },
    h('h1', {}, t('discover.title')),
    h('a', { href: '#/accounts/new', class: 'button', id: 'discover-by-hand' }, t('discover.byHand'))),
  h('p', { class: 'help' }, t('discover.help')));
  if (!isAdmin()) {
    main.append(h('p', { class: 'empty', id: 'discover-admins' }, t('discover.adminsOnly')));
    return;
  }
  const email = h('input', {
    id: 'discover-email', type: 'email', name: 'email', required: true, autocomplete: 'email',
    placeholder: 'someone@example.com', value: (q && q.get && q.get('email')) || '',
  });
  const error = h('p', { class: 'error', role: 'alert', id: 'discover-error', hidden: true });
  const out = h('div', { id: 'discover-result', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', id: 'discover-run' }, t('discover.run'));
  const form = h('form', { class: 'card', id: 'discover-form', novalidate: true },
    h('label', { for: 'discover-email' }, t('discover.email')),
    h('div', { class: 'discover-row' }, email, button), error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    delete out.dataset.done;
    if (!/^[^\s@"\\]+@[^\s@]+\.[^\s@]+$/.test(email.value.trim())) {
      error.textContent = t(email.value.trim() ? 'discover.emailInvalid' : 'discover.emailRequired');
      error.hidden = false;
      email.focus();
      return;
    }
    button.disabled = true;
    clear(out).append(h('p', { class: 'loading', role: 'status' }, t('discover.running')));
    try {
      results(out, await api('POST', '/accounts/discover', { email: email.value.trim() }));
    } catch (e) {
      clear(out);
      error.textContent = (e.fields || []).map((f) => f.message).join(' ') || e.message;
      error.hidden = false;
    }
    button.disabled = false;
  });
  main.append(form, out);
  email.focus();
}
