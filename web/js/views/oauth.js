// OAuth 2.0 credentials: the token's state, signing in through the
// provider's pages (authorization code) or with a code (device flow), the
// token check, and the banner for credentials that need a new sign-in.
import { api } from '../api.js';
import { go, isAdmin } from '../app.js';
import { clear, formatTime, h, toast } from '../dom.js';
import { language, t } from '../i18n.js';

const SIGN_IN_AGAIN = ['consent_needed', 'not_signed_in'];
const DEVICE_POLL_MS = 2000;

export function kindLabel(c) {
  if (c.kind !== 'oauth2') return t('credential.kind.password');
  return `${t('credential.kind.oauth2')} (${t(`oauth.provider.${c.oauth.provider}`)})`;
}

// The state in the reader's language; a state this console does not know
// yet in the server's words.
export function tokenStateText(token) {
  const key = `token.state.${token.state}`;
  const text = t(key);
  return text === key ? token.text || token.state : text;
}

function delegated(c) {
  return c.kind === 'oauth2' && c.oauth.flow !== 'app';
}

function signInLabel(c) {
  return t({ microsoft: 'oauth.signInMicrosoft', google: 'oauth.signInGoogle' }[c.oauth.provider] || 'oauth.signIn');
}

// Authorization code: mailroom makes the provider's URL (state bound to this
// session, PKCE) and the provider sends the browser back to /oauth/callback,
// which returns here with ?signed_in=1 or ?sign_in_error=...
export async function startBrowserSignIn(c, onError) {
  try {
    const r = await api('POST', `/credentials/${c.id}/authorize`, {});
    window.location = r.url;
    return true;
  } catch (e) {
    if (onError) onError(e);
    else toast(t('oauth.signInFailed', { error: e.message }), 'error');
    return false;
  }
}

// The list's "Sign in" / "Sign in again": through the browser when the
// provider has an authorization endpoint, else on the credential's page
// (the code).
export function signInAction(c) {
  if (!isAdmin() || !delegated(c) || !c.token || !SIGN_IN_AGAIN.includes(c.token.state)) return null;
  return h('button', { type: 'button', class: 'sign-in', onclick: async () => {
    if (!c.oauth.authorize_url || !(await startBrowserSignIn(c))) go(`#/credentials/${c.id}`);
  } }, t(c.token.state === 'consent_needed' ? 'oauth.signInAgain' : 'oauth.signInFirst'));
}

// A sign-in the provider drops after a while (Microsoft: 90 days unused;
// Google: 7 days for an app in testing): when, why, and a word within
// two weeks of it, as the daemon's log warns.
const LAPSE_WARN_MS = 14 * 86400 * 1000;

function lapseRow(c, row) {
  const key = `oauth.lapse.${c.oauth.provider}`;
  const why = t(key) === key ? c.token.lapses_why : t(key);
  const soon = new Date(c.token.lapses_at) - Date.now() < LAPSE_WARN_MS;
  return row('oauth.lapsesAt', [formatTime(c.token.lapses_at), ' (', why, ')', soon ? `. ${t('oauth.lapseSoon')}` : ''],
    { id: 'token-lapses', class: soon ? 'lapse soon' : 'lapse' });
}

function tokenTable(c) {
  const tk = c.token;
  const row = (key, value, attrs = {}) => h('tr', {}, h('th', {}, t(key)), h('td', attrs, value));
  return h('table', { class: 'headers', id: 'token-state' }, h('tbody', {},
    row('oauth.state', tokenStateText(tk), { class: `token-state ${tk.state}`, id: 'token-state-text',
      dataset: { state: tk.state } }),
    tk.error && row('oauth.providerSaid', tk.error, { id: 'token-error' }),
    row('oauth.expiresAt', tk.expires_at ? formatTime(tk.expires_at) : '—', { id: 'token-expires' }),
    row('oauth.refreshedAt', tk.refreshed_at ? formatTime(tk.refreshed_at) : '—', { id: 'token-refreshed' }),
    row('oauth.signedInAt', tk.signed_in_at ? formatTime(tk.signed_in_at) : '—', { id: 'token-signed-in' }),
    tk.lapses_at && lapseRow(c, row),
    row('oauth.scopesAsked', c.oauth.scopes || '—', { class: 'small' })));
}

