// The console over HTTPS served by mailroom itself (serve --tls-cert/--tls-key),
// in Debian's Chromium trusting exactly that certificate; and the banner that
// plain HTTP to another machine shows, in both languages (see run.py).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';

const fx = JSON.parse(readFileSync(process.env.MR_FIXTURE, 'utf8'));
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  `--ignore-certificate-errors-spki-list=${fx.https_spki}`];
let browser;

async function login(page, base) {
  await page.goto(`${base}/#/login`);
  await page.fill('#login-user', 'admin');
  await page.fill('#login-password', fx.admin_password);
  await page.click('#login-submit');
  await page.waitForSelector('#dashboard');
}

describe('the console over HTTPS', () => {
  before(async () => { browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS }); });
  after(async () => { await browser?.close(); });

  it('logs in over HTTPS with a Secure cookie and HSTS, no banner', async () => {
    assert.match(fx.https_url, /^https:/);
    const context = await browser.newContext({ viewport: { width: 1300, height: 700 } });
    const page = await context.newPage();
    const first = await page.goto(`${fx.https_url}/`);
    assert.equal(first.status(), 200);
    assert.equal(first.headers()['strict-transport-security'], 'max-age=31536000');
    const tls = await first.securityDetails();
    assert.ok(['TLS 1.3', 'TLS 1.2'].includes(tls?.protocol), JSON.stringify(tls));
    await login(page, fx.https_url);
    const cookie = (await context.cookies()).find((c) => c.name === 'mailroom_session');
    assert.ok(cookie, 'a session cookie');
    assert.equal(cookie.secure, true);
    assert.equal(cookie.httpOnly, true);
    assert.equal(await page.$('#insecure'), null, 'no banner over HTTPS');
    await page.screenshot({ path: `${fx.shots}/https-report.png` });
    await context.close();
  });

  it('shows a banner over plain HTTP to another address, in English and Portuguese', async () => {
    const context = await browser.newContext({ viewport: { width: 1300, height: 700 } });
    const page = await context.newPage();
    await page.goto(`${fx.plain_url}/#/login`);
    await page.waitForSelector('#insecure');
    assert.match(await page.textContent('#insecure'), /plain HTTP/);
    await page.screenshot({ path: `${fx.shots}/insecure-login.png` });
    await page.selectOption('#login-language', 'pt-BR');
    await page.waitForSelector('#insecure >> text=/HTTP simples/');
    await page.screenshot({ path: `${fx.shots}/insecure-login-pt-BR.png` });
    await context.close();
  });
});
