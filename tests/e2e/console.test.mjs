// The console in real headless Chromium (Debian's), driven by playwright-core,
// against a real mailroom daemon and the suite's Dovecot (see run.py).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { apiCall } from './helpers.mjs';

const fx = JSON.parse(readFileSync(process.env.MR_FIXTURE, 'utf8'));
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
let browser, context, page;
const pageErrors = [];
const outsideRequests = [];

async function login(p, user, password) {
  await p.goto(`${fx.url}/#/login`);
  await p.fill('#login-user', user);
  await p.fill('#login-password', password);
  await p.click('#login-submit');
}

async function fillAccount(p, a) {
  await p.fill('#a-name', a.name);
  await p.selectOption('#a-protocol', a.protocol);
  await p.fill('#a-address', '127.0.0.1');
  await p.fill('#a-port', String(a.port));
  await p.selectOption('#a-credential', { label: `${a.credential} (${fx.mail_user})` });
  await p.selectOption('#a-secure', 'yes');
  await p.selectOption('#a-security', a.security);
  await p.selectOption('#a-skip_certificate', 'yes');
}

async function testConnection(p) {
  await p.click('#test-connection');
  await p.waitForSelector('#test-result[data-done="yes"]');
  return p.$$eval('#test-result li.step', (lis) => lis.map((li) => ({
    step: li.dataset.step, result: li.dataset.result, detail: li.querySelector('.detail').textContent })));
}

const rows = (p) => p.$$eval('#report tbody tr[data-id]', (trs) => trs.map((tr) => tr.children[1].textContent));