// After the provider sent the browser back: what happened, once (a reload
// does not say it again).
export function signInResult(params) {
  if (!params) return null;
  const error = params.get('sign_in_error');
  if (!params.has('signed_in') && error === null) return null;
  history.replaceState(null, '', location.hash.split('?')[0]);
  return error === null
    ? h('p', { class: 'ok', id: 'sign-in-result', role: 'status' }, t('oauth.signedIn'))
    : h('p', { class: 'error', id: 'sign-in-result', role: 'alert' }, t('oauth.signInFailed', { error }));
}

// Device authorization grant: the code to type at the provider, the link,
// and the daemon's own polling of the provider shown live.
function deviceFlow(c, out, button, onSignedIn) {
  let timer = null;
  const stop = () => { clearTimeout(timer); timer = null; };
  const start = async () => {
    stop();
    button.disabled = true;
    clear(out).append(h('p', { class: 'loading', role: 'status' }, t('app.loading')));
    let d;
    try {
      d = await api('POST', `/credentials/${c.id}/device`, {});
    } catch (e) {
      clear(out).append(h('p', { class: 'error', id: 'device-status', role: 'alert' },
        t('oauth.deviceFailed', { error: e.message })));
      button.disabled = false;
      return;
    }
    const expires = new Date(Date.now() + (d.expires_in || 0) * 1000);
    const status = h('p', { id: 'device-status', role: 'status', class: 'loading', dataset: { status: 'pending' } },
      t('device.pending'));
    const link = (url, id, key) => h('a', { href: url, id, target: '_blank', rel: 'noopener noreferrer' }, t(key));
    clear(out).append(
      h('p', {}, t('device.instructions')),
      h('p', { class: 'device-code', id: 'device-code', 'aria-label': t('device.code') }, d.user_code),
      h('p', {}, link(d.verification_uri, 'device-link', 'device.open'), ' ',
        h('span', { class: 'small help' }, d.verification_uri)),
      d.verification_uri_complete && h('p', {},
        link(d.verification_uri_complete, 'device-link-complete', 'device.openComplete')),
      d.expires_in && h('p', { class: 'help', id: 'device-expires' },
        t('device.expires', { at: expires.toLocaleTimeString(language()) })),
      status);
    let misses = 0; // "none" right after the start: the daemon may not have begun
    const poll = async () => {
      timer = null;
      if (!out.isConnected) return; // the page changed: stop asking
      let s;
      try {
        s = await api('GET', `/credentials/${c.id}/device`);
      } catch (e) {
        s = { status: 'error', message: e.message };
      }
      if (!out.isConnected) return;
      if (s.status === 'none' && ++misses <= 3) s = { status: 'pending' };
      status.dataset.status = s.status;
      status.className = { pending: 'loading', signed_in: 'ok' }[s.status] || 'error';
      status.textContent = t(`device.${s.status}`, { message: s.message || '' });
      if (s.status === 'pending') { timer = setTimeout(poll, DEVICE_POLL_MS); return; }
      button.disabled = false;
      if (s.status === 'signed_in') { out.querySelector('#device-code')?.classList.add('done'); onSignedIn(); }
    };
    timer = setTimeout(poll, DEVICE_POLL_MS);
  };
  return start;
}

// Check token: an access token as a check would get it, or a new one from
// the provider (refresh); where from, until when, its scopes (the
// provider's answer says them; a stored token's are not kept). Never the
// token itself.
async function checkToken(c, out, buttons, refresh, onDone) {
  for (const b of buttons) b.disabled = true;
  clear(out).append(h('p', { class: 'loading', role: 'status' }, t('oauth.checking')));
  try {
    const r = await api('POST', `/credentials/${c.id}/token`, { refresh });
    clear(out).append(h('p', { class: 'ok', id: 'token-check', role: 'status', dataset: { source: r.source } },
      t(r.source === 'provider' ? 'oauth.checkNew' : 'oauth.checkStored', { at: formatTime(r.expires_at) })),
    r.scope && h('p', { class: 'help', id: 'token-check-scope' }, t('oauth.checkScope', { scope: r.scope })));
  } catch (e) {
    clear(out).append(h('p', { class: 'error', id: 'token-check', role: 'alert', dataset: { code: e.code || '' } },
      t('oauth.checkFailed', { error: e.message })));
  }
  for (const b of buttons) b.disabled = false;
  onDone();
}

