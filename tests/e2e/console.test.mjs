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
  await p.check('#a-secure-yes');
  await p.check(`#a-security-${a.security}`);
  await p.check('#a-skip_certificate-yes');
}

// A new account's form, afresh (the same address again would keep the last one's state).
async function newAccountForm(p) {
  await p.goto(`${fx.url}/#/accounts/new`);
  await p.reload();
  await p.waitForSelector('#account-form');
}

// Saves the account form: back on the report, or the errors the form shows.
async function saveAccount(p) {
  await p.click('#save');
  await p.waitForSelector('#report, #account-form .field-error:not([hidden]), #form-error:not([hidden])');
  const errors = await p.$$eval('#account-form .field-error:not([hidden]), #form-error:not([hidden])',
    (els) => els.map((e) => `${e.id}: ${e.textContent}`));
  assert.deepEqual(errors, []);
  await p.waitForSelector('#report');
}

// The account form's Advanced part, opened (it stays open once opened).
async function openAdvanced(p) {
  if (await p.getAttribute('#advanced', 'open') === null) await p.click('#advanced > summary');
}

// A report row's Actions menu item: the menu opens first.
async function rowAction(p, name, item) {
  const row = p.locator('#report tbody tr[data-id]', { has: p.locator(`td.name >> text="${name}"`) });
  await row.locator('details.row-menu > summary').click();
  return row.locator(`.menu-items ${item}`);
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
    context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1366, height: 900 } });
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

  it('says what to do first while there are no accounts', async () => {
    await page.goto(`${fx.url}/#/accounts`);
    await page.waitForSelector('#report-empty');
    assert.equal(await page.getAttribute('#report-empty', 'data-kind'), 'none');
    assert.match(await page.textContent('#report-empty'), /No IMAP\/POP3 accounts yet.*Add a credential.*Add an account.*Fetch now/s);
    assert.equal(await page.getAttribute('#empty-credential', 'href'), '#/credentials/new');
    assert.equal(await page.getAttribute('#empty-account', 'href'), '#/accounts/new');
    await page.screenshot({ path: `${fx.shots}/report-empty.png` });
    await page.selectOption('#language', 'pt-BR');
    await page.waitForSelector('#report-empty h2 >> text=Ainda não há contas IMAP/POP3');
    assert.match(await page.textContent('#report-empty'), /Cadastre uma credencial.*Cadastre uma conta.*Buscar agora/s);
    await page.screenshot({ path: `${fx.shots}/report-empty-pt-BR.png` });
    // filters that leave nothing: a way back, not the first steps
    await page.goto(`${fx.url}/#/accounts?name=nothing-like-this`);
    await page.waitForSelector('#report-empty[data-kind="filtered"]');
    assert.match(await page.textContent('#report-empty'), /Nenhuma conta corresponde a estes filtros/);
    await page.selectOption('#language', 'en');
    await page.click('#clear-filters');
    await page.waitForSelector('#report-empty[data-kind="none"]');
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

  // The product documents' fields, in their order (000/001; 002 for the Portuguese words)
  const FORM_FIELDS = ['name', 'keep_copy', 'automatic_check', 'enabled', 'address', 'port', 'protocol',
    'use_connector', 'connector', 'credential', 'skip_certificate', 'secure', 'security', 'folder', 'auth'];
  const LABELS = {
    en: ['Account name', 'Keep a copy on the server', 'Automatic check', 'Enabled', 'Address', 'Port', 'Protocol',
      'Use Network Connector', 'Network Connector', 'Credential for authentication', 'Skip certificate?',
      'Use secure connection', 'Secure connection type', 'Mailbox folder', 'Authentication mechanism'],
    'pt-BR': ['Nome da conta', 'Manter cópia no servidor', 'Verificação automática', 'Ativo', 'Endereço', 'Porta',
      'Protocolo', 'Usar Network Connector', 'Network Connector', 'Credencial para autenticação',
      'Ignorar certificado', 'Usar conexão segura', 'Tipo de conexão segura', 'Pasta da caixa postal',
      'Mecanismo de autenticação'],
  };
  const formLayout = (p) => p.$$eval('#account-form [data-field]', (els) => els
    .filter((e) => !e.closest('#advanced'))
    .map((e) => {
      const label = e.querySelector(':scope > label, :scope > legend');
      return { field: e.dataset.field, label: label.firstChild.textContent, required: !!label.querySelector('.required'),
        section: e.closest('#server-section') ? 'server' : '', radios: e.querySelectorAll('input[type=radio]').length };
    }));

  it('lays the form out as the product documents do, in both languages', async () => {
    await newAccountForm(page);
    await page.waitForSelector('#account-form');
    for (const lang of ['en', 'pt-BR']) {
      await page.selectOption('#language', lang);
      await page.waitForSelector(`#account-form h1 >> text=${lang === 'en' ? 'IMAP Configuration / POP3' : 'Configuração IMAP/POP3'}`);
      const layout = await formLayout(page);
      assert.deepEqual(layout.map((f) => f.field), FORM_FIELDS);
      assert.deepEqual(layout.map((f) => f.label), LABELS[lang]);
      assert.deepEqual(layout.filter((f) => f.required).map((f) => f.field), ['name', 'address', 'protocol', 'credential']);
      assert.deepEqual(layout.filter((f) => f.section).map((f) => f.field), FORM_FIELDS.slice(4, 13));
      // Yes/No are radio buttons; the secure connection type too (its three kinds)
      assert.deepEqual(layout.filter((f) => f.radios).map((f) => [f.field, f.radios]), [['keep_copy', 2],
        ['automatic_check', 2], ['enabled', 2], ['use_connector', 2], ['skip_certificate', 2], ['secure', 2], ['security', 3]]);
      assert.equal(await page.textContent('#server-title'), lang === 'en' ? 'Server configuration' : 'Configuração do servidor');
      assert.equal(await page.textContent('#advanced > summary'), lang === 'en' ? 'Advanced' : 'Avançado');
      assert.equal(await page.getAttribute('#advanced', 'open'), null, 'Advanced starts folded');
      const yes = lang === 'en' ? 'Yes' : 'Sim';
      assert.equal(await page.textContent('label[for="a-enabled-yes"]'), yes);
      await page.screenshot({ path: `${fx.shots}/account-form-new${lang === 'en' ? '' : '-pt-BR'}.png`, fullPage: true });
      await page.click('#advanced > summary');
      const advanced = await page.$$eval('#advanced [data-field]', (els) => els.map((e) => e.dataset.field));
      assert.deepEqual(advanced, ['interval', 'push', 'max_message_size', 'ca_file', 'after_fetch', 'move_folder', 'create_folder',
        'action_when', 'step_timeout', 'min_speed', 'min_speed_time', 'size_tolerance']);
      await page.screenshot({ path: `${fx.shots}/account-form-advanced${lang === 'en' ? '' : '-pt-BR'}.png`, fullPage: true });
      await page.click('#advanced > summary');
    }
    await page.selectOption('#language', 'en');
    await page.evaluate(() => localStorage.removeItem('mailroom.accountAdvanced'));
  });

  it('checks the fields as they are typed and left, and again on Save', async () => {
    await newAccountForm(page);
    await page.waitForSelector('#account-form');
    const before = JSON.parse((await apiCall(page, 'GET', '/accounts')).body).total;
    // nothing is said before a field is left
    await page.fill('#a-address', 'bad host');
    assert.equal(await page.isHidden('#err-address'), true);
    await page.press('#a-address', 'Tab');
    await page.waitForSelector('#err-address:not([hidden])');
    assert.match(await page.textContent('#err-address'), /‘bad host’ is not a valid host name/);
    // once left, it is checked as it is typed
    await page.fill('#a-address', 'mail.example.com');
    await page.waitForSelector('#err-address', { state: 'hidden' });
    await page.fill('#a-address', '999.1.1.1');
    await page.waitForSelector('#err-address:not([hidden])');
    await page.fill('#a-address', '127.0.0.1');
    await page.fill('#a-port', '70000');
    await page.press('#a-port', 'Tab');
    assert.match(await page.textContent('#err-port'), /between 1 and 65535/);
    await page.fill('#a-name', '12345');
    await page.press('#a-name', 'Tab');
    assert.match(await page.textContent('#err-name'), /only digits/);
    await page.fill('#a-name', 'ç'.repeat(101)); // characters, not bytes, as the server counts them
    assert.equal(await page.textContent('#err-name'), 'Use at most 100 characters.');
    await page.fill('#a-name', 'ç'.repeat(100));
    await page.waitForSelector('#err-name', { state: 'hidden' });
    await page.fill('#a-name', '');
    // Save checks every field: the hidden ones under Advanced open it
    await page.click('#advanced > summary');
    await page.fill('#a-interval', '5');
    await page.click('#advanced > summary');
    await page.click('#save');
    await page.waitForSelector('#form-error:not([hidden])');
    assert.match(await page.textContent('#form-error'), /Correct the marked fields \(4\)/);
    assert.deepEqual(await page.$$eval('#account-form .field-error:not([hidden])', (els) => els.map((e) => e.id)),
      ['err-name', 'err-port', 'err-credential', 'err-interval']);
    assert.equal(await page.textContent('#err-name'), 'This field is required.');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'a-name');
    assert.notEqual(await page.getAttribute('#advanced', 'open'), null);
    assert.match(await page.textContent('#err-interval'), /between 30 and 604800/);
    await page.screenshot({ path: `${fx.shots}/account-form-errors.png`, fullPage: true });
    // in Portuguese, the same checks in Portuguese
    await page.selectOption('#language', 'pt-BR');
    await page.waitForSelector('#account-form h1 >> text=Configuração IMAP/POP3');
    await page.fill('#a-address', 'não é host');
    await page.click('#save');
    await page.waitForSelector('#form-error:not([hidden])');
    assert.equal(await page.textContent('#err-name'), 'Este campo é obrigatório.');
    assert.match(await page.textContent('#err-address'), /não é um nome de host ou endereço IP válido/);
    assert.match(await page.textContent('#form-error'), /Corrija os campos marcados/);
    await page.screenshot({ path: `${fx.shots}/account-form-errors-pt-BR.png`, fullPage: true });
    await page.selectOption('#language', 'en');
    assert.equal(JSON.parse((await apiCall(page, 'GET', '/accounts')).body).total, before, 'nothing was sent');
    await page.evaluate(() => localStorage.removeItem('mailroom.accountAdvanced'));
  });

  it('enables the fields that depend on others, keeping what they hold', async () => {
    await newAccountForm(page);
    await page.waitForSelector('#account-form');
    assert.equal(await page.isDisabled('#a-connector'), true, 'the connector only with Use Network Connector = Yes');
    await page.check('#a-use_connector-yes');
    assert.equal(await page.isDisabled('#a-connector'), false);
    await page.check('#a-use_connector-no');
    assert.equal(await page.isDisabled('#a-connector'), true);
    // no default connector is set: Yes with a blank one is refused as it is chosen
    await page.check('#a-use_connector-yes');
    await page.press('#a-connector', 'Tab');
    assert.match(await page.textContent('#err-connector'), /Choose a Network Connector/);
    await page.check('#a-use_connector-no');
    await page.waitForSelector('#err-connector', { state: 'hidden' });
    // the secure connection type only with Use secure connection = Yes; its choice stays
    await page.check('#a-security-starttls');
    await page.check('#a-secure-no');
    assert.equal(await page.isDisabled('#a-security-starttls'), true);
    assert.equal(await page.isChecked('#a-security-starttls'), true);
    assert.equal(await page.isVisible('#note-security'), true);
    assert.equal(await page.getAttribute('#a-port', 'placeholder'), 'default 143');
    // Skip certificate is the admin's answer whatever the security
    await page.check('#a-skip_certificate-yes');
    assert.equal(await page.isDisabled('#a-skip_certificate-yes'), false);
    await page.check('#a-secure-yes');
    assert.equal(await page.isChecked('#a-security-starttls'), true);
    assert.equal(await page.isChecked('#a-skip_certificate-yes'), true);
    // POP3: no folder (a note says a typed one is not saved), a size tolerance
    await page.fill('#a-folder', 'INBOX.Support');
    await page.selectOption('#a-protocol', 'pop3');
    assert.equal(await page.isDisabled('#a-folder'), true);
    assert.equal(await page.inputValue('#a-folder'), 'INBOX.Support');
    assert.equal(await page.isVisible('#note-folder'), true);
    await page.selectOption('#a-protocol', 'imap');
    assert.equal(await page.isVisible('#note-folder'), false);
    // a mechanism POP3 has and IMAP not shows as auto on IMAP, and comes back on POP3
    await page.selectOption('#a-protocol', 'pop3');
    await page.selectOption('#a-auth', 'APOP');
    await page.selectOption('#a-protocol', 'imap');
    assert.equal(await page.inputValue('#a-auth'), 'auto');
    await page.selectOption('#a-protocol', 'pop3');
    assert.equal(await page.inputValue('#a-auth'), 'APOP');
    await page.selectOption('#a-protocol', 'imap');
    // Automatic check = No: the interval waits, as it was
    await page.click('#advanced > summary');
    await page.check('#a-automatic_check-no');
    assert.equal(await page.isDisabled('#a-interval'), true);
    assert.equal(await page.inputValue('#a-interval'), '300');
    await page.click('#advanced > summary');
    await page.evaluate(() => localStorage.removeItem('mailroom.accountAdvanced'));
  });

  it('adds an IMAP account; Test connection shows every step green', async () => {
    await newAccountForm(page);
    await fillAccount(page, { name: 'Support IMAP', protocol: 'imap', port: fx.ports.imaps,
      security: 'tls', credential: 'mailbox' });
    assert.equal(await page.getAttribute('#a-port', 'placeholder'), 'default 993');
    assert.equal(await page.isDisabled('#a-connector'), true, 'connector only with Use network connector');
    const steps = await testConnection(page);
    assert.deepEqual(steps.map((s) => s.step).slice(0, 3), ['resolve', 'connect', 'tls']);
    for (const s of steps) assert.notEqual(s.result, 'failed', `${s.step}: ${s.detail}`);
    // the folder field offers the server's folders, with their special uses
    const folders = await page.$$eval('#a-folder-list option', (os) => os.map((o) => [o.value, o.textContent]));
    for (const f of fx.folders) assert.ok(folders.some(([v]) => v === f), `${f} in ${JSON.stringify(folders)}`);
    assert.ok(folders.some(([v, use]) => v === 'INBOX.Sent' && use === 'Sent'), JSON.stringify(folders));
    assert.ok(folders.some(([v]) => v === 'INBOX'));
    assert.match(await page.textContent('#folder-help'), new RegExp(`^${folders.length} folders from the last Test connection`));
    await page.screenshot({ path: `${fx.shots}/account-form-test.png`, fullPage: true });
    await page.click('#save');
    await page.waitForSelector('#report tbody tr >> text=Support IMAP');
  });

  it('adds a POP3 account with STARTTLS; a wrong password fails at authentication', async () => {
    await newAccountForm(page);
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
    await newAccountForm(page);
    await page.fill('#a-name', 'Support IMAP');
    await page.fill('#a-address', 'not a host');
    await page.click('#save');
    // the form's own checks, before anything is sent
    await page.waitForSelector('#err-address:not([hidden])');
    assert.match(await page.textContent('#err-address'), /not a valid host name/);
    assert.match(await page.textContent('#err-credential'), /required/);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'a-address', 'the first wrong field has the focus');
    // what only the server knows (the name is taken) lands next to its field too
    await page.fill('#a-address', '127.0.0.1');
    await page.selectOption('#a-credential', { label: `mailbox (${fx.mail_user})` });
    await page.waitForSelector('#err-address', { state: 'hidden' });
    await page.click('#save');
    await page.waitForSelector('#err-name:not([hidden])');
    assert.match(await page.textContent('#err-name'), /named 'Support IMAP' already exists/);
    assert.equal(await page.getAttribute('#a-name', 'aria-invalid'), 'true');
  });

  it('sets the limits for slow and inexact servers, in both languages', async () => {
    await page.goto(`${fx.url}/#/accounts`);
    await (await rowAction(page, 'Alerts POP3', 'a.edit')).click();
    await page.waitForSelector('#account-form');
    assert.equal(await page.getAttribute('#advanced', 'open'), null, 'closed while all are defaults');
    await page.click('#advanced > summary');
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
    await page.evaluate(() => window.scrollTo(0, 0)); // Chromium leaves the full page's scroll behind
    await saveAccount(page);
    const saved = JSON.parse((await apiCall(page, 'GET', '/accounts?name=Alerts')).body).accounts[0];
    assert.deepEqual([saved.step_timeout, saved.min_speed, saved.min_speed_time, saved.size_tolerance],
      [90, 512, 60, 3]);
    await page.evaluate(() => localStorage.removeItem('mailroom.accountAdvanced'));
    await (await rowAction(page, 'Alerts POP3', 'a.edit')).click();
    await page.waitForSelector('#account-form');
    assert.notEqual(await page.getAttribute('#advanced', 'open'), null, 'open when one is set');
    assert.equal(await page.inputValue('#a-step_timeout'), '90');
    await page.selectOption('#a-protocol', 'imap');
    assert.equal(await page.isDisabled('#a-size_tolerance'), true, 'IMAP sizes are exact');
    await page.selectOption('#a-protocol', 'pop3');
    await page.selectOption('#language', 'pt-BR');
    await page.waitForSelector('#limits >> text=Servidores lentos ou imprecisos');
    assert.match(await page.textContent('#advanced'), /Tempo limite por etapa/);
    await page.screenshot({ path: `${fx.shots}/account-limits-pt-BR.png`, fullPage: true });
    await page.selectOption('#language', 'en');
    // back to the defaults: the later tests expect them
    const r = await apiCall(page, 'PATCH', `/accounts/${saved.id}`,
      { step_timeout: null, min_speed: null, size_tolerance: null });
    assert.equal(r.status, 200, r.body);
  });

  it('chooses what happens on the server after fetch, with keep copy', async () => {
    const edit = async (name) => {
      await page.goto(`${fx.url}/#/accounts`);
      await (await rowAction(page, name, 'a.edit')).click();
      await page.waitForSelector('#account-form');
      await openAdvanced(page);
    };
    const get = async (name) => JSON.parse((await apiCall(page, 'GET',
      `/accounts?name=${encodeURIComponent(name)}`)).body).accounts[0];
    await edit('Support IMAP');
    assert.equal(await page.isChecked('#a-keep_copy-yes'), true);
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
    await page.check('#a-create_folder-yes');
    // Keep a copy = No deletes, and hides the move; Yes brings it back as it was
    await page.check('#a-keep_copy-no');
    assert.equal(await page.inputValue('#a-after_fetch'), 'delete');
    assert.equal(await page.isDisabled('#a-after_fetch'), true);
    assert.equal(await page.isVisible('#a-move_folder'), false);
    await page.check('#a-keep_copy-yes');
    assert.equal(await page.inputValue('#a-after_fetch'), 'move');
    assert.equal(await page.inputValue('#a-move_folder'), 'INBOX.Processed');
    assert.equal(await page.isChecked('#a-create_folder-yes'), true);
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
    // an IMAP account moved to POP3 keeps (POP3 cannot move) and says so; back on IMAP the move is there
    await page.selectOption('#a-protocol', 'pop3');
    assert.equal(await page.inputValue('#a-after_fetch'), 'keep');
    assert.equal(await page.isVisible('#note-after_fetch'), true);
    await page.selectOption('#a-protocol', 'imap');
    assert.equal(await page.inputValue('#a-after_fetch'), 'move');
    // POP3 keeps or deletes: marking and moving are not offered (delete is Keep a copy = No)
    await edit('Alerts POP3');
    const hidden = await page.$$eval('#a-after_fetch option', (os) => os.filter((o) => o.hidden).map((o) => o.value));
    assert.deepEqual(hidden, ['seen', 'move', 'delete']);
    await page.check('#a-keep_copy-no');
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
    await (await rowAction(page, 'Support IMAP', 'button.fetch')).click();
    // the row says it is fetching (the menu has closed)
    assert.match(await page.textContent('#report tbody tr[data-id] .fetch-progress'), /^Fetching/);
    await page.waitForSelector('#toast.ok >> text=/new messages/', { timeout: 60000 });
    assert.match(await page.textContent('#toast'), /Support IMAP: 3 new messages/);
    await page.waitForSelector('#report tbody tr[data-id] td.last-check.ok'); // the report, refreshed
    const inbox = await rowAction(page, 'Support IMAP', 'a.inbox');
    assert.equal(await inbox.locator('.badge').textContent(), '3', 'the messages stored, in the menu');
    await inbox.click();
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
    // a Status column: a disabled account does not look like an enabled one
    const headers = await page.$$eval('#report thead th', (th) => th.map((x) => x.textContent));
    assert.deepEqual(headers, ['ID', 'Name', 'Status', 'Secure connection', 'Connection type', 'Protocol', 'Port',
      'Automatic check', 'Keep a copy on the server', 'Last check', 'Actions']);
    await page.goto(`${fx.url}/#/accounts?name=bulk-0`);
    await page.waitForSelector('#report tbody tr[data-id]');
    const status = await page.$$eval('#report tbody tr[data-id]', (trs) => trs.map((tr) =>
      [tr.querySelector('td.name').textContent, tr.querySelector('td.status').textContent, tr.className]));
    assert.deepEqual(status.slice(0, 6), [['bulk-00', 'Disabled', 'disabled'], ['bulk-01', 'Enabled', 'enabled'],
      ['bulk-02', 'Enabled', 'enabled'], ['bulk-03', 'Enabled', 'enabled'], ['bulk-04', 'Enabled', 'enabled'],
      ['bulk-05', 'Disabled', 'disabled']]);
    // every row one line high, the actions in a menu
    const heights = await page.$$eval('#report tbody tr[data-id]', (trs) => trs.map((tr) => tr.getBoundingClientRect().height));
    assert.ok(Math.max(...heights) < 48 && Math.max(...heights) === Math.min(...heights), heights.join(' '));
    const items = await rowAction(page, 'bulk-01', '> *');
    assert.deepEqual(await items.evaluateAll((els) => els.map((e) => e.firstChild.textContent)),
      ['Edit account', 'View inbox', 'Test', 'Fetch now']);
    assert.equal(await page.isVisible('#report tbody tr[data-id]:nth-child(3) .menu-items'), true);
    await page.screenshot({ path: `${fx.shots}/report-row-menu.png` });
    // by keyboard: Escape closes it and gives the focus back; Enter opens it on its first item
    await page.keyboard.press('Escape');
    assert.equal(await page.locator('#report details.row-menu[open]').count(), 0);
    assert.equal(await page.evaluate(() => document.activeElement.tagName), 'SUMMARY');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#report details.row-menu[open]');
    assert.equal(await page.evaluate(() => document.activeElement.className), 'edit');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement.className), 'inbox');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    assert.equal(await page.evaluate(() => document.activeElement.className), 'fetch', 'round from the top');
    await page.keyboard.press('Shift+Tab'); // and no trap: Tab moves through them too
    assert.equal(await page.evaluate(() => document.activeElement.className), 'test');
    await page.keyboard.press('Escape');
    // opening one row's menu closes another's; a click elsewhere closes it
    await rowAction(page, 'bulk-03', 'a.edit');
    await rowAction(page, 'bulk-02', 'a.edit');
    assert.equal(await page.locator('#report details.row-menu[open]').count(), 1);
    await page.click('h1');
    assert.equal(await page.locator('#report details.row-menu[open]').count(), 0);
    await page.goto(`${fx.url}/#/accounts?page=3`);
    await page.waitForFunction(() => document.querySelector('.pager .range')?.textContent === '61–65 of 65');

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
    assert.match(text, /Filters applied: Name: “bulk-”, Secure connection: No, Keep copy: Yes/);
    assert.match(text, /Generated at/);
    assert.equal(await page.$$eval('#print-view tbody tr', (t) => t.length), 11);
    await page.screenshot({ path: `${fx.shots}/report-print.png` });
    // in words in the chosen language, the status too
    await page.goto(`${fx.url}/#/accounts/print?name=bulk-&status=disabled&automatic_check=yes&errors=no`);
    await page.selectOption('#language', 'pt-BR');
    await page.waitForSelector('#print-view h1 >> text=Relatório de configurações IMAP/POP3');
    assert.equal(await page.textContent('#print-filters'),
      'Filtros aplicados: Nome: “bulk-”, Verificação automática: Sim, Situação: Não, Com erros: Não');
    assert.deepEqual(await page.$$eval('#print-view thead th', (th) => th.map((x) => x.textContent)),
      ['Código', 'Nome', 'Situação', 'Conexão segura', 'Tipo conexão', 'Protocolo', 'Porta', 'Verificação automática',
        'Manter cópia no servidor']);
    assert.deepEqual([...new Set(await page.$$eval('#print-view tbody td:nth-child(3)', (td) => td.map((x) => x.textContent)))],
      ['Inativo']);
    await page.screenshot({ path: `${fx.shots}/report-print-pt-BR.png` });
    await page.selectOption('#language', 'en');
    await page.waitForSelector('#print-filters >> text=Filters applied: Name: “bulk-”, Automatic check: Yes, Status: Disabled, With errors: No');
    await page.goto(`${fx.url}/#/accounts?name=bulk-&secure=no&keep_copy=yes`);
    await page.waitForSelector('#report tbody tr[data-id]');
  });

  it('switches to Português and remembers it', async () => {
    await page.goto(`${fx.url}/#/accounts`);
    await page.waitForSelector('#report');
    await page.selectOption('#language', 'pt-BR');
    await page.waitForSelector('h1 >> text=Relatório de configurações IMAP/POP3');
    const headers = await page.$$eval('#report th', (th) => th.map((x) => x.textContent));
    // 002's words: the report fields, the search fields, the menus
    assert.deepEqual(headers, ['Código', 'Nome', 'Situação', 'Conexão segura', 'Tipo conexão', 'Protocolo', 'Porta',
      'Verificação automática', 'Manter cópia no servidor', 'Última verificação', 'Ações']);
    await page.click('#f-more');
    assert.deepEqual(await page.$$eval('#report-search label', (ls) => ls.map((l) => l.textContent)),
      ['Nome', 'Conexão segura', 'Verificação automática', 'Manter cópia', 'Situação', 'Com erros']);
    assert.deepEqual(await page.$$eval('#f-status option', (os) => os.map((o) => o.textContent)), ['Todos', 'Sim', 'Não']);
    assert.equal(await page.textContent('#new-account'), 'Novo');
    await page.click('#report-actions summary');
    assert.deepEqual(await page.$$eval('#report-actions .menu-items a', (as) => as.map((a) => a.textContent)),
      ['Imprimir relatório', 'Exportar CSV', 'Agendar relatório']);
    await page.click('#report-actions summary');
    const items = await rowAction(page, 'Support IMAP', '> *');
    assert.deepEqual(await items.evaluateAll((els) => els.map((e) => e.firstChild.textContent)),
      ['Alterar conta', 'Ver caixa de entrada', 'Testar', 'Buscar agora']);
    assert.equal(await page.textContent('#report tbody tr[data-id] td.status'), 'Ativo');
    await page.screenshot({ path: `${fx.shots}/report-row-menu-pt-BR.png` });
    await page.keyboard.press('Escape');
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
    // the row menu has Edit account and View inbox, not Test or Fetch now
    const menu = await rowAction(p, 'Support IMAP', 'a.edit');
    assert.deepEqual(await p.locator('#report tbody tr[data-id]').first().locator('.menu-items > *')
      .evaluateAll((els) => els.map((e) => e.className)), ['edit', 'inbox']);
    await menu.click();
    await p.waitForSelector('#account-form');
    assert.equal(await p.$('#save'), null);
    assert.equal(await p.$('#add-credential'), null, 'no credential dialog for a viewer');
    assert.equal(await p.isDisabled('#a-name'), true);
    assert.equal(await p.isDisabled('#a-enabled-yes'), true);
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

    await newAccountForm(page);
    await fillAccount(page, { name: 'Via proxy', protocol: 'imap', port: fx.ports.imap,
      security: 'starttls', credential: 'mailbox-proxy' });
    await page.check('#a-automatic_check-no');
    await page.check('#a-use_connector-yes');
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

  // The rest adds accounts and credentials, so it comes after the tests that count them.

  it('never changes a value a dependency disables: Skip certificate stays as chosen', async () => {
    await newAccountForm(page);
    await fillAccount(page, { name: 'Plain, skip kept', protocol: 'imap', port: fx.ports.imap,
      security: 'tls', credential: 'mailbox' });
    await page.check('#a-skip_certificate-yes');
    await page.check('#a-secure-no');
    await page.check('#a-automatic_check-no');
    await page.click('#save');
    await page.waitForURL(/#\/accounts$/);
    const saved = JSON.parse((await apiCall(page, 'GET', `/accounts?name=${encodeURIComponent('Plain, skip kept')}`)).body).accounts[0];
    assert.deepEqual([saved.security, saved.skip_certificate], ['none', true]);
    await page.goto(`${fx.url}/#/accounts/${saved.id}`);
    await page.waitForSelector('#account-form');
    assert.equal(await page.isChecked('#a-skip_certificate-yes'), true);
    assert.equal(await page.isChecked('#a-secure-no'), true);
    // saved again untouched, it is still what was chosen
    await page.click('#save');
    await page.waitForURL(/#\/accounts$/);
    const again = JSON.parse((await apiCall(page, 'GET', `/accounts/${saved.id}`)).body);
    assert.deepEqual([again.security, again.skip_certificate], ['none', true]);
  });

  it('adds a credential in a dialog: the half-filled form stays, with it chosen', async () => {
    await newAccountForm(page);
    await page.waitForSelector('#account-form');
    await page.fill('#a-name', 'Dialog account');
    await page.fill('#a-address', '127.0.0.1');
    await page.fill('#a-port', String(fx.ports.imaps));
    await page.check('#a-skip_certificate-yes');
    await page.click('#add-credential');
    await page.waitForSelector('#credential-dialog[open] #credential-form');
    assert.equal(await page.evaluate(() => document.activeElement.closest('dialog')?.id), 'credential-dialog');
    // a mistake is shown in the dialog, which stays open
    await page.click('#credential-dialog #save');
    await page.waitForSelector('#credential-dialog #err-name:not([hidden])');
    assert.equal(await page.isVisible('#credential-dialog'), true);
    await page.screenshot({ path: `${fx.shots}/credential-dialog.png` });
    // Cancel leaves the form as it was
    await page.click('#credential-dialog #cancel');
    await page.waitForSelector('#credential-dialog', { state: 'hidden' });
    assert.equal(await page.inputValue('#a-name'), 'Dialog account');
    await page.click('#add-credential');
    await page.waitForSelector('#credential-dialog[open] #c-name');
    await page.fill('#credential-dialog #c-name', 'from-the-dialog');
    await page.fill('#credential-dialog #c-username', fx.mail_user);
    await page.fill('#credential-dialog #c-password', fx.mail_password);
    await page.click('#credential-dialog #save');
    await page.waitForSelector('#credential-dialog', { state: 'hidden' });
    assert.match(page.url(), /#\/accounts\/new$/);
    assert.equal(await page.inputValue('#a-name'), 'Dialog account');
    assert.equal(await page.inputValue('#a-port'), String(fx.ports.imaps));
    assert.equal(await page.isChecked('#a-skip_certificate-yes'), true);
    assert.equal(await page.$eval('#a-credential', (s) => s.selectedOptions[0].textContent), `from-the-dialog (${fx.mail_user})`);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'a-credential');
    assert.equal(await page.$$eval('#credential-dialog *', (e) => e.length), 0, 'the dialog is emptied: no second form');
    assert.ok(!(await page.content()).includes(fx.mail_password), 'a secret reached the page');
    // in Portuguese too
    await page.selectOption('#language', 'pt-BR');
    await page.waitForSelector('#add-credential >> text=Adicionar uma credencial');
    await page.click('#add-credential');
    await page.waitForSelector('#credential-dialog[open] h1 >> text=Nova credencial');
    await page.screenshot({ path: `${fx.shots}/credential-dialog-pt-BR.png` });
    await page.keyboard.press('Escape');
    await page.waitForSelector('#credential-dialog', { state: 'hidden' });
    await page.selectOption('#language', 'en');
  });

  it('offers the server’s folders in the folder field; a picked one works', async () => {
    await newAccountForm(page);
    await fillAccount(page, { name: 'Picked folder', protocol: 'imap', port: fx.ports.imaps,
      security: 'tls', credential: 'mailbox' });
    assert.match(await page.textContent('#folder-help'), /Test connection lists the server’s folders here/);
    assert.equal(await page.$$eval('#a-folder-list option', (os) => os.length), 0);
    await testConnection(page);
    const names = await page.$$eval('#a-folder-list option', (os) => os.map((o) => o.value));
    assert.ok(names.includes('INBOX.Suporte.Ações'), names.join(' '));
    assert.equal(await page.getAttribute('#a-folder', 'list'), 'a-folder-list');
    // the list only helps: typing stays free, and the name the list gave is found
    await page.fill('#a-folder', 'INBOX.Suporte.Ações');
    const steps = await testConnection(page);
    for (const s of steps) assert.notEqual(s.result, 'failed', `${s.step}: ${s.detail}`);
    await page.fill('#a-folder', 'INBOX.Suport');
    const missing = await testConnection(page);
    assert.ok(missing.some((s) => s.result === 'failed'), JSON.stringify(missing));
    assert.ok((await page.$$eval('#a-folder-list option', (os) => os.map((o) => o.value))).includes('INBOX.Support'),
      'a missing folder still lists the others');
    await page.fill('#a-folder', 'INBOX.Suporte.Ações');
    await page.check('#a-automatic_check-no');
    await page.screenshot({ path: `${fx.shots}/account-form-folders.png`, fullPage: true });
    await page.click('#save');
    await page.waitForURL(/#\/accounts$/);
    const saved = JSON.parse((await apiCall(page, 'GET', '/accounts?name=Picked%20folder')).body).accounts[0];
    assert.equal(saved.folder, 'INBOX.Suporte.Ações');
    await page.selectOption('#language', 'pt-BR');
    await page.goto(`${fx.url}/#/accounts/${saved.id}`);
    await page.waitForSelector('#account-form');
    await testConnection(page);
    assert.match(await page.textContent('#folder-help'), /pastas do último Testar conexão/);
    assert.ok(await page.$$eval('#a-folder-list option', (os) => os.some((o) => o.value === 'INBOX.Sent' && o.textContent === 'Enviados')));
    await page.screenshot({ path: `${fx.shots}/account-form-folders-pt-BR.png`, fullPage: true });
    await page.selectOption('#language', 'en');
  });

  it('shows a failed check’s reason in its row, the whole of it a click away', async () => {
    const r = await apiCall(page, 'POST', '/accounts', { name: 'Wrong password', protocol: 'imap', address: '127.0.0.1',
      port: fx.ports.imaps, security: 'tls', skip_certificate: true, credential: 'wrong' });
    assert.equal(r.status, 201, r.body);
    await page.goto(`${fx.url}/#/accounts?name=Wrong%20password`);
    await page.waitForSelector('#report tbody tr[data-id]');
    assert.equal(await page.textContent('#report td.last-check .check-text'), 'never');
    await (await rowAction(page, 'Wrong password', 'button.fetch')).click();
    await page.waitForSelector('#toast.error >> text=/Wrong password: fetch failed/', { timeout: 60000 });
    await page.waitForSelector('#report td.last-check.failed');
    const text = await page.textContent('#report td.last-check .check-text');
    assert.match(text, /^✗ .* — .*Authentication failed/);
    assert.equal(await page.isVisible('#report td.last-check .check-text'), true, 'the reason is in the row');
    const height = await page.$eval('#report tbody tr[data-id]', (tr) => tr.getBoundingClientRect().height);
    assert.ok(height < 48, `one line: ${height}`);
    assert.match(await page.getAttribute('#report td.last-check .check-summary', 'title'), /Authentication failed[^]*Next check[^]*0 messages in the inbox/);
    await page.click('#report td.last-check .check-summary');
    assert.equal(await page.getAttribute('#report td.last-check .check-summary', 'aria-expanded'), 'true');
    const more = await page.textContent('#report td.last-check .check-more');
    assert.match(more, /Authentication failed/);
    assert.match(more, /Next check /);
    assert.match(more, /0 messages in the inbox/);
    await page.screenshot({ path: `${fx.shots}/report-failed-check.png` });
    await page.selectOption('#language', 'pt-BR');
    await page.waitForSelector('#report td.last-check.failed');
    await page.click('#report td.last-check .check-summary');
    assert.match(await page.textContent('#report td.last-check .check-more'), /Próxima verificação .*0 mensagens na caixa de entrada/);
    await page.screenshot({ path: `${fx.shots}/report-failed-check-pt-BR.png` });
    await page.selectOption('#language', 'en');
  });

  it('raised no script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
