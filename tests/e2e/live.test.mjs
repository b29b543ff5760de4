// Live updates in Chromium, against a daemon of its own: with the inbox
// open, a message APPENDed to the mailbox and fetched (Fetch now in the
// daemon, then `mailroom fetch` from the command line beside it) appears
// in the list without a reload; the accounts report's Last check and the
// dashboard's counts move the same way. No navigation happens meanwhile:
// a value set on the page's window survives, and no load event fires.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { apiOk } from './helpers.mjs';

const fx = JSON.parse(readFileSync(process.env.MR_FIXTURE, 'utf8'));
const base = fx.live_url;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
let browser, page;
let loads = 0;
const pageErrors = [];
const call = (method, path, body) => apiOk(page, method, path, body);

// One message into the mailbox over IMAP (APPEND), as any mail client
// would put it there.
async function append(subject) {
  const raw = `From: live@example.com\r\nSubject: ${subject}\r\n\r\nArrived while you watched.\r\n`;
  const sock = tls.connect({ host: '127.0.0.1', port: fx.ports.imaps, rejectUnauthorized: false });
  let text = '';
  sock.on('data', (d) => { text += d.toString(); });
  const waitFor = async (re) => {
    for (let i = 0; i < 200 && !re.test(text); i++) await new Promise((r) => setTimeout(r, 50));
    if (!re.test(text)) throw new Error(`IMAP: no ${re} in ${text}`);
  };
  try {
    await waitFor(/^\* OK/m);
    sock.write(`a1 LOGIN "${fx.live_user}" "${fx.mail_password}"\r\n`);
    await waitFor(/^a1 OK/m);
    sock.write(`a2 APPEND INBOX {${Buffer.byteLength(raw)}}\r\n`);
    await waitFor(/^\+/m);
    sock.write(`${raw}\r\n`);
    await waitFor(/^a2 OK/m);
    sock.write('a3 LOGOUT\r\n');
  } finally {
    sock.end();
  }
}

// `mailroom fetch NAME` from the command line, beside the daemon.
async function cliFetch(name) {
  await promisify(execFile)(fx.live_bin, ['--data', fx.live_data, 'fetch', name], { timeout: 60000 });
}

// Set once: gone if the page reloads or navigates away.
const mark = () => page.evaluate(() => { window.__liveMark = 'still here'; });
async function assertNoNavigation(hash) {
  assert.equal(await page.evaluate(() => window.__liveMark), 'still here', 'the page was reloaded');
  assert.equal(await page.evaluate(() => location.hash), hash);
  assert.equal(loads, 1, 'a page load happened');
}

describe('live updates', () => {
  let good, broken;
  before(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
    page = await (await browser.newContext({ viewport: { width: 1300, height: 900 } })).newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('load', () => { loads++; });
    await page.goto(`${base}/#/login`);
    await page.evaluate(() => localStorage.setItem('mailroom.lang', 'en'));
    await page.fill('#login-user', 'admin');
    await page.fill('#login-password', fx.admin_password);
    await page.click('#login-submit');
    await page.waitForSelector('.page #dashboard');
    const account = { protocol: 'imap', address: '127.0.0.1', port: fx.ports.imaps, security: 'tls',
      skip_certificate: true, keep_copy: false };
    await call('POST', '/credentials', { name: 'live', username: fx.live_user, password: fx.mail_password });
    await call('POST', '/credentials', { name: 'wrong', username: fx.live_user, password: 'not-the-password' });
    good = await call('POST', '/accounts', { ...account, name: 'Live', credential: 'live' });
    broken = await call('POST', '/accounts', { ...account, name: 'Broken', credential: 'wrong' });
  });
  after(async () => { await browser?.close(); });

  it('lists a message in the open inbox as it is fetched, without a reload', async () => {
    await page.click('#nav a[href="#/inbox"]');
    await page.waitForSelector('#inbox-empty');
    await page.waitForSelector('#live[data-state="on"]');
    assert.equal(await page.textContent('#live'), 'Live');
    await mark();
    // Fetch now, in the daemon
    await append('Live one');
    await call('POST', `/accounts/${good.id}/fetch`, {});
    await page.waitForSelector('#inbox tbody tr a.subject:text-is("Live one")', { timeout: 10000 });
    assert.equal(await page.locator('#inbox-empty').count(), 0, 'the empty state went with the first message');
    await assertNoNavigation('#/inbox');
    // `mailroom fetch` from the command line: another process's commit
    await append('Live two');
    await cliFetch('Live');
    await page.waitForSelector('#inbox tbody tr a.subject:text-is("Live two")', { timeout: 10000 });
    assert.deepEqual(await page.$$eval('#inbox tbody a.subject', (as) => as.map((a) => a.textContent)),
      ['Live two', 'Live one']);
    assert.equal(await page.textContent('.pager .range'), '1–2 of 2');
    await assertNoNavigation('#/inbox');
    await page.screenshot({ path: `${fx.shots}/live-inbox.png`, fullPage: true });
  });

  it('keeps a filtered page as it is: what does not match is not listed', async () => {
    await page.goto(`${base}/#/inbox?subject=Live%20one`);
    await page.waitForSelector('#inbox tbody tr');
    await append('Live three');
    await call('POST', `/accounts/${good.id}/fetch`, {});
    // once the check has ended, its event has come and the list was re-read
    for (let i = 0; i < 100; i++) {
      const h = await call('GET', `/accounts/${good.id}/history`);
      if (h.runs[0].result !== 'running' && h.runs[0].fetched === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.waitForTimeout(1500); // an event, and the re-read it causes
    assert.deepEqual(await page.$$eval('#inbox tbody a.subject', (as) => as.map((a) => a.textContent)),
      ['Live one']);
  });

  it('moves the report\'s Last check and the dashboard\'s counts', async () => {
    await page.click('#nav a[href="#/accounts"]');
    const cell = `#report tr[data-id="${broken.id}"] td.last-check`;
    await page.waitForSelector(cell);
    assert.equal(await page.getAttribute(cell, 'data-result'), 'never');
    await call('POST', `/accounts/${broken.id}/fetch`, {});
    await page.waitForSelector(`${cell}[data-result="error"]`, { timeout: 10000 });
    assert.equal(await page.evaluate(() => location.hash), '#/accounts');

    await page.click('#nav a[href="#/dashboard"]');
    await page.waitForSelector('#count-failing .n');
    assert.deepEqual([await page.textContent('#count-ok .n'), await page.textContent('#count-failing .n')],
      ['1', '1']);
    // the failing account is mended from elsewhere (the API) and checked
    // by the command line: the counts move on the open dashboard
    await call('PATCH', `/accounts/${broken.id}`, { credential: 'live' });
    await cliFetch('Broken');
    await page.waitForFunction(() => document.querySelector('#count-failing .n')?.textContent === '0',
      null, { timeout: 10000 });
    assert.equal(await page.textContent('#count-ok .n'), '2');
    await assertNoNavigation('#/dashboard');
    await page.screenshot({ path: `${fx.shots}/live-dashboard.png`, fullPage: true });
  });

  it('speaks Portuguese', async () => {
    await page.selectOption('#language', 'pt-BR');
    await page.waitForFunction(() => document.documentElement.lang === 'pt-BR');
    assert.equal(await page.textContent('#live'), 'Ao vivo');
    await page.selectOption('#language', 'en');
    assert.deepEqual(pageErrors, []);
  });
});