// The credential page's card: state, sign-in, token check.
export function oauthCard(c, params) {
  const card = h('section', { class: 'card', id: 'oauth-sign-in' }, h('h2', {}, t('oauth.cardTitle')));
  const state = h('div', {}, tokenTable(c));
  const refresh = async () => {
    try {
      const fresh = await api('GET', `/credentials/${c.id}`);
      Object.assign(c, fresh);
      clear(state).append(tokenTable(c));
    } catch { /* the page shows what it had */ }
    refreshSignInBanner();
  };
  const deviceOut = h('div', { id: 'device-flow', class: 'device' });
  const checkOut = h('div', { id: 'token-check-result' });
  const buttons = h('div', { class: 'buttons' });
  const notes = [];
  if (isAdmin() && delegated(c)) {
    const browser = h('button', { type: 'button', id: 'sign-in-browser', disabled: !c.oauth.authorize_url },
      signInLabel(c));
    browser.addEventListener('click', async () => {
      browser.disabled = true;
      if (!(await startBrowserSignIn(c, (e) => {
        clear(checkOut).append(h('p', { class: 'error', role: 'alert' }, t('oauth.signInFailed', { error: e.message })));
      }))) browser.disabled = false;
    });
    buttons.append(browser);
    if (!c.oauth.authorize_url) notes.push(t('oauth.noAuthorizeUrl'));
    if (c.oauth.provider !== 'google') { // Google's device flow refuses the Gmail scope
      const device = h('button', { type: 'button', class: 'secondary', id: 'sign-in-device',
        disabled: !c.oauth.device_url }, t('oauth.signInDevice'));
      device.addEventListener('click', deviceFlow(c, deviceOut, device, refresh));
      buttons.append(device);
      if (!c.oauth.device_url) notes.push(t('oauth.noDeviceUrl'));
    }
  } else if (c.oauth.flow === 'app') notes.push(t('oauth.appHelp'));
  if (isAdmin()) {
    const check = h('button', { type: 'button', class: 'secondary', id: 'check-token' }, t('oauth.check'));
    const renew = h('button', { type: 'button', class: 'secondary', id: 'refresh-token' }, t('oauth.refresh'));
    check.addEventListener('click', () => checkToken(c, checkOut, [check, renew], false, refresh));
    renew.addEventListener('click', () => checkToken(c, checkOut, [check, renew], true, refresh));
    buttons.append(check, renew);
  }
  card.append(signInResult(params) || '', state, buttons, ...notes.map((n) => h('p', { class: 'help' }, n)),
    deviceOut, checkOut);
  return card;
}

// The banner: every OAuth 2.0 credential whose sign-in was revoked or has
// expired, each a link to its page. Refreshed as pages change.
let bannerCredentials = [];

function drawSignInBanner() {
  let banner = document.getElementById('sign-in-banner');
  if (!bannerCredentials.length) { banner?.remove(); return; }
  if (!banner) {
    banner = h('div', { id: 'sign-in-banner', class: 'notice', role: 'alert' });
    document.getElementById('main').before(banner);
  }
  clear(banner).append(...bannerCredentials.map((c) => {
    const [before, after] = t('banner.consentNeeded').split('{name}');
    return h('p', { dataset: { id: c.id } }, before,
      h('a', { href: `#/credentials/${c.id}` }, c.name), after ?? '');
  }));
}

let bannerAsked = 0; // only the newest answer counts

export async function refreshSignInBanner() {
  const asked = ++bannerAsked;
  let list = [];
  try {
    const data = await api('GET', '/credentials');
    list = data.credentials.filter((c) => c.kind === 'oauth2' && c.token && c.token.state === 'consent_needed');
  } catch { /* no banner rather than a stale one */ }
  if (asked !== bannerAsked) return;
  bannerCredentials = list;
  drawSignInBanner();
}

export function hideSignInBanner() {
  bannerAsked++;
  bannerCredentials = [];
  drawSignInBanner();
}

window.addEventListener('mailroom-language', drawSignInBanner);
