// The dashboard, the landing page, in Chromium against a daemon of its own
// that starts empty: the first steps and the empty pages, then three
// accounts (one fetching two messages, one with a wrong password, one
// disabled): the counts and their links, the failing account's reason,
// and the charts with one bar per hour and per day; in both languages.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { apiOk, fetchAndWait as fetchRun } from './helpers.mjs';

const fx = JSON.parse(readFileSync(process.env.MR_FIXTURE, 'utf8'));
const base = fx.dash_url;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
let browser, page;
const pageErrors = [];

async function setLanguage(lang) {
  await page.selectOption('#language', lang);
  await page.waitForFunction((l) => document.documentElement.lang === l, lang);
}

// Loaded afresh (going to the hash it shows already would change nothing).
async function dashboard() {
  await page.goto(`${base}/#/dashboard`);
  await page.reload();
  await page.waitForSelector('.page #dashboard');
}

const steps = () => page.$$eval('#first-steps li', (lis) => lis.map((li) => [li.id, li.dataset.done]));
const bars = (id) => page.$$eval(`#${id} rect.bar`, (rs) => rs.map((r) => Number(r.dataset.value)));
const sum = (a) => a.reduce((x, y) => x + y, 0);

const call = (method, path, body) => apiOk(page, method, path, body);
const fetchAndWait = (id) => fetchRun(page, id);

