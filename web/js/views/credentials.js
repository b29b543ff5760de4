// Credentials: a password, or OAuth 2.0 settings (docs/oauth.md). Secrets
// (the password, the client secret, an imported refresh token) are
// write-only: they are never shown or sent back.
import { api } from '../api.js';
import { go, isAdmin } from '../app.js';
import { h, toast } from '../dom.js';
import { t } from '../i18n.js';
import { emptyState } from './empty.js';
import { kindLabel, oauthCard, signInAction, signInResult, tokenStateText } from './oauth.js';

// The scopes a provider gets when none are typed: the same as
// mr_oauth_scopes() in src/core/credential.c. Only for the placeholder of a
// new credential, or one whose provider or flow the form changes; a saved
// credential's own come from the API (oauth.scopes).
const PRESET_SCOPES = {
  'microsoft/delegated': 'https://outlook.office.com/IMAP.AccessAsUser.All ' +
    'https://outlook.office.com/POP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access',
  'microsoft/app': 'https://outlook.office365.com/.default',
  'google/delegated': 'https://mail.google.com/',
};
const URL_FIELDS = ['authorize_url', 'token_url', 'device_url'];

export async function credentialsPage(main, params) {
  const data = await api('GET', '/credentials');
  main.append(h('div', { class: 'titlebar' }, h('h1', {}, t('credentials.title')),
    isAdmin() && h('a', { href: '#/credentials/new', class: 'button', id: 'new-credential' }, t('common.new'))),
  // a sign-in the provider sent back that no credential's page can take
  // (not started here, used already, expired)
  signInResult(params) || '',
  h('table', { class: 'list', id: 'credentials' },
    h('thead', {}, h('tr', {}, ['col.id', 'col.name', 'credential.username', 'credential.kind', 'oauth.token',
      'common.actions'].map((k) => h('th', {}, t(k))))),
    h('tbody', {}, data.credentials.map((c) => h('tr', { dataset: { id: c.id, kind: c.kind } },
      h('td', {}, c.id), h('td', {}, c.name), h('td', {}, c.username), h('td', { class: 'kind' }, kindLabel(c)),
      h('td', { class: 'token-state', dataset: { state: c.token ? c.token.state : '' } },
        c.token ? tokenStateText(c.token) : ''),
      h('td', { class: 'actions' }, h('div', { class: 'row-actions' },
        h('a', { href: `#/credentials/${c.id}` }, t('common.edit')), signInAction(c))))))),
  data.credentials.length ? '' : emptyState('credentials-empty', t(isAdmin() ? 'empty.credentials' : 'empty.credentials.viewer'),
    [isAdmin() && ['#/credentials/new', t('empty.addCredential'), 'empty-add-credential']]));
}

// The API's field messages next to their fields; those of no field on the
// page (and a message without fields) above the buttons.
export function formErrors(main, e) {
  for (const el of main.querySelectorAll('.field-error')) el.hidden = true;
  const general = main.querySelector('#form-error');
  general.hidden = true;
  const rest = [];
  for (const f of e.fields || []) {
    const el = main.querySelector(`#err-${f.field}`);
    if (el) { el.textContent = f.message; el.hidden = false; } else rest.push(`${f.field}: ${f.message}`);
  }
  if (!(e.fields || []).length) rest.push(e.message);
  if (rest.length) { general.textContent = rest.join(' '); general.hidden = false; }
}

export function simpleField(id, labelKey, control, ...extra) {
  return h('div', { class: 'field', dataset: { field: id } }, h('label', { for: control.id }, t(labelKey)), control,
    ...extra, h('p', { class: 'field-error', id: `err-${id}`, hidden: true }));
}

export function deleteButton(main, path, name, back) {
  return h('button', { type: 'button', class: 'danger', id: 'delete', onclick: async () => {
    if (!confirm(t('common.confirmDelete', { name }))) return;
    try { await api('DELETE', path); toast(t('common.deleted'), 'ok'); go(back); } catch (e) { formErrors(main, e); }
  } }, t('common.delete'));
}

function select(id, options, value) {
  return h('select', { id }, options.map(([v, key]) => h('option', { value: v, selected: v === value }, t(key))));
}

function help(text, id) {
  return h('p', { class: 'help', id }, text);
}

