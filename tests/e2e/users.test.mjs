// The Users page (admins only) and the Network connectors page, in real
// headless Chromium against run.py's daemon, in English and in Portuguese:
// a user added, its role changed, its password reset (generated, shown
// once) and used to log in, an API token revoked (after a confirmation),
// the user removed; a viewer told the page is for administrators (and the
// API refusing it); the navigation on one line at 1366 px with every entry
// and one more; connectors with their kind in words, a Test per row
// through the suite's Dante, and an empty state that says what they are for.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { apiCall } from './helpers.mjs';

const fx = JSON.parse(readFileSync(process.env.MR_FIXTURE, 'utf8'));
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WIDE = { width: 1366, height: 900 };
let browser, page;
const pageErrors = [];
const dialogs = [];

const WORDS = {
  en: { lang: 'en', title: 'Users and API tokens', add: 'Add user', admin: 'Administrator', viewer: 'Viewer',
    reset: 'Reset password', revoke: 'Revoke', remove: 'Remove', confirmRevoke: /^Revoke the API token “ci” of /,
    confirmRemove: /^Remove the user .*API tokens are revoked/, denied: /Only administrators can see and change users/,
    socks: 'SOCKS5 proxy', http: 'HTTP proxy (CONNECT)', none: /No network connector yet\./,
    what: /A network connector is a proxy/, testOk: /every step passed/, extra: 'Dashboard',
    short: /at least 10 characters/,
    lastAdmin: /^admin is the last administrator: make another user an administrator first\.$/ },
  pt: { lang: 'pt-BR', title: 'Usuários e tokens de API', add: 'Adicionar usuário', admin: 'Administrador',
    viewer: 'Visualizador', reset: 'Redefinir senha', revoke: 'Revogar', remove: 'Remover',
    confirmRevoke: /^Revogar o token de API “ci” de /, confirmRemove: /^Remover o usuário .*tokens de API revogados/,
    denied: /Somente administradores podem ver e alterar usuários/, socks: 'Proxy SOCKS5',
    http: 'Proxy HTTP (CONNECT)', none: /Nenhum Network Connector ainda\./, what: /Um Network Connector é um proxy/,
    testOk: /todas as etapas passaram/, extra: 'Painel', short: /pelo menos 10 caracteres/,
    lastAdmin: /^admin é o último administrador: torne outro usuário administrador antes\.$/ },
};

async function login(p, base, user, password) {
  await p.goto(`${base}/#/login`);
  await p.fill('#login-user', user);
  await p.fill('#login-password', password);
  await p.click('#login-submit');
  await p.waitForSelector('#nav a');
}

async function call(p, method, path, body, status = 200) {
  const r = await apiCall(p, method, path, body);
  assert.equal(r.status, status, `${method} ${path}: ${r.body}`);
  return r.body ? JSON.parse(r.body) : null;
}

async function setLanguage(p, lang) {
  await p.selectOption('#language', lang);
  await p.waitForFunction((l) => document.documentElement.lang === l, lang);
}

// Answers the next confirm() and keeps its text.
function acceptNextDialog(p) {
  p.once('dialog', (d) => { dialogs.push(d.message()); d.accept(); });
}

async function openUsers(p = page) {
  await p.goto(`${fx.url}/#/users`);
  await p.reload(); // drawn anew, also when it was the page already
  await p.waitForSelector('#users tbody tr[data-id]');
}

const userRow = (name) => page.locator(`#users tbody tr[data-name="${name}"]`);