describe('mailroom console', () => {
  before(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
    context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1300, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('request', (r) => { if (!r.url().startsWith(fx.url)) outsideRequests.push(r.url()); });
  });
  after(async () => { await browser?.close(); });

  it('refuses a wrong password, then logs in', async () => {
    await login(page, 'admin', 'not-the-password');
    await page.waitForSelector('form.login p.error:not([hidden])');
    assert.match(await page.textContent('form.login p.error'), /wrong user name or password/);
    await login(page, 'admin', fx.admin_password);
    await page.waitForSelector('#dashboard'); // the landing page
  });

  it('adds credentials through the form', async () => {
    for (const [name, password] of [['mailbox', fx.mail_password], ['wrong', 'not-the-password'],
      ['mailbox-pop3', fx.mail_password], ['mailbox-proxy', fx.mail_password]]) {
      await page.goto(`${fx.url}/#/credentials/new`);
      await page.fill('#c-name', name);
      await page.fill('#c-username', fx.mail_user);
      await page.fill('#c-password', password);
      await page.click('#save');
      await page.waitForSelector(`#credentials tbody tr >> text=${name}`);
    }
    assert.ok(!(await page.content()).includes(fx.mail_password), 'a secret reached the page');
  });

  it('adds an IMAP account; Test connection shows every step green', async () => {
    await page.goto(`${fx.url}/#/accounts/new`);
    await fillAccount(page, { name: 'Support IMAP', protocol: 'imap', port: fx.ports.imaps,
      security: 'tls', credential: 'mailbox' });
    assert.equal(await page.getAttribute('#a-port', 'placeholder'), 'default 993');
    assert.equal(await page.isDisabled('#a-connector'), true, 'connector only with Use network connector');
    const steps = await testConnection(page);
    assert.deepEqual(steps.map((s) => s.step).slice(0, 3), ['resolve', 'connect', 'tls']);
    for (const s of steps) assert.notEqual(s.result, 'failed', `${s.step}: ${s.detail}`);
    await page.screenshot({ path: `${fx.shots}/account-form-test.png`, fullPage: true });
    await page.click('#save');
    await page.waitForSelector('#report tbody tr >> text=Support IMAP');
  });

  it('adds a POP3 account with STARTTLS; a wrong password fails at authentication', async () => {
    await page.goto(`${fx.url}/#/accounts/new`);
    await fillAccount(page, { name: 'Alerts POP3', protocol: 'pop3', port: fx.ports.pop3,
      security: 'starttls', credential: 'mailbox' });
    assert.equal(await page.isDisabled('#a-folder'), true, 'no folder for POP3');
    // 'mailbox' is saved for Support IMAP (IMAP, TLS, another port): an unsaved
    // test sends its stored password nowhere else; one typed again may go
    await page.click('#test-connection');
    await page.waitForSelector('#err-credential:not([hidden])');
    assert.match(await page.textContent('#err-credential'), /'mailbox'.*type it again/);
    await page.screenshot({ path: `${fx.shots}/account-form-test-retype.png`, fullPage: true });
    await page.selectOption('#a-credential', { label: `mailbox-pop3 (${fx.mail_user})` });
    const ok = await testConnection(page);
    assert.ok(ok.some((s) => s.step === 'starttls' && s.result === 'ok'));
    await page.selectOption('#a-credential', { label: `wrong (${fx.mail_user})` });
    const bad = await testConnection(page);
    const auth = bad.find((s) => s.step === 'authentication');
    assert.equal(auth.result, 'failed');
    assert.match(auth.detail, /Authentication failed/);
    assert.match(await page.textContent('#test-result p'), /authentication/);
    await page.selectOption('#a-credential', { label: `mailbox-pop3 (${fx.mail_user})` });
    await page.click('#save');
    await page.waitForSelector('#report tbody tr >> text=Alerts POP3');
  });

  it('shows field errors from the API next to the field', async () => {
    await page.goto(`${fx.url}/#/accounts/new`);
    await page.fill('#a-name', 'Support IMAP');
    await page.fill('#a-address', 'not a host');
    await page.click('#save');
    await page.waitForSelector('#err-address:not([hidden])');
    assert.match(await page.textContent('#err-address'), /not a valid host name/);
    assert.match(await page.textContent('#err-credential'), /required/);
  });

  it('sets the limits for slow and inexact servers, in both languages', async () => {
    await page.goto(`${fx.url}/#/accounts`);
    await page.locator('#report tbody tr', { hasText: 'Alerts POP3' }).locator('a.edit').click();
    await page.waitForSelector('#account-form');
    assert.equal(await page.getAttribute('#limits', 'open'), null, 'closed while all are defaults');
    await page.click('#limits summary');
    assert.equal(await page.getAttribute('#a-step_timeout', 'placeholder'), '60');
    assert.equal(await page.isDisabled('#a-size_tolerance'), false, 'POP3 has a size tolerance');
    await page.fill('#a-step_timeout', '3');
    await page.click('#save');
    await page.waitForSelector('#err-step_timeout:not([hidden])');
    assert.match(await page.textContent('#err-step_timeout'), /between 5 and 3600/);
    await page.fill('#a-step_timeout', '90');
    await page.fill('#a-min_speed', '512');
    await page.fill('#a-size_tolerance', '3');
    await page.screenshot({ path: `${fx.shots}/account-limits.png`, fullPage: true });
    await page.click('#save');
    await page.waitForSelector('#report');
    const saved = JSON.parse((await apiCall(page, 'GET', '/accounts?name=Alerts')).body).accounts[0];
    assert.deepEqual([saved.step_timeout, saved.min_speed, saved.min_speed_time, saved.size_tolerance],
      [90, 512, 60, 3]);
    await page.locator('#report tbody tr', { hasText: 'Alerts POP3' }).locator('a.edit').click();
    await page.waitForSelector('#account-form');
    assert.notEqual(await page.getAttribute('#limits', 'open'), null, 'open when one is set');
    assert.equal(await page.inputValue('#a-step_timeout'), '90');
    await page.selectOption('#a-protocol', 'imap');
    assert.equal(await page.isDisabled('#a-size_tolerance'), true, 'IMAP sizes are exact');
    await page.selectOption('#a-protocol', 'pop3');
    await page.selectOption('#language', 'pt-BR');
    await page.waitForSelector('#limits summary >> text=Servidores lentos ou imprecisos');
    assert.match(await page.textContent('#limits'), /Tempo limite por etapa/);
    await page.screenshot({ path: `${fx.shots}/account-limits-pt-BR.png`, fullPage: true });
    await page.selectOption('#language', 'en');
    // back to the defaults: the later tests expect them
    const r = await apiCall(page, 'PATCH', `/accounts/${saved.id}`,
      { step_timeout: null, min_speed: null, size_tolerance: null });
    assert.equal(r.status, 200, r.body);
  });

  it('chooses what happens on the server after fetch, in place of keep copy', async () => {
    const edit = async (name) => {
      await page.goto(`${fx.url}/#/accounts`);
      await page.locator('#report tbody tr', { hasText: name }).locator('a.edit').click();
      await page.waitForSelector('#account-form');
    };
    const get = async (name) => JSON.parse((await apiCall(page, 'GET',
      `/accounts?name=${encodeURIComponent(name)}`)).body).accounts[0];
    await edit('Support IMAP');
    assert.equal(await page.$('#a-keep_copy'), null, 'the action replaces the keep copy choice');
    assert.equal(await page.inputValue('#a-after_fetch'), 'keep');
    assert.equal(await page.isVisible('#a-move_folder'), false, 'a folder only to move to');
    assert.match(await page.textContent('#after-fetch-now'), /Leave untouched \(keep a copy\), once the message is stored/);
    await page.selectOption('#a-after_fetch', 'move');
    assert.equal(await page.isVisible('#a-move_folder'), true);
    assert.equal(await page.isVisible('#a-create_folder'), true);
    await page.click('#save');
    await page.waitForSelector('#err-move_folder:not([hidden])');
    assert.match(await page.textContent('#err-move_folder'), /required/);
    await page.fill('#a-move_folder', 'INBOX.Processed');
    await page.selectOption('#a-create_folder', 'yes');
    await page.selectOption('#a-action_when', 'delivered');
    await page.screenshot({ path: `${fx.shots}/account-after-fetch.png`, fullPage: true });
    await page.click('#save');
    await page.waitForSelector('#report');
    let a = await get('Support IMAP');
    assert.deepEqual([a.after_fetch, a.keep_copy, a.move_folder, a.create_folder, a.action_when],
      ['move', true, 'INBOX.Processed', true, 'delivered']);
    await edit('Support IMAP');
    assert.match(await page.textContent('#after-fetch-now'), /Move to a folder, once the message is delivered to every target/);
    await page.selectOption('#language', 'pt-BR');
    await page.waitForSelector('#after-fetch-now >> text=Mover para uma pasta');
    await page.selectOption('#language', 'en');
    // POP3 keeps or deletes: marking and moving are not offered
    await edit('Alerts POP3');
    const hidden = await page.$$eval('#a-after_fetch option', (os) => os.filter((o) => o.hidden).map((o) => o.value));
    assert.deepEqual(hidden, ['seen', 'move']);
    await page.selectOption('#a-after_fetch', 'delete');
    await page.click('#save');
    await page.waitForSelector('#report');
    a = await get('Alerts POP3');
    assert.deepEqual([a.after_fetch, a.keep_copy], ['delete', false]);
    // back to keep copy: the later tests expect it
    for (const name of ['Support IMAP', 'Alerts POP3']) {
      const id = (await get(name)).id;
      const r = await apiCall(page, 'PATCH', `/accounts/${id}`,
        { keep_copy: true, after_fetch: 'keep', move_folder: null, create_folder: false, action_when: 'stored' });
      assert.equal(r.status, 200, r.body);
    }
  });

  it('fetches now and shows the inbox with decoded subjects', async () => {
    await page.goto(`${fx.url}/#/accounts`);
    const row = page.locator('#report tbody tr', { hasText: 'Support IMAP' });
    await row.locator('button.fetch').click();
    await page.waitForSelector('#toast.ok >> text=/new messages/', { timeout: 60000 });
    assert.match(await page.textContent('#toast'), /Support IMAP: 3 new messages/);
    await row.locator('a.inbox').click();
    await page.waitForSelector('#inbox tbody tr');
    const subjects = await page.$$eval('#inbox a.subject', (as) => as.map((a) => a.textContent));
    assert.ok(subjects.includes('Solicitação de acesso'), subjects.join(' | '));
    assert.ok(subjects.some((s) => s.startsWith('Alerta: disco cheio')), subjects.join(' | '));
    await page.screenshot({ path: `${fx.shots}/inbox.png`, fullPage: true });
    // the processing status: every row says how it was processed; a filter picks one kind
    const statuses = await page.$$eval('#inbox td.status', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual([...new Set(statuses)], ['stored']);
    const inboxUrl = page.url();
    await page.selectOption('#i-status', 'parse_failed');
    await page.click('#i-submit');
    await page.waitForFunction(() => location.hash.includes('status=parse_failed') &&
      document.querySelectorAll('#inbox tbody tr').length === 0);
    await page.selectOption('#i-status', 'skipped');
    await page.click('#i-submit');
    await page.waitForSelector('#skipped', { state: 'attached' });
    assert.match(await page.textContent('main'), /stay on the server/);
    await page.goto(inboxUrl);
    await page.waitForSelector('#inbox tbody tr');
    // the account's page shows its fetch history
    const accountId = new URL(inboxUrl).hash.match(/account=(\d+)/)[1];
    await page.goto(`${fx.url}/#/accounts/${accountId}`);
    await page.waitForSelector('#history tr.run.ok');
    assert.match(await page.textContent('#history tr.run.ok'), /3 \(/);
    await page.screenshot({ path: `${fx.shots}/account-history.png`, fullPage: true });
    await page.goto(inboxUrl);
    await page.waitForSelector('#inbox tbody tr');
  });

  it('downloads the .eml byte for byte', async () => {
    await page.click('#inbox a.subject >> text=Solicitação de acesso');
    await page.waitForSelector('#message');
    assert.match(await page.textContent('#message'), /José Silva <jose@example.com>/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-eml')]);
    const bytes = readFileSync(await download.path());
    assert.equal(createHash('sha256').update(bytes).digest('hex'), fx.sha256[0]);
  });

  it('shows an HTML message as text: nothing runs, nothing loads', async () => {
    await page.goto(`${fx.url}/#/inbox`);
    await page.click('#inbox a.subject >> text=scripts inside');
    await page.waitForSelector('#message-text');
    await page.waitForTimeout(500);
    assert.match(await page.textContent('#message-text'), /Hello/);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.notEqual(await page.title(), 'pwned');
    const text = await page.textContent('#message-text');
    assert.doesNotMatch(text, /<script|onerror|onload/);
    assert.equal(await page.$$eval(
      '#message script, #message img, #message iframe, #message svg, #message object, ' +
      '#message form, #message style, #message link, #message video, #message a[href^="javascript"]',
      (e) => e.length), 0);
    // the HTML attachment is a download, not a page: nothing of it runs either
    const link = await page.$('#attachments a >> text=page.html');
    assert.ok(link, 'the attachment is listed');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    assert.match(readFileSync(await download.path(), 'utf8'), /<script>/);
    await page.waitForTimeout(500);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.notEqual(await page.title(), 'pwned');
    assert.deepEqual(outsideRequests, []);
  });

  it('pages 65 accounts 30/30/5 and filters them', async () => {
    for (let i = 0; i < 63; i++) {
      const r = await apiCall(page, 'POST', '/accounts', { name: `bulk-${String(i).padStart(2, '0')}`,
        protocol: 'imap', address: 'mail.example.com', credential: 'mailbox',
        security: i % 3 === 0 ? 'none' : 'tls', keep_copy: i % 2 === 0, enabled: i % 5 !== 0 });
      assert.equal(r.status, 201, r.body);
    }
    await page.goto(`${fx.url}/#/accounts`);
    await page.waitForSelector('#report tbody tr');
    assert.equal((await rows(page)).length, 30);
    assert.equal(await page.textContent('.pager .range'), '1–30 of 65');
    await page.click('.pager button[data-page="2"] >> text=Next');
    await page.waitForFunction(() => document.querySelector('.pager .range')?.textContent === '31–60 of 65');
    assert.equal((await rows(page)).length, 30);
    await page.click('.pager button >> text=Last');
    await page.waitForFunction(() => document.querySelector('.pager .range')?.textContent === '61–65 of 65');
    assert.equal((await rows(page)).length, 5);
    await page.screenshot({ path: `${fx.shots}/report.png`, fullPage: true });

    await page.fill('#f-name', 'bulk-');
    await page.click('#f-submit');
    await page.waitForFunction(() => document.querySelector('.pager .range')?.textContent.endsWith('of 63'));
    await page.click('#f-more');
    await page.selectOption('#f-secure', 'no');
    await page.click('#f-submit');
    await page.waitForFunction(() => document.querySelector('.pager .range')?.textContent === '1–21 of 21');
    const expected = [...Array(63).keys()].filter((i) => i % 3 === 0).map((i) => `bulk-${String(i).padStart(2, '0')}`);
    assert.deepEqual(await rows(page), expected);
    await page.selectOption('#f-secure', '');
    await page.selectOption('#f-status', 'disabled');
    await page.click('#f-submit');
    await page.waitForFunction(() => document.querySelector('.pager .range')?.textContent === '1–13 of 13');
    await page.selectOption('#f-status', '');
    await page.selectOption('#f-keep', 'yes');
    await page.selectOption('#f-secure', 'no');
    await page.click('#f-submit');
    await page.waitForFunction(() => /of 11$/.test(document.querySelector('.pager .range')?.textContent));
  });

  it('exports the filtered report as CSV', async () => {
    await page.click('#report-actions summary');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#action-csv')]);
    const lines = readFileSync(await download.path(), 'utf8').trim().split('\r\n');
    assert.equal(lines[0], 'ID,Name,Secure connection,Connection type,Protocol,Port,Automatic check,Keep a copy on the server');
    const names = lines.slice(1).map((l) => l.split(',')[1]);
    const expected = [...Array(63).keys()].filter((i) => i % 3 === 0 && i % 2 === 0)
      .map((i) => `bulk-${String(i).padStart(2, '0')}`);
    assert.deepEqual(names, expected);
  });

  it('renders the print view of the filtered report', async () => {
    await page.click('#report-actions summary');
    await page.click('#action-print');
    await page.waitForSelector('#print-view table tbody tr');
    const text = await page.textContent('#print-view');
    assert.match(text, /Filters applied: name = bulk-, secure = no, keep_copy = yes/);
    assert.match(text, /Generated at/);
    assert.equal(await page.$$eval('#print-view tbody tr', (t) => t.length), 11);
  });

  it('switches to Português and remembers it', async () => {
    await page.goto(`${fx.url}/#/accounts`);
    await page.waitForSelector('#report');
    await page.selectOption('#language', 'pt-BR');
    await page.waitForSelector('h1 >> text=Relatório de configurações IMAP/POP3');
    const headers = await page.$$eval('#report th', (th) => th.map((x) => x.textContent));
    assert.ok(headers.includes('Conexão segura') && headers.includes('Manter uma cópia no servidor'));
    await page.reload();
    await page.waitForSelector('h1 >> text=Relatório de configurações IMAP/POP3');
    assert.equal(await page.textContent('nav a.active'), 'Configurações IMAP/POP3');
    await page.screenshot({ path: `${fx.shots}/report-pt-BR.png` });
    await page.selectOption('#language', 'en');
    await page.waitForSelector('h1 >> text=IMAP/POP3 settings report');
    const [en, pt] = await page.evaluate(async () => {
      const m = await import('/js/i18n.js');
      return [m.keys('en').sort(), m.keys('pt-BR').sort()];
    });
    assert.deepEqual(pt, en, 'every string in both languages');
  });

  it('shows the audit log to admins', async () => {
    await page.goto(`${fx.url}/#/audit`);
    await page.waitForSelector('#audit tbody tr');
    const text = await page.textContent('#audit');
    assert.match(text, /bulk-62/);
    assert.match(text, /admin/);
    assert.ok(!text.includes(fx.mail_password), 'a secret in the audit log');
    await page.selectOption('#au-object', 'credential');
    await page.click('#audit-search button[type=submit]');
    await page.waitForFunction(() => [...document.querySelectorAll('#audit tbody tr')].length === 4); // the four credentials added
    assert.match(await page.textContent('#audit'), /Password: set \(never shown\)/); // labels in words
  });

  it('sets the SMTP relay and schedules the filtered report', async () => {
    await page.goto(`${fx.url}/#/settings`);
    await page.waitForSelector('#settings-form');
    await page.fill('#s-smtp_host', '127.0.0.1');
    await page.fill('#s-smtp_port', String(fx.smtp_port));
    assert.equal(await page.inputValue('#s-smtp_security'), 'starttls', 'STARTTLS by default');
    await page.selectOption('#s-smtp_security', 'none'); // the sink speaks no TLS; no credential
    await page.fill('#s-smtp_from', 'nobody');
    await page.click('#save');
    await page.waitForSelector('#err-smtp_from:not([hidden])');
    assert.match(await page.textContent('#err-smtp_from'), /not an e-mail address/);
    await page.fill('#s-smtp_from', 'mailroom@example.com');
    await page.click('#save');
    await page.waitForSelector('#err-smtp_from', { state: 'hidden' });

    await page.goto(`${fx.url}/#/accounts?name=bulk-1`);
    await page.waitForSelector('#report tbody tr[data-id]');
    await page.click('#report-actions summary');
    await page.click('#action-schedule');
    await page.waitForSelector('#schedule-form');
    assert.equal(await page.inputValue('#sf-name'), 'bulk-1'); // the report's filter, editable
    assert.equal(await page.isVisible('#s-weekday'), true);
    await page.selectOption('#s-recurrence', 'hours');
    assert.equal(await page.isVisible('#s-weekday'), false);
    assert.equal(await page.isVisible('#s-at'), false);
    await page.selectOption('#s-recurrence', 'weekly');
    await page.fill('#s-name', 'weekly bulk');
    await page.selectOption('#s-weekday', 'friday');
    await page.fill('#s-at', '07:30');
    await page.fill('#s-recipients', 'ops@example.com, not-an-address');
    await page.click('#save');
    await page.waitForSelector('#err-recipients:not([hidden])');
    assert.match(await page.textContent('#err-recipients'), /not-an-address/);
    await page.fill('#s-recipients', 'ops@example.com');
    await page.fill('#s-directory', fx.report_dir);
    await page.click('#save');
    await page.waitForSelector('#schedules tbody tr >> text=weekly bulk');
    assert.match(await page.textContent('#schedules tbody tr'), /Friday 07:30/);
    await page.click('#schedules tbody tr button.run');
    await page.waitForSelector('#schedules tbody tr td.last-run.ok');
    const files = readdirSync(fx.report_dir);
    assert.equal(files.length, 1);
    const csv = readFileSync(`${fx.report_dir}/${files[0]}`, 'utf8');
    assert.equal(csv.trim().split('\r\n').length, 1 + 10, csv); // bulk-10 .. bulk-19
    await page.screenshot({ path: `${fx.shots}/schedules.png` });
  });

  it('lets a viewer read but not change anything', async () => {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await login(p, ...fx.viewer);
    await p.waitForSelector('.page #count-ok'); // the dashboard, for a viewer too
    await p.goto(`${fx.url}/#/accounts`);
    await p.waitForSelector('#report tbody tr');
    assert.equal(await p.$$eval('#new-account, #report button.test, #report button.fetch', (e) => e.length), 0);
    assert.equal(await p.$('nav a[href="#/audit"]'), null);
    await p.click('#report tbody tr a.edit');
    await p.waitForSelector('#account-form');
    assert.equal(await p.$('#save'), null);
    assert.equal(await p.isDisabled('#a-name'), true);
    const r = await apiCall(p, 'POST', '/credentials', { name: 'x', username: 'y', password: 'z'.repeat(12) });
    assert.equal(r.status, 403);
    await ctx.close();
  });

  it('registers a SOCKS5 connector, tests it, and an account goes through it', async () => {
    await page.goto(`${fx.url}/#/connectors/new`);
    await page.fill('#k-name', 'Dante');
    await page.selectOption('#k-type', 'socks5');
    assert.equal(await page.isHidden('#k-tls'), true, 'TLS to the proxy is for HTTP proxies');
    await page.fill('#k-address', '127.0.0.1');
    await page.fill('#k-port', String(fx.dante_port));
    await page.click('#save');
    await page.waitForSelector('#connectors tbody tr >> text=Dante');
    await page.click('#connectors tbody tr:has-text("Dante") a');
    await page.waitForSelector('#connector-test');
    await page.fill('#k-target', `localhost:${fx.ports.imap}`);
    await page.click('#test-connector');
    await page.waitForSelector('#connector-test-result[data-done="yes"]');
    const steps = await page.$$eval('#connector-test-result li.step', (lis) => lis.map((li) => [li.dataset.step, li.dataset.result]));
    assert.deepEqual(steps, [['proxy connect', 'ok'], ['proxy auth', 'ok'], ['proxy tunnel', 'ok']]);
    await page.screenshot({ path: `${fx.shots}/connector-test.png`, fullPage: true });

    await page.goto(`${fx.url}/#/accounts/new`);
    await fillAccount(page, { name: 'Via proxy', protocol: 'imap', port: fx.ports.imap,
      security: 'starttls', credential: 'mailbox-proxy' });
    await page.selectOption('#a-automatic_check', 'no');
    await page.selectOption('#a-use_connector', 'yes');
    await page.selectOption('#a-connector', { label: 'Dante' });
    const via = await testConnection(page);
    for (const s of via) assert.notEqual(s.result, 'failed', `${s.step}: ${s.detail}`);
    assert.ok(via.some((s) => s.step === 'proxy tunnel' && /succeeded/.test(s.detail)));
    assert.ok(via.some((s) => s.step === 'starttls'));
    await page.click('#save');
    await page.waitForURL(/#\/accounts$/);
    const saved = JSON.parse((await apiCall(page, 'GET', '/accounts?name=Via%20proxy')).body);
    assert.equal(saved.accounts[0].connector.name, 'Dante');
    assert.match(readFileSync(fx.dante_log, 'utf8'), new RegExp(`127\\.0\\.0\\.1\\.${fx.ports.imap}`));

    await page.goto(`${fx.url}/#/connectors`);
    await page.waitForSelector('#connectors td.used-by >> text=Via proxy');
    await page.click('#connectors tbody tr:has-text("Dante") a:has-text("Edit")');
    await page.waitForSelector('#k-used-by >> text=Via proxy');
    page.once('dialog', (d) => d.accept());
    await page.click('#delete');
    await page.waitForSelector('#form-error:not([hidden])');
    assert.match(await page.textContent('#form-error'), /in use by account Via proxy/);
  });

  it('raised no script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
