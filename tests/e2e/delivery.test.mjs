// Delivery targets and Failed deliveries in the console (issue 19), in real
// headless Chromium against the daemon and Dovecot of run.py: each target
// kind configured through the form, Send a test delivery, a failure seen in
// Failed deliveries, the inbox and the message, and replayed once the target
// is fixed; a viewer's read-only pages; the pages in Portuguese.
//
// The command targets really run (src/deliver/command.c): `cat >/dev/null`
// is delivered, `exit 3` fails for good.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { apiCall } from './helpers.mjs';

const fx = JSON.parse(readFileSync(process.env.MR_FIXTURE, 'utf8'));
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
let browser, context, page;
const pageErrors = [];
const ids = {}; // accounts and targets by name

async function login(p, user, password) {
  await p.goto(`${fx.url}/#/login`);
  await p.fill('#login-user', user);
  await p.fill('#login-password', password);
  await p.click('#login-submit');
  await p.waitForSelector('#nav a');
}

async function call(method, path, body, status = 200) {
  const r = await apiCall(page, method, path, body);
  assert.equal(r.status, status, `${method} ${path}: ${r.body}`);
  return r.body ? JSON.parse(r.body) : null;
}

// Polls the API until check(answer) holds.
async function until(path, check, what, ms = 30000) {
  let last;
  for (const end = Date.now() + ms; Date.now() < end;) {
    last = await call('GET', path);
    if (check(last)) return last;
    await page.waitForTimeout(250);
  }
  assert.fail(`${what}: still ${JSON.stringify(last).slice(0, 600)}`);
}

const shot = (name, p = page) => p.screenshot({ path: `${fx.shots}/${name}.png`, fullPage: true });

async function openAccount(name) {
  await page.goto(`${fx.url}/#/accounts/${ids[name]}`);
  // the targets are under the form's Advanced part, which stays open once opened
  await page.waitForSelector('#advanced #targets', { state: 'attached' });
  if (await page.getAttribute('#advanced', 'open') === null) await page.click('#advanced > summary');
  await page.waitForSelector('#targets #targets-list, #targets #targets-none');
}

const targetRow = (name) => page.locator('#targets-list tr.target', { has: page.locator(`td.name >> text="${name}"`) });

// Fills the target form: the kind first, then selects (they show fields), then the rest.
async function fillTarget(t) {
  if (t.name !== undefined) await page.fill('#t-name', t.name);
  if (t.kind) await page.selectOption('#t-kind', t.kind);
  for (const [k, v] of Object.entries(t.selects || {})) await page.selectOption(`#t-${k}`, v);
  for (const [k, v] of Object.entries(t.fields || {})) await page.fill(`#t-${k}`, v);
  for (const [k, v] of Object.entries(t.checks || {})) await page.setChecked(`#t-${k}`, v);
}

async function addTarget(account, t) {
  await openAccount(account);
  await page.click('#new-target');
  await page.waitForSelector('#target-form');
  await fillTarget(t);
  await page.click('#save');
  await page.waitForSelector(`#targets-list td.name >> text="${t.name}"`);
  const list = await call('GET', `/accounts/${ids[account]}/targets`);
  ids[t.name] = list.targets.find((x) => x.name === t.name).id;
  return list.targets.find((x) => x.name === t.name);
}

async function testDelivery(name) {
  const row = targetRow(name);
  const id = await row.getAttribute('data-id');
  await row.locator('button.test-target').click();
  const out = page.locator(`tr.test-row[data-for="${id}"][data-done="yes"]`);
  await out.waitFor({ timeout: 60000 });
  return out;
}

