// Every page in Brazilian Portuguese, in Chromium against a daemon of its
// own: a credential, a connector, an account that fetched two messages, one
// whose password is wrong, a schedule and a target, all with Portuguese
// names; then each page is walked and its visible text checked against
// English words the dictionary does not allow. What the page shows of the
// mail itself (subjects, bodies, addresses) and what the admin typed is
// data, not the console's words: it is left out of the check.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { apiOk, fetchAndWait as fetchRun } from './helpers.mjs';

const fx = JSON.parse(readFileSync(process.env.MR_FIXTURE, 'utf8'));
const base = fx.pt_url;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
let browser, page;
const pageErrors = [];

// English words that are not Portuguese too: one of them on a page in
// pt-BR is an untranslated string. (Product and protocol terms, which the
// Portuguese document keeps, are not here: IMAP, POP3, TLS, SSL, STARTTLS,
// OAuth, Network Connector, token, e-mail, webhook, proxy, host, CSV, HTML.)
const ENGLISH = new Set(`the and of to with for from is are was not this that these there which
  when where what who how your you yours our it its be been has have had will would can could
  should must may yes none all any only also than then into onto over under after before
  account accounts message messages save saved cancel delete deleted edit new search name names
  enabled disabled folder server password user users settings report reports fetch fetched
  fetching test tested testing connection connections credential credentials connectors inbox
  schedule schedules scheduled target targets delivery deliveries delivered history status never
  add added remove removed show shows hide next previous page pages first last back more less
  check checks checked checking failed failing failure error errors ok sign signed in out log
  logged logout time times date dates day days hour hours minute minutes week weekly daily
  monthly every each size subject sender received stored waiting pending skipped kind
  type address port protocol secure security certificate skip use used using keep copy move
  mark read seen create created update updated run runs running now today yesterday
  automatic automatically interval largest largest advanced done steps step help what's
  dashboard role admin viewer expires expired revoke revoked generate generated reset actions
  action print export agenda replay retry empty nothing yet here click open close`.split(/\s+/)
  .filter(Boolean));

const call = (method, path, body) => apiOk(page, method, path, body);
const fetchAndWait = (id) => fetchRun(page, id);

// The page's own words: its visible text, without what is data (marked so
// by the views, or the mail's own text) and without the language picker.
async function wordsOf() {
  return page.evaluate(() => {
    const main = document.querySelector('body').cloneNode(true);
    for (const el of main.querySelectorAll('pre, code, input, textarea, #language, .data, '
      + '[data-data], td.subject, td.from, .who, .toast[hidden], [hidden], script, style, '
      + 'table.headers td, #message-subject, .changes')) el.remove();
    return main.innerText;
  });
}

// What is not the console's own words is left out: a server's answer after
// its response code ("[AUTHENTICATIONFAILED] Authentication failed."),
// quoted literals, a command or an option to type (mailroom token create,
// --report-dir), paths and addresses, names with digits (user003).
function ownWords(text) {
  return text.replace(/\[[A-Z][A-Z0-9-]*\][^\n]*/g, ' ')
    .replace(/“[^”]*”|"[^"]*"/g, ' ')
    .replace(/\bmailroom( [a-z][a-z-]*)+/g, ' ')
    .replace(/--[a-z][a-z-]*/g, ' ')
    .replace(/\S*[/@]\S*/g, ' ')
    .replace(/\S*\d\S*/g, ' ');
}