// The OAuth 2.0 half of the form: its controls, the fields that show for
// the provider and flow chosen, and the request body's OAuth part.
function oauthFields(c, id) {
  const o = c.oauth || { provider: 'microsoft', flow: 'delegated' };
  const saved = `${o.provider}/${o.flow}`;
  const customScopes = id && o.scopes && o.scopes !== (PRESET_SCOPES[saved] || '') ? o.scopes : '';
  const k = {
    provider: select('c-provider', [['microsoft', 'oauth.provider.microsoft'], ['google', 'oauth.provider.google'],
      ['other', 'oauth.provider.other']], o.provider),
    flow: select('c-flow', [['delegated', 'oauth.flow.delegated'], ['app', 'oauth.flow.app']], o.flow),
    tenant: h('input', { id: 'c-tenant', value: o.tenant || '', placeholder: 'common', autocomplete: 'off' }),
    client_id: h('input', { id: 'c-client_id', value: o.client_id || '', autocomplete: 'off' }),
    client_secret: h('input', { id: 'c-client_secret', type: 'password', autocomplete: 'new-password',
      placeholder: id ? t('oauth.secretKeep') : t('oauth.secretOptional') }),
    scopes: h('input', { id: 'c-scopes', value: customScopes, autocomplete: 'off' }),
    authorize_url: h('input', { id: 'c-authorize_url', type: 'url', value: o.provider === 'other' ? o.authorize_url || '' : '',
      placeholder: 'https://login.example.com/authorize' }),
    token_url: h('input', { id: 'c-token_url', type: 'url', value: o.provider === 'other' ? o.token_url || '' : '',
      placeholder: 'https://login.example.com/token' }),
    device_url: h('input', { id: 'c-device_url', type: 'url', value: o.provider === 'other' ? o.device_url || '' : '',
      placeholder: 'https://login.example.com/device' }),
    refresh_token: h('input', { id: 'c-refresh_token', type: 'password', autocomplete: 'off' }),
  };
  // "set" or "not set", as for a password; only when the API says which
  const secretState = typeof o.client_secret_set === 'boolean'
    ? help(t(o.client_secret_set ? 'oauth.secretSet' : 'oauth.secretNotSet'), 'c-client_secret-state') : null;
  const removeSecret = h('input', { id: 'c-client_secret-remove', type: 'checkbox' });
  const wrap = {
    flow: simpleField('flow', 'oauth.flow', k.flow),
    tenant: simpleField('tenant', 'oauth.tenant', k.tenant, help(t('oauth.tenantHelp'))),
    urls: URL_FIELDS.map((f) => simpleField(f, `oauth.${f}`, k[f])),
  };
  const appHelp = help(t('oauth.appHelp'), 'c-flow-help');
  const sync = () => {
    const p = k.provider.value;
    if (p === 'google') k.flow.value = 'delegated';
    wrap.flow.hidden = p === 'google';
    appHelp.hidden = k.flow.value !== 'app';
    wrap.tenant.hidden = p !== 'microsoft';
    for (const f of wrap.urls) f.hidden = p !== 'other';
    const now = `${p}/${k.flow.value}`;
    k.scopes.placeholder = id && now === saved && o.scopes && !customScopes ? o.scopes
      : PRESET_SCOPES[now] || t('oauth.scopesOther');
    removeSecret.parentElement.hidden = !(id && o.client_secret_set !== false);
  };
  k.provider.addEventListener('change', sync);
  k.flow.addEventListener('change', sync);
  const redirect = `${location.origin}/oauth/callback`;
  const section = h('div', { id: 'oauth-fields' },
    h('div', { class: 'grid' },
      simpleField('provider', 'oauth.provider', k.provider), wrap.flow, wrap.tenant,
      simpleField('client_id', 'oauth.client_id', k.client_id),
      simpleField('client_secret', 'oauth.client_secret', k.client_secret, secretState,
        h('label', { class: 'check small' }, removeSecret, t('oauth.secretRemove')))),
    appHelp,
    simpleField('scopes', 'oauth.scopes', k.scopes, help(t('oauth.scopesHelp'))),
    h('div', { class: 'grid' }, ...wrap.urls),
    help(t('oauth.redirectHelp', { url: redirect }), 'c-redirect-uri'),
    h('details', { class: 'limits', id: 'oauth-advanced' }, h('summary', {}, t('oauth.advanced')),
      simpleField('refresh_token', 'oauth.refresh_token', k.refresh_token, help(t('oauth.refreshHelp'))),
      h('p', { class: 'field-error', id: 'err-secret', hidden: true })));
  const body = () => {
    const p = k.provider.value;
    const b = { provider: p, flow: p === 'google' ? 'delegated' : k.flow.value,
      tenant: p === 'microsoft' ? k.tenant.value.trim() : '', client_id: k.client_id.value.trim(),
      scopes: k.scopes.value.trim().replace(/\s+/g, ' ') };
    // the endpoints are typed for "other" only; a provider's own otherwise
    // (those typed before, say from the command line, are kept unless the
    // form moves the credential off "other")
    if (p === 'other') for (const f of URL_FIELDS) b[f] = k[f].value.trim();
    else if (!id || o.provider === 'other') for (const f of URL_FIELDS) b[f] = '';
    if (removeSecret.checked) b.client_secret = '';
    else if (k.client_secret.value) b.client_secret = k.client_secret.value;
    if (k.refresh_token.value) b.refresh_token = k.refresh_token.value.trim();
    return b;
  };
  const clearSecrets = () => { k.client_secret.value = ''; k.refresh_token.value = ''; };
  return { section, sync, body, clearSecrets };
}

