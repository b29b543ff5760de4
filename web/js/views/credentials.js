// Credentials: the secret is write-only; it is never shown or sent back.
import { api } from '../api.js';
import { go, isAdmin } from '../app.js';
import { h, toast } from '../dom.js';
import { t } from '../i18n.js';

export async function credentialsPage(main) {
  const data = await api('GET', '/credentials');
  main.append(h('div', { class: 'titlebar' }, h('h1', {}, t('credentials.title')),
    isAdmin() && h('a', { href: '#/credentials/new', class: 'button', id: 'new-credential' }, t('common.new'))),
  h('table', { class: 'list', id: 'credentials' },
    h('thead', {}, h('tr', {}, ['col.id', 'col.name', 'credential.username', 'credential.kind', 'common.actions']
      .map((k) => h('th', {}, t(k))))),
    h('tbody', {}, data.credentials.map((c) => h('tr', { dataset: { id: c.id } },
      h('td', {}, c.id), h('td', {}, c.name), h('td', {}, c.username), h('td', {}, c.kind),
      h('td', {}, h('a', { href: `#/credentials/${c.id}` }, t('common.edit'))))))));
}

export function formErrors(main, e) {
  for (const el of main.querySelectorAll('.field-error')) el.hidden = true;
  const general = main.querySelector('#form-error');
  general.hidden = true;
  let shown = false;
  for (const f of e.fields || []) {
    const el = main.querySelector(`#err-${f.field}`);
    if (el) { el.textContent = f.message; el.hidden = false; shown = true; }
  }
  if (!shown) { general.textContent = e.message; general.hidden = false; }
}

export function simpleField(id, labelKey, control) {
  return h('div', { class: 'field' }, h('label', { for: control.id }, t(labelKey)), control,
    h('p', { class: 'field-error', id: `err-${id}`, hidden: true }));
}

export function deleteButton(main, path, name, back) {
  return h('button', { type: 'button', class: 'danger', id: 'delete', onclick: async () => {
    if (!confirm(t('common.confirmDelete', { name }))) return;
    try { await api('DELETE', path); toast(t('common.deleted'), 'ok'); go(back); } catch (e) { formErrors(main, e); }
  } }, t('common.delete'));
}

export async function credentialForm(main, id) {
  const c = id ? await api('GET', `/credentials/${id}`) : {};
  const name = h('input', { id: 'c-name', value: c.name || '', required: true });
  const username = h('input', { id: 'c-username', value: c.username || '', required: true, autocomplete: 'off' });
  const password = h('input', { id: 'c-password', type: 'password', autocomplete: 'new-password',
    placeholder: id ? t('credential.passwordKeep') : '' });
  const form = h('form', { class: 'card', id: 'credential-form', novalidate: true },
    h('h1', {}, id ? t('credential.edit', { name: c.name }) : t('credential.new')),
    simpleField('name', 'col.name', name), simpleField('username', 'credential.username', username),
    simpleField('password', 'credential.password', password),
    h('p', { class: 'error', id: 'form-error', role: 'alert', hidden: true }),
    h('div', { class: 'buttons' }, isAdmin() && h('button', { type: 'submit', id: 'save' }, t('common.save')),
      h('a', { href: '#/credentials', class: 'button secondary' }, t('common.cancel')),
      id && isAdmin() && deleteButton(main, `/credentials/${id}`, c.name, '#/credentials')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { name: name.value.trim(), username: username.value.trim() };
    if (password.value || !id) body.password = password.value;
    try {
      await api(id ? 'PATCH' : 'POST', id ? `/credentials/${id}` : '/credentials', body);
      password.value = '';
      toast(t('common.saved'), 'ok');
      go('#/credentials');
    } catch (e) { formErrors(main, e); }
  });
  main.append(form);
}