function english(text, data) {
  const found = new Set();
  for (const raw of ownWords(text).split(/[^A-Za-zÀ-ÿ']+/)) {
    const w = raw.toLowerCase().replace(/^'+|'+$/g, '');
    if (w.length > 1 && ENGLISH.has(w) && !data.has(w)) found.add(w);
  }
  return [...found];
}

describe('the console in Portuguese', () => {
  before(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'pt-BR' });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  after(async () => { await browser?.close(); });

  it('has no English on any page', async () => {
    await page.goto(`${base}/#/login`);
    await page.evaluate(() => localStorage.setItem('mailroom.lang', 'pt-BR'));
    await page.reload();
    await page.waitForSelector('#login-user');
    const loginWords = english(await wordsOf(), new Set());
    await page.fill('#login-user', 'admin');
    await page.fill('#login-password', fx.admin_password);
    await page.click('#login-submit');
    await page.waitForSelector('.page #dashboard');
    // the data, with Portuguese names; what the admin typed is not checked
    await call('POST', '/credentials', { name: 'Senha do suporte', username: fx.pt_user, password: fx.mail_password });
    await call('POST', '/credentials', { name: 'Senha errada', username: fx.pt_user, password: 'errada-123' });
    await call('POST', '/connectors', { name: 'Proxy da matriz', type: 'socks5', address: '127.0.0.1', port: fx.dante_port });
    const ok = await call('POST', '/accounts', { name: 'Caixa do suporte', protocol: 'imap', address: '127.0.0.1',
      port: fx.ports.imaps, security: 'tls', skip_certificate: true, credential: 'Senha do suporte' });
    const bad = await call('POST', '/accounts', { name: 'Caixa com senha errada', protocol: 'imap', address: '127.0.0.1',
      port: fx.ports.imaps, security: 'tls', skip_certificate: true, credential: 'Senha errada' });
    assert.equal((await fetchAndWait(ok.id)).fetched, 2);
    assert.equal((await fetchAndWait(bad.id)).result, 'error');
    await call('POST', `/accounts/${ok.id}/targets`, { kind: 'maildir', name: 'Pasta local', path: fx.pt_maildir });
    await call('POST', '/schedules', { name: 'Relatório semanal', recurrence: 'weekly', day: 'monday', at: '08:00',
      directory: fx.pt_reports, language: 'pt-BR' });
    const inbox = await call('GET', `/accounts/${ok.id}/messages`);
    const data = new Set(['suporte', 'caixa', 'senha', 'errada', 'proxy', 'matriz', 'pasta', 'local', 'relatório',
      'semanal', 'admin', fx.pt_user].map((w) => w.toLowerCase()));
    const pages = [
      ['accounts', '#/accounts', '#report'],
      ['dashboard', '#/dashboard', '#dashboard'], // after another page: the login's was before the data
      ['account-new', '#/accounts/new', '#account-form'],
      ['discover', '#/accounts/discover', 'h1'],
      ['account', `#/accounts/${ok.id}`, '#account-form'],
      ['failing-account', `#/accounts/${bad.id}`, '#account-form'],
      ['inbox', '#/inbox', '#inbox'],
      ['message', `#/messages/${inbox.messages[0].id}`, '#message-text'],
      ['deliveries', '#/deliveries', 'h1'],
      ['credentials', '#/credentials', 'h1'],
      ['credential-new', '#/credentials/new', 'form'],
      ['connectors', '#/connectors', 'h1'],
      ['connector-new', '#/connectors/new', 'form'],
      ['schedules', '#/schedules', 'h1'],
      ['schedule-new', '#/schedules/new', '#schedule-form'],
      ['settings', '#/settings', 'h1'],
      ['audit', '#/audit', '#audit'],
      ['users', '#/users', 'h1'],
    ];
    const english_on = {};
    if (loginWords.length) english_on.login = loginWords;
    for (const [name, hash, ready] of pages) {
      await page.goto(`${base}/${hash}`);
      await page.waitForSelector(`.page ${ready}`, { timeout: 10000 });
      await page.waitForTimeout(300); // what the page loads after its first paint
      const words = english(await wordsOf(), data);
      if (words.length) english_on[name] = words;
      await page.screenshot({ path: `${fx.shots}/pt-${name}.png`, fullPage: true });
    }
    assert.deepEqual(english_on, {}, `English words on pages in pt-BR: ${JSON.stringify(english_on)}`);
    assert.deepEqual(pageErrors, []);
  });
});
