// OAuth 2.0 credentials in the console, in Debian's Chromium: the form, the
// sign-in through the provider's own login and consent pages (the suite's
// oidc-provider, its devInteractions pages) and back to mailroom's
// /oauth/callback, the sign-in with a code (the device grant, the user at
// the provider in a second page), the token check, the banner for a
// sign-in that lapsed, and an account on the credential fetched from a
// Dovecot that checks the tokens (passdb oauth2). See run.py.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { apiCall } from './helpers.mjs';

const fx = JSON.parse(readFileSync(process.env.MR_FIXTURE, 'utf8'));
const ox = fx.oauth;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const MS_DELEGATED = 'https://outlook.office.com/IMAP.AccessAsUser.All ' +
  'https://outlook.office.com/POP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access';
const REPLAY_ERROR = /not started from this browser, was used already or has expired/;
let browser, context, page;
const pageErrors = [];
const callbacks = []; // the provider's redirects to /oauth/callback, as the browser followed them
const ids = {}; // credential name -> id

// The person at the provider's pages: the login form (any password), then
// consent, until the browser leaves the provider (back to mailroom) or the
// device flow's last page says so.
async function playUser(p, login) {
  const submit = p.locator('button[type="submit"]:visible');
  const success = p.getByText(/Sign-in Success/i);
  for (let step = 0; step < 10; step++) {
    if (!p.url().startsWith(ox.issuer)) return;
    // the next page: a form to submit, or the device flow's last word (the
    // device page first submits itself)
    await p.locator('input[name="login"]').or(submit).or(success).first().waitFor({ timeout: 15000 });
    if (await success.count()) return;
    if (await p.locator('input[name="login"]').count()) {
      await p.fill('input[name="login"]', login);
      await p.fill('input[name="password"]', 'any-password');
    }
    await Promise.all([p.waitForNavigation({ timeout: 15000 }), submit.first().click()]);
  }
  throw new Error(`still at the provider: ${p.url()}`);
}

// A page of the console by its hash, once it has replaced the page before
// it (a hash change renders asynchronously: the old page, which may have
// the same elements, is still there for a moment).
async function show(p, hash) {
  const here = await p.evaluate(() => {
    document.querySelector('#main > .page')?.setAttribute('data-stale', '');
    return location.hash;
  });
  if (here === hash) await p.evaluate(() => window.dispatchEvent(new HashChangeEvent('hashchange'))); // afresh
  else await p.goto(`${ox.url}/${hash}`);
  await p.waitForSelector('#main > .page:not([data-stale])');
}

// Fills the OAuth 2.0 part of the credential form for provider "other".
async function fillOther(p, c) {
  await show(p, `#/credentials/new`);
  await p.selectOption('#c-kind', 'oauth2');
  await p.fill('#c-name', c.name);
  await p.fill('#c-username', c.username);
  await p.selectOption('#c-provider', 'other');
  await p.fill('#c-client_id', c.client_id);
  if (c.client_secret) await p.fill('#c-client_secret', c.client_secret);
  await p.fill('#c-scopes', ox.scopes);
  await p.fill('#c-token_url', ox.token_endpoint);
  if (c.authorize) await p.fill('#c-authorize_url', ox.authorization_endpoint);
  if (c.device) await p.fill('#c-device_url', ox.device_endpoint);
  if (c.refresh_token) {
    await p.click('#oauth-advanced summary');
    await p.fill('#c-refresh_token', c.refresh_token);
  }
}

async function save(p, name) {
  await p.click('#save');
  await p.waitForSelector('#oauth-sign-in');
  ids[name] = Number(new URL(p.url()).hash.match(/credentials\/(\d+)/)[1]);
  return ids[name];
}

async function state(p) {
  return p.getAttribute('#token-state-text', 'data-state');
}

async function signInThroughBrowser(p, id, login, button = '#sign-in-browser') {
  await p.click(button);
  await p.waitForURL((u) => u.href.startsWith(ox.issuer));
  await playUser(p, login);
  await p.waitForURL((u) => u.href.startsWith(`${ox.url}/#/credentials/${id}`));
  await p.waitForSelector('#sign-in-result');
}

