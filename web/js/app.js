// The console: a hash router over views, the navigation and the user menu.
import { api, setCsrf, whenUnauthorized } from './api.js';
import { clear, h } from './dom.js';
import { language, languages, setLanguage, t } from './i18n.js';
import { liveIndicator, livePage, liveStart, liveStop } from './live.js';
import { accountForm } from './views/account-form.js';
import { auditPage } from './views/audit.js';
import { connectorForm, connectorsPage } from './views/connectors.js';
import { credentialForm, credentialsPage } from './views/credentials.js';
import { dashboardPage } from './views/dashboard.js';
import { inboxPage, messagePage } from './views/inbox.js';
import { loginPage } from './views/login.js';
import { hideSignInBanner, refreshSignInBanner } from './views/oauth.js';
import { printPage, reportPage } from './views/report.js';
import { scheduleForm, schedulesPage } from './views/schedules.js';
import { settingsPage } from './views/settings.js';
import { deliveriesPage } from './views/deliveries.js';
import { discoverPage } from './views/discover.js';
import { targetForm, targetsCard } from './views/targets.js';
import { usersPage } from './views/users.js';

export const session = { user: null };

const routes = [
  [/^#\/dashboard$/, () => dashboardPage],
  [/^#\/accounts$/, () => reportPage],
  [/^#\/accounts\/new$/, () => (el, q) => accountForm(el, null, q)],
  [/^#\/accounts\/discover$/, () => discoverPage],
  [/^#\/accounts\/print$/, () => printPage],
  [/^#\/accounts\/(\d+)$/, (m) => (el, q) => accountPage(el, Number(m[1]), q)],
  [/^#\/accounts\/(\d+)\/targets\/new$/, (m) => (el) => targetForm(el, Number(m[1]), null)],
  [/^#\/accounts\/(\d+)\/targets\/(\d+)$/, (m) => (el) => targetForm(el, Number(m[1]), Number(m[2]))],
  [/^#\/deliveries$/, () => deliveriesPage],
  [/^#\/inbox$/, () => inboxPage],
  [/^#\/messages\/(\d+)$/, (m) => (el) => messagePage(el, Number(m[1]))],
  [/^#\/credentials$/, () => credentialsPage],
  [/^#\/credentials\/new$/, () => (el) => credentialForm(el, null)],
  [/^#\/credentials\/(\d+)$/, (m) => (el, q) => credentialForm(el, Number(m[1]), q)],
  [/^#\/connectors$/, () => connectorsPage],
  [/^#\/connectors\/new$/, () => (el) => connectorForm(el, null)],
  [/^#\/connectors\/(\d+)$/, (m) => (el) => connectorForm(el, Number(m[1]))],
  [/^#\/settings$/, () => settingsPage],
  [/^#\/schedules$/, () => schedulesPage],
  [/^#\/schedules\/new$/, () => (el, q) => scheduleForm(el, null, q)],
  [/^#\/schedules\/(\d+)$/, (m) => (el) => scheduleForm(el, Number(m[1]))],
  [/^#\/audit$/, () => auditPage],
  [/^#\/users$/, () => usersPage],
];

// An account's page: its form and fetch history (account-form.js), and
// between them its delivery targets.
async function accountPage(el, id, q) {
  await accountForm(el, id, q);
  el.insertBefore(targetsCard(id), el.querySelector('#history'));
}

export function isAdmin() {
  return session.user && session.user.role === 'admin';
}

export function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

// The entries everyone sees, then the administrators' own.
function navEntries() {
  return [['#/dashboard', 'nav.dashboard'], ['#/accounts', 'nav.accounts'], ['#/inbox', 'nav.inbox'], ['#/deliveries', 'nav.deliveries'],
    ['#/credentials', 'nav.credentials'], ['#/connectors', 'nav.connectors'], ['#/schedules', 'nav.schedules'],
    ['#/settings', 'nav.settings'], ...(isAdmin() ? [['#/audit', 'nav.audit'], ['#/users', 'nav.users']] : [])];
}

// One line at 1366 px in either language (style.css, "users" block).
function navigation() {
  const nav = clear(document.getElementById('nav'));
  const here = location.hash.split('?')[0];
  for (const [hash, key] of navEntries()) {
    const active = here.startsWith(hash);
    nav.append(h('a', { href: hash, class: active ? 'active' : '', 'aria-current': active ? 'page' : null }, t(key)));
  }
  const user = clear(document.getElementById('user'));
  const select = h('select', { 'aria-label': t('user.language'), id: 'language' },
    languages.map(([code, name]) => h('option', { value: code, selected: code === language() }, name)));
  select.addEventListener('change', () => { setLanguage(select.value); render(); });
  user.append(
    liveIndicator(),
    h('span', { class: 'who' }, `${session.user.name} (${session.user.role})`),
    select,
    h('button', { type: 'button', id: 'logout', onclick: logout }, t('user.logout')));
}

async function logout() {
  try { await api('DELETE', '/session'); } catch { /* gone already */ }
  session.user = null;
  setCsrf(null);
  liveStop();
  go('#/login');
}

async function ensureSession() {
  if (session.user) return true;
  try {
    const s = await api('GET', '/session');
    session.user = s.user;
    setCsrf(s.csrf_token);
    return true;
  } catch {
    return false;
  }
}

// Plain HTTP to anything but this machine: passwords and the session cookie
// cross the network in clear. Every page says so, the login page first.
function insecureBanner() {
  const local = ['127.0.0.1', 'localhost', '[::1]'].includes(location.hostname);
  let banner = document.getElementById('insecure');
  if (location.protocol !== 'http:' || local) return;
  if (!banner) {
    banner = h('p', { id: 'insecure', class: 'insecure', role: 'alert' });
    document.body.prepend(banner);
  }
  banner.textContent = t('app.insecure');
}

// Each render builds its page apart and shows it only if no newer render
// began meanwhile: a page that loads slowly never lands on top of (or
// under) the one navigated to after it.
let renders = 0;

export async function render() {
  const current = ++renders;
  livePage(); // the page shown until now stops listening
  insecureBanner();
  const main = document.getElementById('main');
  const top = document.getElementById('top');
  document.documentElement.lang = language();
  const [path, qs] = (location.hash || '#/dashboard').split('?');
  const params = new URLSearchParams(qs || '');
  if (path === '#/login' || !(await ensureSession())) {
    if (current !== renders) return;
    top.hidden = true;
    liveStop();
    hideSignInBanner();
    loginPage(clear(main), async (s) => {
      session.user = s.user;
      setCsrf(s.csrf_token);
      go('#/dashboard');
    });
    return;
  }
  if (current !== renders) return;
  top.hidden = false;
  liveStart();
  navigation();
  refreshSignInBanner(); // OAuth 2.0 credentials that need a new sign-in
  for (const [re, view] of routes) {
    const m = path.match(re);
    if (m) {
      clear(main).append(h('p', { class: 'loading' }, t('app.loading')));
      const page = h('div', { class: 'page' });
      try {
        await view(m)(page, params);
      } catch (e) {
        clear(page).append(h('p', { class: 'error' }, e.message));
      }
      if (current === renders) main.replaceChildren(page);
      return;
    }
  }
  go('#/dashboard');
}

whenUnauthorized(() => {
  session.user = null;
  liveStop();
  if (location.hash !== '#/login') go('#/login');
});
window.addEventListener('hashchange', render);
window.addEventListener('mailroom-language', insecureBanner);
render();