describe('delivery targets and failed deliveries', () => {
  before(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
    context = await browser.newContext({ viewport: { width: 1300, height: 900 }, locale: 'en-US' });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('dialog', (d) => d.accept());
    await login(page, 'admin', fx.admin_password);
    await page.evaluate(() => localStorage.setItem('mailroom.lang', 'en'));
    // a mailbox with two messages (run.py), an account on it, and one without mail
    await call('POST', '/credentials', { name: 'delivery-box', username: fx.delivery_user,
      password: fx.mail_password }, 201);
    await call('POST', '/credentials', { name: 'hook-secret', username: 'webhook',
      password: 'whsec-signing-secret-1' }, 201);
    for (const name of ['Support box', 'Sandbox']) {
      const a = await call('POST', '/accounts', { name, protocol: 'imap', address: '127.0.0.1',
        port: fx.ports.imaps, security: 'tls', skip_certificate: true, credential: 'delivery-box',
        automatic_check: false }, 201);
      ids[name] = a.id;
    }
  });
  after(async () => { await browser?.close(); });

  it('configures a webhook, a Maildir, a command and an LMTP target through the form', async () => {
    await openAccount('Sandbox');
    assert.match(await page.textContent('#targets-none'), /No delivery targets/);
    await page.click('#new-target');
    await page.waitForSelector('#target-form');
    // the kind decides which fields show
    const visible = async () => page.$$eval('#t-kind-fields > .field', (fs) => fs.filter((f) => !f.hidden)
      .map((f) => f.dataset.field));
    assert.deepEqual(await visible(), ['url', 'allow_http', 'secret_credential', 'stop_status', 'inline_max']);
    await page.selectOption('#t-kind', 'maildir');
    assert.deepEqual(await visible(), ['path']);
    assert.equal(await page.textContent('label[for="t-path"]'), 'Directory (the Maildir)');
    await page.selectOption('#t-kind', 'command');
    assert.deepEqual(await visible(), ['command']);
    assert.match(await page.textContent('#t-command-help'), /Exit 0: delivered; 75 \(EX_TEMPFAIL\): retried later/);
    await page.selectOption('#t-kind', 'lmtp');
    assert.deepEqual(await visible(), ['via', 'host', 'port', 'recipients']);
    await page.selectOption('#t-via', 'unix');
    assert.deepEqual(await visible(), ['via', 'path', 'recipients']);
    assert.equal(await page.textContent('label[for="t-path"]'), 'Unix socket path');
    // only password credentials can sign
    await page.selectOption('#t-kind', 'webhook');
    const secrets = await page.$$eval('#t-secret_credential option', (os) => os.map((o) => o.textContent));
    assert.ok(secrets.includes('hook-secret') && secrets.includes('delivery-box'), secrets.join());

    // the server's field message next to the URL: http:// needs Allow HTTP
    await fillTarget({ name: 'Hook', fields: { url: 'http://127.0.0.1:9/hook' } });
    await page.click('#save');
    await page.waitForSelector('#err-url:not([hidden])');
    assert.match(await page.textContent('#err-url'),
      /is http:\/\/: the payload would cross the network unencrypted; use https:\/\/ or set Allow HTTP/);
    await page.fill('#t-stop_status', '406,2xx');
    await page.click('#save');
    await page.waitForSelector('#err-stop_status:not([hidden])');
    assert.match(await page.textContent('#err-stop_status'), /must be HTTP statuses that are not 2xx/);
    await shot('target-form-errors');
    await fillTarget({ fields: { stop_status: '406,410', inline_max: '65536', retry_for: '2' },
      checks: { allow_http: true }, selects: { secret_credential: { label: 'hook-secret' }, 'retry-unit': '86400' } });
    await page.click('#save');
    await page.waitForSelector('#targets-list td.name >> text="Hook"');

    const archive = await addTarget('Sandbox', { name: 'Archive', kind: 'maildir',
      fields: { path: `${fx.delivery_dir}/Maildir`, retry_for: '12' }, selects: { 'retry-unit': '3600' },
      checks: { 'skip-auto': true, 'skip-report': true } });
    const mda = await addTarget('Sandbox', { name: 'MDA', kind: 'command', fields: { command: 'cat >/dev/null',
      timeout: '20' }, selects: { parallel: 'yes' } });
    // LMTP over a socket without its path: the message lands at the path
    await openAccount('Sandbox');
    await page.click('#new-target');
    await fillTarget({ name: 'LMTP', kind: 'lmtp', selects: { via: 'unix' }, fields: { recipients: 'support@example.com' } });
    await page.click('#save');
    await page.waitForSelector('#err-path:not([hidden])');
    assert.match(await page.textContent('#err-path'), /host \(with port\) or a unix socket path/);
    await fillTarget({ selects: { via: 'tcp' }, fields: { host: '127.0.0.1', port: '2424',
      recipients: 'support@example.com, help@example.com' }, checks: { enabled: false } });
    await page.click('#save');
    await page.waitForSelector('#targets-list td.name >> text="LMTP"');

    const saved = Object.fromEntries((await call('GET', `/accounts/${ids.Sandbox}/targets`)).targets
      .map((x) => [x.name, x]));
    ids.Hook = saved.Hook.id;
    ids.LMTP = saved.LMTP.id;
    const hook = saved.Hook;
    assert.deepEqual([hook.kind, hook.url, hook.allow_http, hook.secret_credential.name, hook.stop_status,
      hook.inline_max, hook.retry_for, hook.enabled], ['webhook', 'http://127.0.0.1:9/hook', true, 'hook-secret',
      '406,410', 65536, 2 * 86400, true]);
    assert.deepEqual([archive.kind, archive.path, archive.retry_for, archive.skip_classes],
      ['maildir', `${fx.delivery_dir}/Maildir`, 12 * 3600, 'auto,report']);
    assert.deepEqual([mda.kind, mda.command, mda.parallel, mda.timeout], ['command', 'cat >/dev/null', true, 20]);
    const lmtp = saved.LMTP;
    assert.deepEqual([lmtp.kind, lmtp.host, lmtp.port, lmtp.path, lmtp.recipients, lmtp.enabled],
      ['lmtp', '127.0.0.1', 2424, null, 'support@example.com, help@example.com', false]);

    // the card: kind, where, enabled, counts
    const cells = await page.$$eval('#targets-list tr.target', (trs) => trs.map((tr) =>
      ['name', 'kind', 'where', 'enabled', 'pending', 'failed'].map((c) => tr.querySelector(`td.${c}`).textContent)));
    assert.deepEqual(cells, [
      ['Hook', 'Webhook', 'http://127.0.0.1:9/hook', 'Yes', '0', '0'],
      ['Archive', 'Maildir', `${fx.delivery_dir}/Maildir`, 'Yes', '0', '0'],
      ['MDA', 'Command (MDA)', 'cat >/dev/null', 'Yes', '0', '0'],
      ['LMTP', 'LMTP', '127.0.0.1:2424 → support@example.com, help@example.com', 'No', '0', '0'],
    ]);
    await shot('targets-card');

    // editing shows what was saved: 12 hours, both classes skipped
    await targetRow('Archive').locator('a.edit').click();
    await page.waitForSelector('#target-form');
    assert.equal(await page.inputValue('#t-retry_for'), '12');
    assert.equal(await page.inputValue('#t-retry-unit'), '3600');
    assert.equal(await page.isChecked('#t-skip-auto'), true);
    assert.equal(await page.isChecked('#t-skip-report'), true);
    assert.equal(await page.inputValue('#t-path'), `${fx.delivery_dir}/Maildir`);
    await shot('target-form-maildir');
    // a kind changed keeps nothing of the old one: the Maildir becomes a command
    await fillTarget({ kind: 'command', fields: { command: 'cat >/dev/null' } });
    await page.click('#save');
    await page.waitForSelector('#targets-list td.where >> text="cat >/dev/null"');
    const changed = await call('GET', `/targets/${archive.id}`);
    assert.deepEqual([changed.kind, changed.path, changed.command], ['command', null, 'cat >/dev/null']);
    await page.click(`#targets-list tr[data-id="${ids.Hook}"] a.edit`);
    await page.waitForSelector('#target-form');
    assert.equal(await page.inputValue('#t-url'), 'http://127.0.0.1:9/hook');
    assert.equal(await page.isChecked('#t-allow_http'), true);
    assert.equal(await page.inputValue('#t-retry_for'), '2');
    assert.equal(await page.inputValue('#t-retry-unit'), '86400');
    await shot('target-form-webhook');
    // and Remove takes one away
    await openAccount('Sandbox');
    await targetRow('Archive').locator('button.remove-target').click();
    await page.waitForFunction(() => ![...document.querySelectorAll('#targets-list td.name')]
      .some((td) => td.textContent === 'Archive'));
    assert.equal((await call('GET', `/accounts/${ids.Sandbox}/targets`)).targets.length, 3);
  });

  it('sends a test delivery to a target that works and to one that fails', async () => {
    await addTarget('Sandbox', { name: 'Broken', kind: 'command', fields: { command: 'exit 3' } });
    const good = await testDelivery('MDA');
    const bad = await testDelivery('Broken');
    await shot('target-test');
    // the error and the response are the server's, shown as they are
    const again = await call('POST', `/targets/${ids.Broken}/test`);
    assert.equal(await bad.locator('.test-error').textContent(), again.error);
    assert.ok(again.error, 'a failed test says why');
    assert.equal(await good.locator('.target-test').getAttribute('data-outcome'), 'delivered');
    assert.match(await good.locator('p.outcome').textContent(), /^Test delivery delivered\. \(\d+ ms\)$/);
    assert.equal(await good.locator('.test-error').count(), 0);
    assert.equal(await bad.locator('.target-test').getAttribute('data-outcome'), 'failed');
    assert.match(await bad.locator('p.outcome').textContent(), /failed permanently/);
  });

  it('shows the failures of a broken target in Failed deliveries, the inbox and the message', async () => {
    await addTarget('Support box', { name: 'Ticketing', kind: 'command', fields: { command: 'exit 3' } });
    await call('POST', `/accounts/${ids['Support box']}/fetch`, undefined, 202);
    await until(`/accounts/${ids['Support box']}/history?per_page=1`,
      (h) => h.runs[0] && h.runs[0].result === 'ok', 'the fetch');
    // one delivery per message, both failed for good (exit 3)
    await until(`/deliveries?state=failed&target=${ids.Ticketing}`, (d) => d.total === 2, 'two failures');

    await page.click('nav a[href="#/deliveries"]');
    await page.waitForSelector('#deliveries');
    assert.equal(await page.textContent('main h1'), 'Failed deliveries');
    await page.selectOption('#d-target', String(ids.Ticketing));
    await page.click('#d-submit');
    await page.waitForFunction((id) => location.hash.includes(`target=${id}`), ids.Ticketing);
    await page.waitForSelector('#deliveries tbody tr.delivery.failed');
    const rows = await page.$$eval('#deliveries tbody tr', (trs) => trs.map((tr) => ({
      subject: tr.querySelector('td.subject a').textContent, account: tr.querySelector('td.account').textContent,
      target: tr.querySelector('td.target').firstChild.textContent, attempts: tr.querySelector('td.attempts').textContent,
      reason: tr.querySelector('td.reason').textContent, replay: !!tr.querySelector('button.replay') })));
    assert.deepEqual(rows.map((r) => r.subject).sort(), ['Order 1234 is late', 'Out of office']);
    for (const r of rows) {
      assert.deepEqual([r.account, r.target, r.attempts, r.replay], ['Support box', 'Ticketing', '1', true]);
      assert.ok(r.reason, 'the reason is shown');
    }
    assert.equal(await page.textContent('#replay-all'), 'Replay all shown (2)');
    // the last response unfolds
    const details = page.locator('#deliveries tbody tr td.last-response details').first();
    if (await details.count()) {
      await details.locator('summary').click();
      assert.equal(await details.locator('pre').isVisible(), true);
    }
    await shot('deliveries');
    // the other states
    await page.selectOption('#d-state', 'pending');
    await page.click('#d-submit');
    await page.waitForSelector('main h1 >> text=Pending deliveries');
    await page.goto(`${fx.url}/#/deliveries?since=2h&account=${ids['Support box']}`);
    await page.waitForSelector('#deliveries tbody tr.delivery.failed');
    assert.equal(await page.inputValue('#d-since'), '2h');
    await page.goto(`${fx.url}/#/deliveries?since=yesterday-ish`);
    await page.waitForSelector('main p.error');
    assert.match(await page.textContent('main p.error'), /since: expected a date/);

    // the inbox: each message's delivery state, and its class when not ordinary
    await page.goto(`${fx.url}/#/inbox?account=${ids['Support box']}`);
    await page.waitForSelector('#inbox tbody tr');
    const inbox = await page.$$eval('#inbox tbody tr', (trs) => Object.fromEntries(trs.map((tr) => [
      tr.querySelector('a.subject').textContent,
      [tr.querySelector('td.delivery').textContent, tr.querySelector('.badge')?.textContent || '']])));
    assert.deepEqual(inbox, { 'Order 1234 is late': ['failed', ''], 'Out of office': ['failed', 'auto-reply'] });
    await shot('inbox-deliveries');
    // the message: its deliveries, with a Replay for the failed one
    await page.click('#inbox a.subject >> text=Order 1234 is late');
    await page.waitForSelector('#message-deliveries tr.delivery');
    const d = await page.$eval('#message-deliveries tr.delivery', (tr) => ({
      target: tr.querySelector('td.target').firstChild.textContent, state: tr.querySelector('td.state').textContent,
      attempts: tr.querySelector('td.attempts').textContent, reason: tr.querySelector('td.reason').textContent,
      replay: !!tr.querySelector('button.replay') }));
    assert.deepEqual([d.target, d.state, d.attempts, d.replay], ['Ticketing', 'failed', '1', true]);
    assert.ok(d.reason);
    await shot('message-deliveries');
  });

  it('lets a viewer read targets and deliveries but change nothing', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1300, height: 900 } });
    const p = await ctx.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await login(p, ...fx.viewer);
    await p.goto(`${fx.url}/#/accounts/${ids.Sandbox}`);
    await p.waitForSelector('#targets-list tr.target');
    assert.equal(await p.$$eval('#new-target, #targets button', (e) => e.length), 0);
    await p.click(`#targets-list tr[data-id="${ids.Hook}"] a.edit`);
    await p.waitForSelector('#target-form');
    assert.equal(await p.$$eval('#target-form #save, #target-form #delete', (e) => e.length), 0);
    assert.equal(await p.isDisabled('#t-url'), true);
    assert.equal(await p.isDisabled('#t-kind'), true);
    await p.goto(`${fx.url}/#/deliveries`);
    await p.waitForSelector('#deliveries');
    assert.equal(await p.$$eval('#replay-all, #deliveries button.replay', (e) => e.length), 0);
    assert.ok(await p.$$eval('#deliveries tbody tr.failed', (e) => e.length) > 0, 'the viewer sees the failures');
    await p.goto(`${fx.url}/#/messages/${(await call('GET', `/deliveries?target=${ids.Ticketing}`)).deliveries[0].message.id}`);
    await p.waitForSelector('#message-deliveries tr.delivery');
    assert.equal(await p.$$eval('#message-deliveries button', (e) => e.length), 0);
    const r = await apiCall(p, 'POST', `/targets/${ids.Hook}/test`);
    assert.equal(r.status, 403);
    await ctx.close();
  });

  it('replays the failures once the target is fixed, one from the message and the rest from the list', async () => {
    await openAccount('Support box');
    await targetRow('Ticketing').locator('a.edit').click();
    await page.waitForSelector('#target-form');
    await page.fill('#t-command', 'cat >/dev/null');
    await page.click('#save');
    await page.waitForSelector('#targets-list td.where >> text="cat >/dev/null"');
    assert.equal(await targetRow('Ticketing').locator('td.failed').textContent(), '2');

    // one from the message's page
    const failed = (await call('GET', `/deliveries?state=failed&target=${ids.Ticketing}`)).deliveries;
    const order = failed.find((d) => d.message.subject === 'Order 1234 is late');
    await page.goto(`${fx.url}/#/messages/${order.message.id}`);
    await page.click('#message-deliveries button.replay');
    await page.waitForSelector('#toast.ok >> text=Delivery queued again.');
    await until(`/deliveries/${order.id}`, (d) => d.state === 'delivered', 'the replayed delivery');
    await page.reload();
    await page.waitForSelector('#message-deliveries tr.delivery.delivered');
    assert.equal(await page.$$eval('#message-deliveries button.replay', (e) => e.length), 0);

    // the rest: Replay all shown, by the list's filter
    await page.goto(`${fx.url}/#/deliveries?target=${ids.Ticketing}`);
    await page.waitForSelector('#replay-all');
    assert.equal(await page.textContent('#replay-all'), 'Replay all shown (1)');
    await page.click('#replay-all');
    await page.waitForSelector('#toast.ok >> text=1 delivery queued again.');
    await page.waitForSelector('#deliveries-none');
    await until(`/deliveries?state=delivered&target=${ids.Ticketing}`, (d) => d.total === 2, 'both delivered');
    await page.selectOption('#d-state', 'delivered');
    await page.click('#d-submit');
    await page.waitForSelector('main h1 >> text=Completed deliveries');
    assert.equal(await page.$$eval('#deliveries tbody tr.delivered', (e) => e.length), 2);
    await page.goto(`${fx.url}/#/inbox?account=${ids['Support box']}`);
    await page.waitForSelector('#inbox tbody tr');
    assert.deepEqual(await page.$$eval('#inbox td.delivery', (tds) => tds.map((td) => td.textContent)),
      ['delivered', 'delivered']);
    await openAccount('Support box');
    assert.deepEqual(await targetRow('Ticketing').locator('td.failed, td.delivered').allTextContents(), ['0', '2']);
  });

  it('shows the new pages in Português, with no English label left', async () => {
    // labels, headings, buttons and help: the console's words, not the data
    const english = ['Delivery target', 'Add target', 'Send a test', 'Delivers to', 'Failed deliveries', 'Replay',
      'Attempts', 'Reason', 'Last response', 'Timeout', 'Retry', 'order', 'Do not deliver', 'Signing secret',
      'Stop status', 'Command line', 'Recipients', 'Deliver', 'pending', 'delivered', 'failed', 'Enabled', 'Kind',
      'Directory', 'Auto-replies', 'Yes', 'Test delivery', 'hours', 'days', 'Since', 'State', 'Target',
      'For every kind', 'Allow plain HTTP', 'None (unsigned)', 'Unix socket', 'Host and port', 'auto-reply'];
    // the data's options (accounts, targets, credentials) are names, not labels
    const DATA = '#d-account, #d-target, #t-secret_credential, #i-account, #a-credential, #a-connector';
    const leftovers = async () => page.$$eval(
      'main h1, main h2, main th, main label, main legend, main button, main summary, main option, main .help, ' +
      'main .delivery-state, main .badge, main td.kind, main td.enabled, main p.outcome, main .empty, main a.edit, main a.button',
      (els, [words, data]) => els.filter((e) => !(e.matches('option') && e.value !== '' && e.closest(data)))
        .map((e) => e.textContent).filter((text) => words.some((w) => text.includes(w))), [english, DATA]);
    await page.goto(`${fx.url}/#/accounts/${ids.Sandbox}`);
    await page.selectOption('#language', 'pt-BR');
    await page.waitForSelector('#targets h2 >> text=Destinos de entrega');
    await testDelivery('MDA');
    assert.match(await page.textContent(`tr.test-row[data-for="${ids.MDA}"] p.outcome`), /^(A entrega|Entrega) de teste/);
    assert.deepEqual(await leftovers(), []);
    await shot('targets-card-pt-BR');
    for (const [id, kind] of [[ids.Hook, 'webhook'], [ids.LMTP, 'lmtp'], [ids.MDA, 'command']]) {
      await page.goto(`${fx.url}/#/accounts/${ids.Sandbox}/targets/${id}`);
      await page.waitForSelector('#target-form');
      assert.equal(await page.inputValue('#t-kind'), kind);
      assert.deepEqual(await leftovers(), [], kind);
      await shot(`target-form-${kind}-pt-BR`);
    }
    await page.selectOption('#t-kind', 'maildir');
    assert.equal(await page.textContent('label[for="t-path"]'), 'Diretório (o Maildir)');
    await page.goto(`${fx.url}/#/deliveries?state=delivered`);
    await page.waitForSelector('#deliveries');
    assert.equal(await page.textContent('nav a.active'), 'Entregas com falha');
    assert.deepEqual(await leftovers(), []);
    await shot('deliveries-pt-BR');
    await page.goto(`${fx.url}/#/deliveries`);
    await page.waitForSelector('main h1 >> text=Entregas com falha');
    assert.deepEqual(await leftovers(), []);
    await page.goto(`${fx.url}/#/inbox?account=${ids['Support box']}`);
    await page.waitForSelector('#inbox tbody tr');
    assert.ok((await page.$$eval('#inbox th', (th) => th.map((x) => x.textContent))).includes('Entrega'));
    assert.deepEqual(await leftovers(), []);
    await shot('inbox-deliveries-pt-BR');
    await page.click('#inbox a.subject >> text=Out of office');
    await page.waitForSelector('#message-deliveries');
    assert.match(await page.textContent('#message'), /resposta automática/);
    assert.deepEqual(await leftovers(), []);
    await shot('message-deliveries-pt-BR');
    await page.selectOption('#language', 'en');
  });

  it('raised no script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