describe('the dashboard', () => {
  before(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
    const context = await browser.newContext({ viewport: { width: 1300, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  after(async () => { await browser?.close(); });

  it('is where the console lands after login, and shows the first steps on an empty store', async () => {
    await page.goto(`${base}/#/login`);
    await page.evaluate(() => localStorage.setItem('mailroom.lang', 'en'));
    await page.fill('#login-user', 'admin');
    await page.fill('#login-password', fx.admin_password);
    await page.click('#login-submit');
    await page.waitForSelector('.page #dashboard');
    assert.equal(await page.evaluate(() => location.hash), '#/dashboard');
    assert.equal(await page.textContent('#nav a:first-child'), 'Dashboard');
    assert.equal(await page.getAttribute('#nav a:first-child', 'class'), 'active');
    assert.deepEqual(await steps(), [['step-credential', 'no'], ['step-account', 'no'], ['step-test', 'no'],
      ['step-mail', 'no']]);
    assert.equal(await page.getAttribute('#step-credential a', 'href'), '#/credentials/new');
    assert.equal(await page.getAttribute('#step-account a', 'href'), '#/accounts/new');
    assert.equal(await page.$('#count-ok'), null, 'no counts before there are accounts');
    assert.equal(await page.$('svg.chart'), null, 'no charts before there are accounts');
    await page.screenshot({ path: `${fx.shots}/dashboard-first-start.png`, fullPage: true });
    // an empty hash lands here too
    await page.goto(`${base}/#`);
    await page.waitForSelector('.page #dashboard');

    await setLanguage('pt-BR');
    await dashboard();
    assert.equal(await page.textContent('#dashboard'), 'Painel');
    assert.equal(await page.textContent('#nav a:first-child'), 'Painel');
    assert.equal(await page.textContent('#step-credential a'), 'Adicionar uma credencial');
    assert.match(await page.textContent('#first-steps'), /Quatro passos até a primeira mensagem/);
    await page.screenshot({ path: `${fx.shots}/dashboard-first-start-pt.png`, fullPage: true });
    await setLanguage('en');
  });

  it('empty pages say what to do first', async () => {
    const pages = [['#/credentials', '#credentials-empty', '#/credentials/new'], ['#/inbox', '#inbox-empty', '#/accounts/new'],
      ['#/deliveries', '#deliveries-none', '#/accounts'], ['#/schedules', '#schedules-none', '#/accounts']];
    for (const [hash, sel, link] of pages) {
      await page.goto(`${base}/${hash}`);
      await page.waitForSelector(sel);
      assert.ok((await page.textContent(sel)).length > 40, `${hash}: a sentence that says what to do`);
      assert.equal(await page.getAttribute(`${sel} a`, 'href'), link, hash);
    }
    await page.screenshot({ path: `${fx.shots}/empty-schedules.png`, fullPage: true });
    await setLanguage('pt-BR');
    await page.goto(`${base}/#/credentials`);
    await page.waitForSelector('#credentials-empty');
    assert.match(await page.textContent('#credentials-empty'), /Ainda não há credenciais/);
    await page.goto(`${base}/#/inbox`);
    await page.waitForSelector('#inbox-empty');
    assert.match(await page.textContent('#inbox-empty'), /Ainda não há mensagens/);
    await page.screenshot({ path: `${fx.shots}/empty-inbox-pt.png`, fullPage: true });
    await setLanguage('en');
    // a search that finds nothing says only that
    await page.goto(`${base}/#/inbox?subject=nothing-like-this`);
    await page.waitForSelector('#inbox-empty');
    assert.equal(await page.textContent('#inbox-empty'), 'No message matches this search.');
  });

  it('counts accounts, names the failing one with its reason, and charts the checks', async () => {
    const account = { protocol: 'imap', address: '127.0.0.1', port: fx.ports.imaps, security: 'tls',
      skip_certificate: true };
    await call('POST', '/credentials', { name: 'good', username: fx.dash_user, password: fx.mail_password });
    await call('POST', '/credentials', { name: 'bad', username: fx.dash_user, password: 'not-the-password' });
    await dashboard();
    assert.deepEqual(await steps(), [['step-credential', 'yes'], ['step-account', 'no'], ['step-test', 'no'],
      ['step-mail', 'no']]);
    const good = await call('POST', '/accounts', { ...account, name: 'Support', credential: 'good' });
    const bad = await call('POST', '/accounts', { ...account, name: 'Sales', credential: 'bad' });
    await call('POST', '/accounts', { ...account, name: 'Archive', credential: 'good', enabled: false });
    assert.equal((await fetchAndWait(good.id)).result, 'ok');
    assert.equal((await fetchAndWait(bad.id)).result, 'error');

    await dashboard();
    assert.equal(await page.$('#first-steps'), null, 'every step is done: no first steps');
    const n = async (key) => page.textContent(`#count-${key} .n`);
    assert.deepEqual([await n('ok'), await n('failing'), await n('disabled'), await n('consent')], ['1', '1', '1', '0']);
    assert.equal(await page.getAttribute('#count-failing', 'href'), '#/accounts?status=enabled&errors=yes');
    assert.equal(await page.getAttribute('#count-disabled', 'href'), '#/accounts?status=disabled');
    const row = page.locator('#failing tbody tr');
    assert.equal(await row.count(), 1);
    assert.equal(await row.locator('td').first().textContent(), 'Sales');
    const reason = await row.locator('td.reason').textContent();
    assert.match(reason, /auth|login|password|credentials/i, reason);
    assert.equal(await row.locator('td.last-success').textContent(), 'never');

    // one bar per hour and per day; the numbers are those of the checks
    assert.equal(await page.locator('svg.chart').count(), 4, 'no backlog chart without delivery targets');
    for (const [id, nbars] of [['chart-fetched-hour', 24], ['chart-failures-hour', 24], ['chart-fetched-day', 7],
      ['chart-failures-day', 7]]) assert.equal((await bars(id)).length, nbars, id);
    assert.equal(sum(await bars('chart-fetched-hour')), 2);
    assert.equal((await bars('chart-fetched-hour')).at(-1), 2, 'this hour is the last bar');
    assert.equal(sum(await bars('chart-failures-hour')), 1);
    assert.equal((await bars('chart-failures-day')).at(-1), 1, 'today is the last bar');
    // each chart is named, its axes too, and every bar has a tooltip
    assert.equal(await page.textContent('#chart-fetched-hour svg > title'), 'Messages fetched per hour');
    assert.deepEqual(await page.$$eval('#chart-fetched-hour .axis-label', (ts) => ts.map((x) => x.textContent)),
      ['Hour', 'Messages']);
    assert.match(await page.$$eval('#chart-fetched-hour rect.bar title', (ts) => ts.at(-1).textContent), /: 2$/);
    assert.equal(await page.locator('#chart-fetched-day details tbody tr').count(), 7);
    await page.screenshot({ path: `${fx.shots}/dashboard.png`, fullPage: true });

    await page.click('#count-failing');
    await page.waitForSelector('#report tbody tr');
    assert.equal(await page.evaluate(() => location.hash), '#/accounts?status=enabled&errors=yes');
  });

  it('charts the delivery backlog once a delivery target exists', async () => {
    const accounts = await call('GET', '/accounts?name=Support');
    await call('POST', `/accounts/${accounts.accounts[0].id}/targets`, { name: 'archive', kind: 'maildir',
      path: `${fx.delivery_dir}/dashboard` });
    await dashboard();
    await page.waitForSelector('#outbox');
    assert.equal(await page.textContent('#outbox-pending'), '0 pending now');
    assert.equal((await bars('chart-backlog-hour')).length, 24);
    assert.equal((await bars('chart-backlog-day')).length, 7);
    assert.equal(await page.locator('svg.chart').count(), 6);
  });

  it('speaks Portuguese', async () => {
    await setLanguage('pt-BR');
    await dashboard();
    assert.equal(await page.textContent('#count-ok .label'), 'Funcionando');
    assert.equal(await page.textContent('#count-failing .label'), 'Com falha');
    assert.equal(await page.textContent('#failing h2'), 'Contas com falha');
    assert.equal(await page.textContent('#failing td.last-success'), 'nunca');
    assert.equal(await page.textContent('#chart-failures-day svg > title'), 'Verificações com falha por dia');
    assert.deepEqual(await page.$$eval('#chart-fetched-day .axis-label', (ts) => ts.map((x) => x.textContent)),
      ['Dia', 'Mensagens']);
    assert.equal(await page.textContent('#chart-backlog-hour svg > title'), 'Entregas pendentes ao fim de cada hora');
    await page.screenshot({ path: `${fx.shots}/dashboard-pt.png`, fullPage: true });
    await setLanguage('en');
    assert.deepEqual(pageErrors, []);
  });
});