// The form in a dialog (the account form's "Add a credential"): saving
// gives the new credential to onSaved instead of leaving the page.
export function credentialDialogForm(main, onSaved, onCancel) {
  return credentialForm(main, null, null, { onSaved, onCancel });
}

export async function credentialForm(main, id, params, inDialog = null) {
  const c = id ? await api('GET', `/credentials/${id}`) : { kind: 'password' };
  const name = h('input', { id: 'c-name', value: c.name || '', required: true });
  const username = h('input', { id: 'c-username', value: c.username || '', required: true, autocomplete: 'off' });
  const kind = select('c-kind', [['password', 'credential.kind.password'], ['oauth2', 'credential.kind.oauth2']], c.kind);
  kind.disabled = !!id; // fixed once saved
  const password = h('input', { id: 'c-password', type: 'password', autocomplete: 'new-password',
    placeholder: id ? t('credential.passwordKeep') : '' });
  const passwordField = simpleField('password', 'credential.password', password);
  const oauth = oauthFields(c, id);
  const usernameHelp = help(t('oauth.usernameHelp'), 'c-username-help');
  const sync = () => {
    const o2 = kind.value === 'oauth2';
    passwordField.hidden = o2;
    oauth.section.hidden = !o2;
    usernameHelp.hidden = !o2;
    oauth.sync();
  };
  kind.addEventListener('change', sync);
  const form = h('form', { class: 'card', id: 'credential-form', novalidate: true },
    h('h1', {}, id ? t('credential.edit', { name: c.name }) : t('credential.new')),
    simpleField('kind', 'credential.kind', kind, id && help(t('credential.kindFixed'))),
    simpleField('name', 'col.name', name), simpleField('username', 'credential.username', username, usernameHelp),
    passwordField, oauth.section,
    h('p', { class: 'error', id: 'form-error', role: 'alert', hidden: true }),
    h('div', { class: 'buttons' }, isAdmin() && h('button', { type: 'submit', id: 'save' }, t('common.save')),
      inDialog ? h('button', { type: 'button', class: 'secondary', id: 'cancel', onclick: inDialog.onCancel },
        t('common.cancel')) : h('a', { href: '#/credentials', class: 'button secondary' }, t('common.cancel')),
      id && isAdmin() && deleteButton(main, `/credentials/${id}`, c.name, '#/credentials')),
    !isAdmin() && help(t('viewer.readOnly')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { name: name.value.trim(), username: username.value.trim() };
    if (kind.value === 'oauth2') Object.assign(body, { kind: 'oauth2' }, oauth.body());
    else if (password.value || !id) body.password = password.value;
    try {
      const saved = await api(id ? 'PATCH' : 'POST', id ? `/credentials/${id}` : '/credentials', body);
      password.value = '';
      oauth.clearSecrets();
      toast(t('common.saved'), 'ok');
      if (inDialog) return inDialog.onSaved(saved);
      // an OAuth 2.0 credential's page is where one signs in
      go(kind.value === 'oauth2' ? `#/credentials/${saved.id}` : '#/credentials');
    } catch (e) { formErrors(main, e); }
  });
  main.append(form);
  sync();
  if (!isAdmin()) for (const el of form.querySelectorAll('input, select')) el.disabled = true;
  if (id && c.kind === 'oauth2') main.append(oauthCard(c, params));
}
