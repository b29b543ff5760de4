// Users and API tokens (admins only): add a user, change a role, reset a
// password (typed, or generated and shown once), remove a user; list every
// API token and revoke one. No password or token secret is ever sent back
// by the API, but a generated password in the answer that made it.
import { api } from '../api.js';
import { go, isAdmin, session } from '../app.js';
import { clear, formatTime, h, toast } from '../dom.js';
import { t } from '../i18n.js';
import { formErrors, simpleField } from './credentials.js';

const ROLES = ['admin', 'viewer'];

function roleSelect(id, value, label) {
  return h('select', { id, 'aria-label': label },
    ROLES.map((r) => h('option', { value: r, selected: r === value }, t(`users.role.${r}`))));
}

// "Type a password" or "Generate one": the radio pair and the input it
// enables; value() is the request body's password part.
function passwordChoice(prefix) {
  const input = h('input', { id: `${prefix}-password`, type: 'password', autocomplete: 'new-password',
    minlength: 10, disabled: true, 'aria-label': t('users.newPassword'), 'aria-describedby': `${prefix}-password-help` });
  const radio = (value, key) => h('label', { class: 'check' },
    h('input', { type: 'radio', name: `${prefix}-mode`, id: `${prefix}-mode-${value}`, value,
      checked: value === 'generate', onchange: () => { input.disabled = value !== 'type'; if (!input.disabled) input.focus(); } }),
    t(key));
  const group = h('fieldset', { class: 'password-choice', id: `${prefix}-mode` },
    h('legend', {}, t('login.password')),
    radio('generate', 'users.generate'), radio('type', 'users.typePassword'), input,
    h('p', { class: 'help', id: `${prefix}-password-help` }, t('users.passwordHelp')),
    h('p', { class: 'field-error', id: `err-${prefix === 'u' ? 'password' : `${prefix}-password`}`, hidden: true }));
  const value = () => (input.disabled ? { generate_password: true } : { password: input.value });
  return { group, value };
}

// A password mailroom generated: shown here once, never again.
function generatedNote(name, password, extraKey) {
  return h('div', { class: 'card generated', id: 'generated', role: 'status' },
    h('p', {}, t('users.generatedFor', { name })),
    h('p', {}, h('code', { id: 'generated-password', class: 'secret' }, password)),
    h('p', { class: 'help' }, t('users.generatedOnce')),
    extraKey ? h('p', { class: 'help' }, t(extraKey)) : '');
}

