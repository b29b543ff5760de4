// Setting up from an e-mail address (#/accounts/discover), in real headless
// Chromium against run.py's discovery daemon (its --dns is a dnsmasq with SRV
// records of srv.test pointing at the suite's Dovecot), in English and in
// Portuguese: the proposals with their source and probe, the note for a
// service the DNS says is not offered, "Use this" opening the new-account
// form with the values in its query string (prefillFromQuery reading them
// back), an address that is not one refused before asking, and a viewer
// told that only administrators add accounts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';

const fx = JSON.parse(readFileSync(process.env.MR_FIXTURE, 'utf8'));
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
let browser;
const pageErrors = [];

const WORDS = {
  en: { lang: 'en', title: 'Set up from an e-mail address', srv: 'DNS SRV record', ok: /^Probe passed/,
    use: 'Use this', invalid: /^This is not an e-mail address/, admins: /Only an administrator/,
    byHand: 'Enter the server by hand', security: 'SSL (implicit TLS, port 993/995)',
    noSrv: /_pop3\._tcp\.srv\.test says the service is not offered/,
    proposalNote: /^from _imaps\._tcp\.srv\.test \(priority \d+, weight \d+\); the username is a guess/ },
  pt: { lang: 'pt-BR', title: 'Configurar a partir de um endereço de e-mail', srv: 'Registro DNS SRV',
    ok: /^Teste aprovado/, use: 'Usar esta', invalid: /^Isto não é um endereço de e-mail/,
    admins: /Somente um administrador/, byHand: 'Informar o servidor manualmente',
    security: 'SSL (TLS implícito, porta 993/995)',
    noSrv: /_pop3\._tcp\.srv\.test diz que o serviço não é oferecido/,
    proposalNote: /^de _imaps\._tcp\.srv\.test \(prioridade \d+, peso \d+\); o usuário é um palpite/ },
};

async function login(p, user, password) {
  await p.goto(`${fx.disc_url}/#/login`);
  await p.fill('#login-user', user);
  await p.fill('#login-password', password);
  await p.click('#login-submit');
  await p.waitForSelector('#nav a');
}

async function setLanguage(p, lang) {
  await p.selectOption('#language', lang);
  await p.waitForFunction((l) => document.documentElement.lang === l, lang);
}

async function open(p) {
  await p.goto(`${fx.disc_url}/#/accounts/discover`);
  await p.reload();
  await p.waitForSelector('h1');
}

describe('Set up from an e-mail address', () => {
  before(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
  });
  after(async () => {
    await browser?.close();
    assert.deepEqual(pageErrors, []);
  });

  for (const w of Object.values(WORDS)) {
    it(`proposes the SRV servers, probed, and fills the form (${w.lang})`, async () => {
      const page = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
      page.on('pageerror', (e) => pageErrors.push(e.message));
      await login(page, 'admin', fx.admin_password);
      await setLanguage(page, w.lang);
      await open(page);
      assert.equal(await page.textContent('h1'), w.title);
      assert.equal(await page.textContent('#discover-by-hand'), w.byHand);
      assert.equal(await page.getAttribute('#discover-by-hand', 'href'), '#/accounts/new');
      // not an address: said in the page's language, nothing asked
      await page.fill('#discover-email', 'not-an-address');
      await page.click('#discover-run');
      assert.match(await page.textContent('#discover-error'), w.invalid);
      await page.fill('#discover-email', 'ana@srv.test');
      await page.click('#discover-run');
      await page.waitForSelector('#discover-result[data-done]', { timeout: 20000 });
      const cards = page.locator('li.proposal');
      assert.equal(await cards.count(), 2);
      const first = cards.nth(0);
      assert.equal(await first.getAttribute('data-source'), 'srv');
      assert.equal(await first.getAttribute('data-ok'), 'yes');
      assert.equal(await first.locator('.badge').textContent(), w.srv);
      assert.equal(await first.locator('dd.port').textContent(), String(fx.ports.imaps));
      assert.equal(await first.locator('dd.security').textContent(), w.security);
      assert.match(await first.locator('p.probe').textContent(), w.ok);
      assert.equal(await cards.nth(1).getAttribute('data-ok'), 'yes');
      await page.click('#discover-notes summary').catch(() => {});
      // the daemon's notes, the run's and each proposal's, in the page's language
      assert.match(await page.textContent('#discover-notes'), w.noSrv);
      assert.match(await first.locator('p.note').textContent(), w.proposalNote);
      await page.screenshot({ path: `${fx.shots}/discover-${w.lang}.png`, fullPage: true });
      assert.equal(await first.locator('button.use-proposal').textContent(), w.use);
      await first.locator('button.use-proposal').click();
      await page.waitForFunction(() => location.hash.startsWith('#/accounts/new?'));
      const hash = await page.evaluate(() => location.hash);
      const q = new URLSearchParams(hash.split('?')[1]);
      assert.deepEqual([q.get('protocol'), q.get('address'), q.get('port'), q.get('security'), q.get('credential_kind')],
        ['imap', 'localhost', String(fx.ports.imaps), 'tls', 'password']);
      const values = await page.evaluate(async (h) => {
        const m = await import('/js/views/discover.js');
        return [m.prefillFromQuery(new URLSearchParams(h.split('?')[1])),
          m.prefillFromQuery('?protocol=smtp&address=bad host&port=99999&security=x&credential_kind=pin')];
      }, hash);
      assert.deepEqual(values[0], { protocol: 'imap', address: 'localhost', port: fx.ports.imaps, security: 'tls',
        credential_kind: 'password', username: 'ana@srv.test' });
      assert.deepEqual(values[1], {});
      // the form takes the proposal, and says which credential the server needs
      await page.waitForSelector('#account-form');
      assert.equal(await page.inputValue('#a-address'), 'localhost');
      assert.equal(await page.inputValue('#a-port'), String(fx.ports.imaps));
      assert.equal(await page.inputValue('#a-protocol'), 'imap');
      assert.match(await page.textContent('#credential-needed'), w.lang === 'en' ? /needs: Password/ : /precisa de: Senha/);
      await page.screenshot({ path: `${fx.shots}/discover-form-${w.lang}.png`, fullPage: true });
      // and the new-account form offers the way back
      await page.goto(`${fx.disc_url}/#/accounts/new`);
      await page.waitForSelector('#discover-entry');
      assert.equal(await page.getAttribute('#discover-entry', 'href'), '#/accounts/discover');
      await page.context().close();
    });
  }

  it('tells a viewer that administrators add accounts', async () => {
    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await login(page, ...fx.viewer);
    await setLanguage(page, 'pt-BR');
    await open(page);
    assert.match(await page.textContent('#discover-admins'), WORDS.pt.admins);
    assert.equal(await page.locator('#discover-email').count(), 0);
    await setLanguage(page, 'en');
    await page.context().close();
  });
});