async function fetchOnReport(p, account) {
  await show(p, `#/accounts`);
  const row = p.locator('#report tbody tr', { hasText: account });
  await row.locator('details.row-menu > summary').click(); // the row's Actions menu
  await row.locator('button.fetch').click();
  const toast = p.locator('#toast', { hasText: `${account}:` });
  await toast.waitFor({ timeout: 30000 });
  return toast.textContent();
}

describe('OAuth 2.0 credentials in the console', () => {
  before(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
    context = await browser.newContext({ viewport: { width: 1300, height: 900 }, locale: 'en-US' });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('request', (r) => { if (r.url().startsWith(`${ox.url}/oauth/callback`)) callbacks.push(r.url()); });
    await page.goto(`${ox.url}/#/login`);
    await page.evaluate(() => localStorage.setItem('mailroom.lang', 'en'));
    await page.fill('#login-user', 'admin');
    await page.fill('#login-password', fx.admin_password);
    await page.click('#login-submit');
    await page.waitForSelector('#dashboard');
  });
  after(async () => { await browser?.close(); });

  it('shows each provider’s fields in the form, and the API’s errors next to them', async () => {
    await show(page, `#/credentials/new`);
    assert.equal(await page.inputValue('#c-kind'), 'password');
    assert.equal(await page.isVisible('#oauth-fields'), false);
    await page.selectOption('#c-kind', 'oauth2');
    assert.equal(await page.isVisible('#c-password'), false, 'no password for OAuth 2.0');
    // Microsoft: the flow and the tenant; its scopes by default; the endpoints its own
    assert.equal(await page.inputValue('#c-provider'), 'microsoft');
    assert.equal(await page.isVisible('#c-tenant'), true);
    assert.match(await page.textContent('[data-field="tenant"] .help'), /organizations.*consumers.*common/);
    assert.equal(await page.getAttribute('#c-scopes', 'placeholder'), MS_DELEGATED);
    assert.equal(await page.isVisible('#c-token_url'), false);
    await page.selectOption('#c-flow', 'app');
    assert.equal(await page.getAttribute('#c-scopes', 'placeholder'), 'https://outlook.office365.com/.default');
    assert.equal(await page.isVisible('#c-flow-help'), true);
    await page.selectOption('#c-provider', 'google');
    assert.equal(await page.isVisible('#c-tenant'), false);
    assert.equal(await page.isVisible('#c-flow'), false, 'Google: a user signs in, nothing else');
    assert.equal(await page.getAttribute('#c-scopes', 'placeholder'), 'https://mail.google.com/');
    await page.selectOption('#c-provider', 'other');
    for (const f of ['authorize_url', 'token_url', 'device_url']) assert.equal(await page.isVisible(`#c-${f}`), true, f);
    assert.match(await page.textContent('#c-redirect-uri'), new RegExp(`${ox.url}/oauth/callback`));
    await page.selectOption('#c-flow', 'delegated');
    // the API's refusals, each by its field
    await page.fill('#c-name', 'browser');
    await page.fill('#c-username', ox.users.code);
    await page.click('#save');
    await page.waitForSelector('#err-token_url:not([hidden])');
    assert.match(await page.textContent('#err-token_url'), /required for provider other/);
    assert.match(await page.textContent('#err-client_id'), /required/);
    await page.fill('#c-client_id', ox.web.client_id);
    await page.fill('#c-token_url', 'http://example.com/token');
    await page.click('#save');
    await page.waitForSelector('#err-token_url:not([hidden])');
    assert.match(await page.textContent('#err-token_url'), /must be an https:\/\/ URL/);
    assert.equal(await page.isVisible('#err-client_id'), false);
    await page.screenshot({ path: `${fx.shots}/oauth-form-errors.png`, fullPage: true });
  });

  it('adds an OAuth 2.0 credential; its page says it is not signed in yet', async () => {
    await fillOther(page, { name: 'browser', username: ox.users.code, client_id: ox.web.client_id,
      client_secret: ox.web.client_secret, authorize: true });
    await page.screenshot({ path: `${fx.shots}/oauth-form.png`, fullPage: true });
    const id = await save(page, 'browser');
    assert.equal(await state(page), 'not_signed_in');
    assert.equal(await page.textContent('#token-state-text'), 'not signed in yet');
    assert.equal(await page.textContent('#sign-in-browser'), 'Sign in');
    assert.equal(await page.isDisabled('#sign-in-device'), true, 'no device URL given');
    // saved as typed, the secret write-only
    assert.equal(await page.inputValue('#c-token_url'), ox.token_endpoint);
    assert.equal(await page.inputValue('#c-scopes'), ox.scopes);
    assert.equal(await page.inputValue('#c-client_secret'), '');
    assert.equal(await page.getAttribute('#c-client_secret', 'placeholder'), 'empty keeps the stored one');
    assert.equal(await page.isDisabled('#c-kind'), true, 'the kind is fixed once saved');
    assert.ok(!(await page.content()).includes(ox.web.client_secret), 'the client secret reached the page');
    await show(page, `#/credentials`);
    const row = page.locator(`#credentials tbody tr[data-id="${id}"]`);
    assert.equal(await row.locator('td.kind').textContent(), 'OAuth 2.0 (Other)');
    assert.equal(await row.locator('td.token-state').textContent(), 'not signed in yet');
    assert.equal(await row.locator('button.sign-in').textContent(), 'Sign in');
  });

  it('keeps a Microsoft credential’s tenant and default scopes; its sign-in goes to Microsoft', async () => {
    await show(page, `#/credentials/new`);
    await page.selectOption('#c-kind', 'oauth2');
    await page.fill('#c-name', 'm365');
    await page.fill('#c-username', 'support@contoso.example');
    await page.fill('#c-tenant', 'contoso.onmicrosoft.com');
    await page.fill('#c-client_id', '00000000-1111-2222-3333-444444444444');
    await page.click('#oauth-advanced summary');
    await page.fill('#c-refresh_token', 'a-refresh-token-from-elsewhere');
    const id = await save(page, 'm365');
    // imported: signed in now, and Microsoft drops it after 90 days unused
    assert.notEqual(await page.textContent('#token-signed-in'), '—');
    const lapse = await page.textContent('#token-lapses');
    assert.match(lapse, /Microsoft drops a refresh token unused for 90 days/);
    const days = (Date.parse(JSON.parse((await apiCall(page, 'GET', `/credentials/${id}`)).body).token.lapses_at) -
      Date.now()) / 86400000;
    assert.ok(days > 89 && days <= 90, String(days));
    assert.doesNotMatch(lapse, /Sign in again before then/);
    assert.ok(!(await page.content()).includes('a-refresh-token-from-elsewhere'), 'the refresh token reached the page');
    assert.equal(await page.inputValue('#c-tenant'), 'contoso.onmicrosoft.com');
    assert.equal(await page.inputValue('#c-scopes'), '', 'the default scopes stay the default');
    assert.equal(await page.getAttribute('#c-scopes', 'placeholder'), MS_DELEGATED);
    assert.equal(await page.textContent('#sign-in-browser'), 'Sign in with Microsoft');
    assert.equal(await page.isDisabled('#sign-in-device'), false);
    // where the button would send the browser (not followed: no Internet here)
    const r = await apiCall(page, 'POST', `/credentials/${id}/authorize`, {});
    assert.equal(r.status, 200, r.body);
    const url = new URL(JSON.parse(r.body).url);
    assert.equal(`${url.origin}${url.pathname}`,
      'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize');
    assert.equal(url.searchParams.get('redirect_uri'), `${ox.url}/oauth/callback`);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    // app-only access: no one signs in; Check token only
    await page.selectOption('#c-flow', 'app');
    assert.equal(await page.getAttribute('#c-scopes', 'placeholder'), 'https://outlook.office365.com/.default');
    await page.fill('#c-tenant', ''); // common: no tenant of one's own
    await page.click('#save');
    await page.waitForSelector('#err-tenant:not([hidden])');
    assert.match(await page.textContent('#err-tenant'), /app access needs your tenant/);
    assert.equal((await apiCall(page, 'DELETE', `/credentials/${id}`)).status, 200);
    // Google: no sign-in with a code (its device flow refuses the Gmail scope);
    // an app still in testing loses its sign-ins after 7 days, so: soon
    const g = await apiCall(page, 'POST', '/credentials', { name: 'gmail', username: 'alerts@example.com',
      kind: 'oauth2', provider: 'google', client_id: '1234.apps.googleusercontent.com',
      refresh_token: 'another-refresh-token-from-elsewhere' });
    assert.equal(g.status, 201, g.body);
    const gid = JSON.parse(g.body).id;
    await show(page, `#/credentials/${gid}`);
    assert.equal(await page.textContent('#sign-in-browser'), 'Sign in with Google');
    assert.equal(await page.$('#sign-in-device'), null);
    assert.match(await page.textContent('#token-lapses'), /in testing.*7 days\). Sign in again before then\./);
    assert.match(await page.getAttribute('#token-lapses', 'class'), /soon/);
    assert.equal((await apiCall(page, 'DELETE', `/credentials/${gid}`)).status, 200);
  });

  it('gets app-only tokens with the client secret: no sign-in, Check token asks the provider', async () => {
    await fillOther(page, { name: 'app', username: 'app-mailbox', client_id: ox.app.client_id,
      client_secret: ox.app.client_secret });
    await page.selectOption('#c-flow', 'app');
    await page.fill('#c-scopes', 'https://outlook.office365.com/.default');
    const id = await save(page, 'app');
    assert.equal(await page.$('#sign-in-browser'), null);
    assert.equal(await page.$('#sign-in-device'), null);
    assert.match(await page.textContent('#oauth-sign-in'), /App-only access/);
    await page.click('#check-token');
    await page.waitForSelector('#token-check.ok');
    assert.equal(await page.getAttribute('#token-check', 'data-source'), 'provider');
    assert.match(await page.textContent('#token-check-scope'), /outlook\.office365\.com\/\.default/);
    await page.waitForFunction(() => document.querySelector('#token-state-text')?.dataset.state === 'ok');
    assert.ok(!(await page.content()).includes(ox.app.client_secret), 'the client secret reached the page');
    assert.equal((await apiCall(page, 'DELETE', `/credentials/${id}`)).status, 200);
  });

  it('signs in at the provider’s login and consent pages and comes back signed in', async () => {
    const id = ids.browser;
    await show(page, `#/credentials/${id}`);
    await signInThroughBrowser(page, id, ox.users.code);
    assert.match(await page.textContent('#sign-in-result'), /^Signed in/);
    assert.equal(await state(page), 'ok');
    assert.notEqual(await page.textContent('#token-expires'), '—');
    assert.equal(new URL(page.url()).hash, `#/credentials/${id}`, 'the result is said once');
    assert.equal(callbacks.length, 1);
    assert.match(callbacks[0], /[?&]code=.*[&]state=|[?&]state=.*[&]code=/);
    await page.screenshot({ path: `${fx.shots}/oauth-signed-in.png`, fullPage: true });
    await page.click('#check-token');
    await page.waitForSelector('#token-check.ok');
    assert.equal(await page.getAttribute('#token-check', 'data-source'), 'stored');
    assert.match(await page.textContent('#token-check'), /stored access token, good until/);
    await page.click('#refresh-token'); // a new one from the provider, with its scopes
    await page.waitForSelector('#token-check[data-source="provider"]');
    assert.match(await page.textContent('#token-check'), /new access token from the provider, good until/);
    assert.match(await page.textContent('#token-check-scope'), /IMAP\.AccessAsUser\.All/);
    await page.screenshot({ path: `${fx.shots}/oauth-token-check.png`, fullPage: true });
    await show(page, `#/credentials`);
    const row = page.locator(`#credentials tbody tr[data-id="${id}"]`);
    assert.equal(await row.locator('td.token-state').textContent(), 'ok');
    assert.equal(await row.locator('button.sign-in').count(), 0);
  });

  it('adds an account on it: Test connection shows the token step, Fetch now brings the message in', async () => {
    await show(page, `#/accounts/new`);
    await page.fill('#a-name', 'OAuth IMAP');
    await page.selectOption('#a-protocol', 'imap');
    await page.fill('#a-address', '127.0.0.1');
    await page.fill('#a-port', String(ox.ports.imaps));
    await page.selectOption('#a-credential', { label: `browser (${ox.users.code})` });
    await page.check('#a-secure-yes');
    await page.check('#a-security-tls');
    await page.check('#a-skip_certificate-yes');
    await page.check('#a-automatic_check-no');
    // the mechanisms a token logs in with, not a password's
    const shown = await page.$$eval('#a-auth option', (os) => os.filter((o) => !o.hidden).map((o) => o.value));
    assert.deepEqual(shown, ['auto', 'OAUTHBEARER', 'XOAUTH2']);
    await page.selectOption('#a-auth', 'XOAUTH2');
    await page.click('#test-connection');
    await page.waitForSelector('#test-result[data-done="yes"]');
    const steps = await page.$$eval('#test-result li.step', (lis) => lis.map((li) => ({
      step: li.dataset.step, result: li.dataset.result, detail: li.querySelector('.detail').textContent })));
    for (const s of steps) assert.notEqual(s.result, 'failed', `${s.step}: ${s.detail}`);
    const token = steps.find((s) => s.step === 'token');
    assert.ok(token, steps.map((s) => s.step).join(' '));
    assert.match(token.detail, /access token/);
    assert.ok(steps.some((s) => s.step === 'authentication' && /XOAUTH2 accepted/.test(s.detail)),
      JSON.stringify(steps));
    await page.screenshot({ path: `${fx.shots}/oauth-account-test.png`, fullPage: true });
    await page.click('#save');
    await page.waitForSelector('#report tbody tr >> text=OAuth IMAP');
    assert.match(await fetchOnReport(page, 'OAuth IMAP'), /OAuth IMAP: 1 new messages/);
    await show(page, `#/inbox`);
    await page.waitForSelector(`#inbox a.subject >> text=${ox.users.code_subject}`);
  });

  it('refuses a replayed or forged callback, and says why', async () => {
    await page.goto(callbacks[0]); // used once already
    await page.waitForURL(/#\/credentials/);
    await page.waitForSelector('#sign-in-result.error');
    assert.match(await page.textContent('#sign-in-result'), REPLAY_ERROR);
    assert.match(await page.textContent('#sign-in-result'), /^Sign-in failed: /);
    await page.screenshot({ path: `${fx.shots}/oauth-callback-replayed.png` });
    await page.goto(`${ox.url}/oauth/callback?code=forged&state=${'A'.repeat(43)}`);
    await page.waitForSelector('#sign-in-result.error');
    assert.match(await page.textContent('#sign-in-result'), REPLAY_ERROR);
    // the credential is still signed in
    await show(page, `#/credentials/${ids.browser}`);
    assert.equal(await state(page), 'ok');
  });

  it('signs in with a code: the code, the link, and the status turning to signed in', async () => {
    await fillOther(page, { name: 'device', username: ox.users.device, client_id: ox.public.client_id, device: true });
    const id = await save(page, 'device');
    assert.equal(await page.isDisabled('#sign-in-browser'), true, 'no authorization URL given');
    assert.match(await page.textContent('#oauth-sign-in'), /give the provider’s authorization URL/);
    await page.click('#sign-in-device');
    await page.waitForSelector('#device-code');
    const code = await page.textContent('#device-code');
    assert.match(code, /^[A-Z]{4}-[A-Z]{4}$/);
    assert.equal(await page.getAttribute('#device-link', 'href'), `${ox.issuer}/device`);
    const complete = await page.getAttribute('#device-link-complete', 'href');
    assert.ok(complete.includes(`user_code=${code}`), complete);
    assert.equal(await page.getAttribute('#device-link', 'target'), '_blank');
    assert.equal(await page.getAttribute('#device-status', 'data-status'), 'pending');
    await page.waitForTimeout(2500); // one poll: still pending
    assert.equal(await page.getAttribute('#device-status', 'data-status'), 'pending');
    assert.match(await page.textContent('#device-status'), /Waiting for you to sign in/);
    await page.screenshot({ path: `${fx.shots}/oauth-device-code.png`, fullPage: true });
    // the person, at the provider on a device of their own (not signed in
    // there as the first test's user)
    const elsewhere = await browser.newContext();
    const user = await elsewhere.newPage();
    await user.goto(complete);
    await playUser(user, ox.users.device);
    assert.match(await user.textContent('body'), /Sign-in Success/i);
    await elsewhere.close();
    await page.waitForSelector('#device-status[data-status="signed_in"]', { timeout: 20000 });
    assert.equal(await page.textContent('#device-status'), 'Signed in.');
    await page.waitForFunction(() => document.querySelector('#token-state-text')?.dataset.state === 'ok');
    await page.screenshot({ path: `${fx.shots}/oauth-device-signed-in.png`, fullPage: true });
    // the token is good at the mail server
    const r = await apiCall(page, 'POST', '/accounts', { name: 'OAuth device', protocol: 'imap',
      address: '127.0.0.1', port: ox.ports.imap, security: 'none', credential: id, automatic_check: false });
    assert.equal(r.status, 201, r.body);
    assert.match(await fetchOnReport(page, 'OAuth device'), /OAuth device: 1 new messages/);
  });

  it('says when a sign-in lapsed: the state, a banner, and Sign in again', async () => {
    // an imported refresh token the provider does not know: invalid_grant
    await fillOther(page, { name: 'lapsed', username: ox.users.code, client_id: ox.web.client_id,
      client_secret: ox.web.client_secret, authorize: true, refresh_token: 'not-a-refresh-token-of-this-provider' });
    const id = await save(page, 'lapsed');
    assert.equal(await page.$('#sign-in-banner'), null);
    await page.click('#check-token');
    await page.waitForSelector('#token-check.error');
    assert.equal(await page.getAttribute('#token-check', 'data-code'), 'token_refused');
    assert.match(await page.textContent('#token-check'), /invalid_grant/);
    await page.waitForFunction(() => document.querySelector('#token-state-text')?.dataset.state === 'consent_needed');
    assert.equal(await page.textContent('#token-state-text'), 'consent needed: sign in again');
    await page.waitForSelector('#sign-in-banner');
    assert.equal(await page.textContent('#sign-in-banner'), 'Credential lapsed needs you to sign in again.');
    // an account on it says so in the report, linking to the credential
    const acct = JSON.parse((await apiCall(page, 'POST', '/accounts', { name: 'OAuth lapsed', protocol: 'imap',
      address: '127.0.0.1', port: ox.ports.imap, security: 'none', credential: id,
      automatic_check: false })).body);
    await show(page, `#/accounts`); // on every page
    await page.waitForSelector('#sign-in-banner');
    const warning = page.locator(`#report tbody tr[data-id="${acct.id}"] .token-warning a`);
    assert.equal(await warning.textContent(), 'consent needed: sign in again');
    assert.equal(await warning.getAttribute('href'), `#/credentials/${id}`);
    await page.screenshot({ path: `${fx.shots}/oauth-banner.png` });
    await page.click('#sign-in-banner a');
    await page.waitForURL(new RegExp(`#/credentials/${id}$`));
    await show(page, `#/credentials`);
    const row = page.locator(`#credentials tbody tr[data-id="${id}"]`);
    assert.equal(await row.locator('td.token-state').textContent(), 'consent needed: sign in again');
    await page.screenshot({ path: `${fx.shots}/oauth-credentials.png` });
    // Sign in again, straight from the list to the provider and back
    await signInThroughBrowser(page, id, ox.users.code, `#credentials tbody tr[data-id="${id}"] button.sign-in`);
    assert.equal(await state(page), 'ok');
    await page.waitForSelector('#sign-in-banner', { state: 'detached' });
  });

  it('speaks Portuguese: the form, the code, the signed-in state, the banner', async () => {
    await show(page, `#/credentials`);
    await page.selectOption('#language', 'pt-BR');
    await page.waitForSelector('h1 >> text=Credenciais');
    const headers = await page.$$eval('#credentials th', (th) => th.map((x) => x.textContent));
    assert.ok(headers.includes('Tipo') && headers.includes('Token'), headers.join());
    const row = page.locator(`#credentials tbody tr[data-id="${ids.browser}"]`);
    assert.equal(await row.locator('td.kind').textContent(), 'OAuth 2.0 (Outro)');
    await show(page, `#/credentials/new`);
    await page.selectOption('#c-kind', 'oauth2');
    assert.equal(await page.textContent('label[for="c-kind"]'), 'Tipo');
    assert.equal(await page.textContent('label[for="c-provider"]'), 'Provedor');
    assert.equal(await page.textContent('label[for="c-tenant"]'), 'Locatário');
    assert.equal(await page.textContent('label[for="c-client_id"]'), 'ID do cliente');
    assert.equal(await page.textContent('label[for="c-client_secret"]'), 'Segredo do cliente');
    assert.equal(await page.textContent('label[for="c-scopes"]'), 'Escopos');
    assert.equal(await page.textContent('#c-flow option[value="delegated"]'), 'Um usuário entra');
    await page.click('#oauth-advanced summary');
    assert.equal(await page.textContent('label[for="c-refresh_token"]'), 'Importar um token de atualização');
    await page.screenshot({ path: `${fx.shots}/oauth-form-pt-BR.png`, fullPage: true });

    await show(page, `#/credentials/${ids.device}`);
    assert.equal(await page.textContent('#oauth-sign-in h2'), 'Login e token');
    assert.equal(await page.textContent('#sign-in-device'), 'Entrar com um código');
    assert.equal(await page.textContent('#check-token'), 'Verificar token');
    await page.click('#sign-in-device');
    await page.waitForSelector('#device-code');
    assert.equal(await page.textContent('#device-link'), 'Abrir a página de login');
    assert.match(await page.textContent('#device-status'), /Aguardando você entrar no provedor/);
    await page.screenshot({ path: `${fx.shots}/oauth-device-code-pt-BR.png`, fullPage: true });

    await show(page, `#/credentials/${ids.browser}`);
    assert.equal(await page.textContent('#sign-in-browser'), 'Entrar');
    await signInThroughBrowser(page, ids.browser, ox.users.code);
    assert.match(await page.textContent('#sign-in-result'), /^Login feito/);
    assert.equal(await page.textContent('#token-state-text'), 'ok');
    await page.screenshot({ path: `${fx.shots}/oauth-signed-in-pt-BR.png`, fullPage: true });

    // a lapsed sign-in, in Portuguese
    const r = await apiCall(page, 'POST', '/credentials', { name: 'vencida', username: ox.users.code,
      kind: 'oauth2', provider: 'other', client_id: ox.public.client_id, token_url: ox.token_endpoint,
      refresh_token: 'not-a-refresh-token-either' });
    assert.equal(r.status, 201, r.body);
    const stale = JSON.parse(r.body).id;
    assert.equal((await apiCall(page, 'POST', `/credentials/${stale}/token`, {})).status, 502);
    await show(page, `#/credentials`);
    await page.waitForSelector('#sign-in-banner');
    assert.equal(await page.textContent('#sign-in-banner'), 'A credencial vencida precisa que você entre novamente.');
    const srow = page.locator(`#credentials tbody tr[data-id="${stale}"]`);
    assert.equal(await srow.locator('td.token-state').textContent(), 'consentimento necessário: entre novamente');
    assert.equal(await srow.locator('button.sign-in').textContent(), 'Entrar novamente');
    await page.screenshot({ path: `${fx.shots}/oauth-banner-pt-BR.png` });
    assert.equal((await apiCall(page, 'DELETE', `/credentials/${stale}`)).status, 200);
    await page.reload();
    await page.waitForSelector('#credentials');
    await page.waitForTimeout(300);
    assert.equal(await page.$('#sign-in-banner'), null);
    await page.selectOption('#language', 'en');
    await page.waitForSelector('h1 >> text=Credentials');
  });

  it('kept every secret off the page and raised no script errors', async () => {
    assert.ok(!(await page.content()).includes(ox.web.client_secret));
    assert.deepEqual(pageErrors, []);
  });
});