function addForm(reload) {
  const name = h('input', { id: 'u-name', autocomplete: 'off', required: true, maxlength: 64 });
  const role = roleSelect('u-role', 'viewer');
  const pw = passwordChoice('u');
  const form = h('form', { class: 'card', id: 'user-form', novalidate: true },
    h('h2', {}, t('users.add')),
    h('div', { class: 'grid' }, simpleField('name', 'users.name', name), simpleField('role', 'users.roleLabel', role)),
    h('p', { class: 'help' }, t('users.rolesHelp')),
    pw.group,
    h('p', { class: 'error', id: 'form-error', role: 'alert', hidden: true }),
    h('div', { class: 'buttons' }, h('button', { type: 'submit', id: 'add-user' }, t('users.addButton'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const u = await api('POST', '/users', { name: name.value.trim(), role: role.value, ...pw.value() });
      toast(t('users.added', { name: u.name }), 'ok');
      reload(u.generated_password ? generatedNote(u.name, u.generated_password) : null);
    } catch (e) { formErrors(form, e); }
  });
  return form;
}

// The reset panel under a user's row: a typed or generated password, and
// whether the user's API tokens go too. The user's sessions end either way.
function resetPanel(u, reload) {
  const pw = passwordChoice(`r${u.id}`);
  const revoke = h('input', { type: 'checkbox', id: `r${u.id}-revoke` });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const self = session.user && session.user.id === u.id;
  const submit = h('button', { type: 'button', class: 'do-reset' }, t('users.resetButton'));
  submit.addEventListener('click', async () => {
    submit.disabled = true;
    try {
      const r = await api('POST', `/users/${u.id}/password`, { ...pw.value(), revoke_tokens: revoke.checked });
      const kept = r.api_tokens ? 'users.tokensKept' : null;
      const note = r.generated_password ? generatedNote(u.name, r.generated_password, self ? 'users.selfReset' : kept) : null;
      toast(t(self ? 'users.selfReset' : 'users.passwordReset', { name: u.name, n: r.tokens_revoked }), 'ok');
      if (self) { // our own sessions ended: the page stays until the next request
        const main = document.getElementById('main').firstChild;
        clear(main).append(h('h1', {}, t('users.title')), note || h('p', { role: 'status' }, t('users.selfReset')),
          h('button', { type: 'button', id: 'login-again', onclick: () => go('#/login') }, t('login.submit')));
      } else reload(note);
    } catch (e) {
      error.textContent = (e.fields || []).map((f) => f.message).join(' ') || e.message;
      error.hidden = false;
      submit.disabled = false;
    }
  });
  return h('div', { class: 'reset-panel', dataset: { user: u.id } },
    h('h3', {}, t('users.resetFor', { name: u.name })),
    h('p', { class: 'help' }, t(self ? 'users.resetSelfHelp' : 'users.resetHelp')),
    pw.group,
    h('label', { class: 'check' }, revoke, t('users.revokeTokens', { n: u.api_tokens })),
    error,
    h('div', { class: 'buttons' }, submit,
      h('button', { type: 'button', class: 'secondary', onclick: (ev) => { ev.target.closest('tr').hidden = true; } },
        t('common.cancel'))));
}

// The API's refusal in the page's language when it is the last-admin rule.
function refusal(u, e) {
  return e.code === 'in_use' && e.field === 'role' ? t('users.lastAdmin', { name: u.name }) : e.message;
}

async function changeRole(u, select, reload) {
  const self = session.user && session.user.id === u.id;
  if (self && select.value !== 'admin' && !confirm(t('users.confirmSelfDemote'))) return;
  try {
    await api('PATCH', `/users/${u.id}`, { role: select.value });
    toast(t('users.roleChanged', { name: u.name, role: t(`users.role.${select.value}`) }), 'ok');
    if (self && select.value !== 'admin') { // the navigation changes too
      session.user.role = select.value;
      go('#/users');
    } else reload();
  } catch (e) {
    select.value = u.role;
    toast(refusal(u, e), 'error');
  }
}

async function removeUser(u, reload) {
  const self = session.user && session.user.id === u.id;
  if (!confirm(t(self ? 'users.confirmRemoveSelf' : 'users.confirmRemove', { name: u.name, n: u.api_tokens }))) return;
  try {
    await api('DELETE', `/users/${u.id}`);
    toast(t('users.removed', { name: u.name }), 'ok');
    if (self) go('#/login'); else reload();
  } catch (e) { toast(refusal(u, e), 'error'); }
}

function userRows(u, reload) {
  const self = session.user && session.user.id === u.id;
  const panelRow = h('tr', { class: 'reset-row', hidden: true }, h('td', { colspan: 6 }));
  const role = roleSelect(`role-${u.id}`, u.role, t('users.roleOf', { name: u.name }));
  role.classList.add('role');
  // applied by its button, not on change: arrow keys on a closed select change it at each press
  const apply = h('button', { type: 'button', class: 'save-role secondary', disabled: true,
    onclick: () => changeRole(u, role, reload) }, t('users.saveRole'));
  role.addEventListener('change', () => { apply.disabled = role.value === u.role; });
  const reset = h('button', { type: 'button', class: 'reset secondary', onclick: () => {
    clear(panelRow.firstChild).append(resetPanel(u, reload));
    panelRow.hidden = false;
    panelRow.querySelector('input[type=radio]').focus();
  } }, t('users.reset'));
  const remove = h('button', { type: 'button', class: 'remove danger', onclick: () => removeUser(u, reload) }, t('users.remove'));
  return [h('tr', { dataset: { id: u.id, name: u.name } },
    h('td', {}, u.id), h('td', { class: 'name' }, u.name, self ? h('span', { class: 'badge' }, t('users.you')) : ''),
    h('td', { class: 'role' }, role, ' ', apply), h('td', {}, formatTime(u.created_at)), h('td', { class: 'tokens' }, u.api_tokens),
    h('td', { class: 'actions' }, h('div', { class: 'row-actions' }, reset, remove))), panelRow];
}

function usersTable(users, reload) {
  return h('table', { class: 'list', id: 'users' },
    h('thead', {}, h('tr', {}, ['col.id', 'users.name', 'users.roleLabel', 'users.created', 'users.tokens', 'common.actions']
      .map((k) => h('th', {}, t(k))))),
    h('tbody', {}, users.flatMap((u) => userRows(u, reload))));
}

async function revokeToken(k, reload) {
  if (!confirm(t('tokens.confirmRevoke', { name: k.name, user: k.user.name }))) return;
  try {
    await api('DELETE', `/tokens/${k.id}`);
    toast(t('tokens.revoked', { name: k.name }), 'ok');
    reload();
  } catch (e) { toast(e.message, 'error'); }
}

function tokensCard(tokens, reload) {
  const never = t('tokens.never');
  return h('section', { class: 'card', id: 'tokens-card' },
    h('h2', {}, t('tokens.title')), h('p', { class: 'help' }, t('tokens.help')),
    tokens.length ? h('table', { class: 'list', id: 'tokens' },
      h('thead', {}, h('tr', {}, ['col.id', 'tokens.name', 'tokens.owner', 'tokens.scope', 'users.created',
        'tokens.expires', 'tokens.lastUsed', 'common.actions'].map((k) => h('th', {}, t(k))))),
      h('tbody', {}, tokens.map((k) => h('tr', { dataset: { id: k.id } },
        h('td', {}, k.id), h('td', { class: 'name' }, k.name), h('td', { class: 'owner' }, k.user.name),
        h('td', { class: 'scope' }, t(k.scope === 'read-only' ? 'tokens.readOnly' : 'tokens.readWrite')),
        h('td', {}, formatTime(k.created_at)), h('td', {}, k.expires_at ? formatTime(k.expires_at) : never),
        h('td', {}, k.last_used_at ? formatTime(k.last_used_at) : never),
        h('td', { class: 'actions' }, h('button', { type: 'button', class: 'revoke danger',
          onclick: () => revokeToken(k, reload) }, t('tokens.revoke')))))))
      : h('p', { class: 'empty', id: 'tokens-none' }, t('tokens.none')));
}

export async function usersPage(main) {
  if (!isAdmin()) {
    main.append(h('h1', {}, t('users.title')),
      h('p', { class: 'error', id: 'users-denied', role: 'alert' }, t('users.adminsOnly')));
    return;
  }
  const [users, tokens] = await Promise.all([api('GET', '/users'), api('GET', '/tokens')]);
  const reload = async (note) => {
    const page = h('div', { class: 'page' });
    try {
      await usersPage(page);
    } catch (e) {
      page.append(h('p', { class: 'error' }, e.message));
    }
    if (note) page.insertBefore(note, page.children[2] || null); // under the title and its help
    main.replaceWith(page);
    main = page;
  };
  main.append(h('h1', {}, t('users.title')), h('p', { class: 'help' }, t('users.help')),
    usersTable(users.users, reload), addForm(reload), tokensCard(tokens.tokens, reload));
}