describe('Users and Network connectors', () => {
  before(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
    page = await (await browser.newContext({ viewport: WIDE })).newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await login(page, fx.url, 'admin', fx.admin_password);
  });
  after(async () => {
    await setLanguage(page, 'en').catch(() => {});
    await browser?.close();
  });

  for (const [key, w] of Object.entries(WORDS)) {
    const name = `user-${key}`;
    const typed = `typed-Password-${key}-1`;

    it(`adds a user, changes its role, resets its password, revokes a token, removes it (${w.lang})`, async () => {
      await setLanguage(page, w.lang);
      await openUsers();
      assert.equal(await page.textContent('h1'), w.title);
      assert.match(await userRow('admin').textContent(), /admin/);
      assert.equal(await userRow('admin').locator('.badge').count(), 1, 'the admin is told which user is theirs');

      // the last admin cannot stop being one: asked first, then refused with the reason
      if ((await call(page, 'GET', '/users')).users.filter((u) => u.role === 'admin').length === 1) {
        await userRow('admin').locator('select.role').selectOption('viewer');
        acceptNextDialog(page);
        await userRow('admin').locator('button.save-role').click();
        await page.waitForSelector('#toast.error');
        assert.match(await page.textContent('#toast'), w.lastAdmin);
        assert.match(dialogs.at(-1), key === 'en' ? /stop being an administrator/ : /deixar de ser administrador/);
        assert.equal((await call(page, 'GET', '/session')).user.role, 'admin');
        await openUsers();
      }

      // add, with a typed password
      await page.fill('#u-name', name);
      await page.selectOption('#u-role', 'viewer');
      await page.check('#u-mode-type');
      await page.fill('#u-password', 'short');
      await page.click('#add-user');
      await page.waitForSelector('#err-password:not([hidden])');
      assert.match(await page.textContent('#err-password'), w.short); // the daemon's words, in the page's language
      await page.fill('#u-password', typed);
      assert.equal(await page.textContent('#add-user'), w.add);
      await page.click('#add-user');
      await userRow(name).waitFor();
      assert.equal(await userRow(name).locator('select.role').evaluate((s) => s.selectedOptions[0].textContent), w.viewer);
      await userRow(name).locator('select.role').evaluate((s) => { s.dataset.seen = 'yes'; });
      assert.ok(!(await page.content()).includes(typed), 'the typed password on the page');
      const id = Number(await userRow(name).getAttribute('data-id'));

      // the role, changed in its row
      await userRow(name).locator('select.role').selectOption('admin');
      assert.equal(await userRow(name).locator('button.save-role').isEnabled(), true);
      await userRow(name).locator('button.save-role').click();
      await page.waitForSelector('#toast.ok');
      await page.waitForFunction((n) => { // the row drawn again from the API's answer
        const s = document.querySelector(`#users tr[data-name="${n}"] select.role`);
        return s && s.value === 'admin' && !s.dataset.seen;
      }, name);
      assert.equal(await userRow(name).locator('select.role').evaluate((s) => s.selectedOptions[0].textContent), w.admin);
      const listed = (await call(page, 'GET', '/users')).users.find((u) => u.id === id);
      assert.equal(listed.role, 'admin');

      // a session of the user's, then a new password: generated (English;
      // shown once) or typed (Portuguese); the session ends either way
      const ctx = await browser.newContext({ viewport: WIDE });
      const theirs = await ctx.newPage();
      await login(theirs, fx.url, name, typed);
      assert.equal(await userRow(name).locator('button.reset').textContent(), w.reset);
      await userRow(name).locator('button.reset').click();
      const panel = page.locator(`.reset-panel[data-user="${id}"]`);
      let password = `retyped-Password-${key}-2`;
      if (key === 'en') {
        await panel.locator('button.do-reset').click();
        await page.waitForSelector('#generated-password');
        password = (await page.textContent('#generated-password')).trim();
        assert.ok(password.length >= 20, password);
      } else {
        await panel.locator(`#r${id}-mode-type`).check();
        await panel.locator(`#r${id}-password`).fill('short');
        await panel.locator('button.do-reset').click();
        await panel.locator('p.error:not([hidden])').waitFor();
        assert.match(await panel.locator('p.error').textContent(), w.short);
        await panel.locator(`#r${id}-password`).fill(password);
        await panel.locator('button.do-reset').click();
        await page.waitForSelector('#toast.ok >> text=/Senha de .* redefinida/');
        assert.equal(await page.locator('#generated-password').count(), 0, 'a typed password is not shown');
        assert.ok(!(await page.content()).includes(password));
      }
      await page.screenshot({ path: `${fx.shots}/users-reset-${w.lang}.png`, fullPage: true });
      assert.equal((await apiCall(theirs, 'GET', '/accounts')).status, 401, 'their session ended');
      await login(theirs, fx.url, name, password);
      assert.equal(await theirs.locator('nav a[href="#/users"]').count(), 1, 'an admin sees Users');

      // a token of theirs, listed without its secret, revoked after a confirmation
      const token = await call(page, 'POST', '/tokens', { user: name, name: 'ci', expires_in_days: 30 }, 201);
      await openUsers();
      const tokenRow = page.locator(`#tokens tbody tr[data-id="${token.id}"]`);
      assert.equal(await tokenRow.locator('td.owner').textContent(), name);
      assert.ok(!(await page.content()).includes(token.token), 'a token secret on the page');
      await page.screenshot({ path: `${fx.shots}/users-tokens-${w.lang}.png`, fullPage: true });
      page.once('dialog', (d) => d.dismiss()); // cancelled: nothing happens
      await tokenRow.locator('button.revoke').click();
      await page.waitForTimeout(300);
      assert.equal(await tokenRow.count(), 1, 'a cancelled revoke keeps the token');
      acceptNextDialog(page);
      assert.equal(await tokenRow.locator('button.revoke').textContent(), w.revoke);
      await tokenRow.locator('button.revoke').click();
      await tokenRow.waitFor({ state: 'detached' });
      assert.match(dialogs.at(-1), w.confirmRevoke);
      const refused = await theirs.evaluate(async (secret) => (await fetch('/api/v1/accounts',
        { headers: { Authorization: `Bearer ${secret}` } })).status, token.token);
      assert.equal(refused, 401, 'a revoked token is refused');

      // removed: confirmed, gone, their session refused
      acceptNextDialog(page);
      await userRow(name).locator('button.remove').click();
      await userRow(name).waitFor({ state: 'detached' });
      assert.match(dialogs.at(-1), w.confirmRemove);
      assert.equal((await apiCall(theirs, 'GET', '/accounts')).status, 401);
      await theirs.goto(`${fx.url}/#/users`);
      await theirs.waitForSelector('#login-user');
      await ctx.close();
    });

    it(`tells a viewer the page is for administrators, and the API refuses (${w.lang})`, async () => {
      const ctx = await browser.newContext({ viewport: WIDE });
      const p = await ctx.newPage();
      p.on('pageerror', (e) => pageErrors.push(e.message));
      await login(p, fx.url, ...fx.viewer);
      await setLanguage(p, w.lang);
      assert.equal(await p.locator('nav a[href="#/users"]').count(), 0, 'no Users entry for a viewer');
      await p.goto(`${fx.url}/#/users`);
      await p.waitForSelector('#users-denied');
      assert.match(await p.textContent('#users-denied'), w.denied);
      assert.equal(await p.locator('#users, #user-form, #tokens').count(), 0);
      for (const [method, path, body] of [['GET', '/users'], ['GET', '/tokens'],
        ['POST', '/users', { name: 'mallory', role: 'admin', generate_password: true }],
        ['DELETE', '/users/1']]) {
        assert.equal((await apiCall(p, method, path, body)).status, 403, `${method} ${path}`);
      }
      await ctx.close();
    });

    it(`keeps the navigation on one line at 1366 px, with one entry more (${w.lang})`, async () => {
      await setLanguage(page, w.lang);
      await openUsers();
      // the dashboard's entry, which another page adds, if it is not there yet
      await page.evaluate((text) => {
        const nav = document.getElementById('nav');
        if (!nav.querySelector('a[href="#/dashboard"]')) {
          const a = document.createElement('a');
          a.href = '#/dashboard';
          a.textContent = text;
          nav.prepend(a);
        }
      }, w.extra);
      const m = await page.evaluate(() => {
        const links = [...document.querySelectorAll('#nav a')].map((a) => a.getBoundingClientRect());
        const nav = document.getElementById('nav').getBoundingClientRect();
        return { tops: [...new Set(links.map((r) => Math.round(r.top)))], height: nav.height,
          row: Math.max(...links.map((r) => r.height)), right: Math.max(...links.map((r) => r.right)),
          width: document.documentElement.clientWidth, n: links.length };
      });
      assert.equal(m.n, 10, 'eight entries, Users, and one more');
      assert.deepEqual(m.tops.length, 1, `the entries sit on ${m.tops.length} lines`);
      assert.ok(m.height < 1.5 * m.row, `the navigation is ${m.height} px high for ${m.row} px entries`);
      assert.ok(m.right <= m.width, 'nothing past the window');
      await page.screenshot({ path: `${fx.shots}/nav-1366-${w.lang}.png` });
    });

    it(`names connector kinds in words and tests a connector from its row (${w.lang})`, async () => {
      await setLanguage(page, w.lang);
      const cname = `Proxy ${key}`;
      await page.goto(`${fx.url}/#/connectors/new`);
      await page.waitForSelector('#k-type');
      assert.deepEqual(await page.$$eval('#k-type option', (o) => o.map((x) => x.textContent)), [w.socks, w.http]);
      await page.fill('#k-name', cname);
      await page.selectOption('#k-type', 'socks5');
      await page.fill('#k-address', '127.0.0.1');
      await page.fill('#k-port', String(fx.dante_port));
      await page.click('#save');
      await page.waitForSelector(`#connectors tbody tr:has-text("${cname}")`);
      const row = page.locator('#connectors tbody tr[data-id]', { hasText: cname });
      assert.equal(await row.locator('td.type').textContent(), w.socks);
      const id = await row.getAttribute('data-id');
      await row.locator('button.test').click();
      await page.fill(`#k-target-${id}`, 'bad target');
      await page.click(`#test-connector-${id}`);
      await page.waitForSelector(`tr.test-row[data-for="${id}"] p.error:not([hidden])`);
      assert.match(await page.textContent(`tr.test-row[data-for="${id}"] p.error`), /HOST:PORT/);
      await page.fill(`#k-target-${id}`, `localhost:${fx.ports.imap}`);
      await page.click(`#test-connector-${id}`);
      await page.waitForSelector(`#connector-test-result-${id}[data-done="yes"]`);
      const steps = await page.$$eval(`#connector-test-result-${id} li.step`, (lis) => lis.map((li) => [li.dataset.step, li.dataset.result]));
      assert.deepEqual(steps, [['proxy connect', 'ok'], ['proxy auth', 'ok'], ['proxy tunnel', 'ok']]);
      assert.match(await page.textContent(`#connector-test-result-${id} p[role=status]`), w.testOk);
      await page.screenshot({ path: `${fx.shots}/connectors-test-${w.lang}.png`, fullPage: true });
      await call(page, 'DELETE', `/connectors/${id}`);
    });

    it(`says what a network connector is for when there is none (${w.lang})`, async () => {
      // the plain-HTTP daemon of run.py has no connector
      const ctx = await browser.newContext({ viewport: WIDE });
      const p = await ctx.newPage();
      p.on('pageerror', (e) => pageErrors.push(e.message));
      await login(p, fx.plain_url, 'admin', fx.admin_password);
      await setLanguage(p, w.lang);
      await p.goto(`${fx.plain_url}/#/connectors`);
      await p.waitForSelector('#connectors-none');
      const text = await p.textContent('#connectors-none');
      assert.match(text, w.none);
      assert.match(text, w.what);
      assert.equal(await p.locator('#new-connector').count(), 1);
      await p.screenshot({ path: `${fx.shots}/connectors-empty-${w.lang}.png` });
      await ctx.close();
    });
  }

  it('raised no script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
