import { api } from '../api.js';
import { h } from '../dom.js';
import { language, languages, setLanguage, t } from '../i18n.js';

// Too many failed logins from here: when to try again, in the user's words.
function throttledText(seconds) {
  const at = new Date(Date.now() + seconds * 1000).toLocaleTimeString(language(),
    { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  if (seconds <= 1) return t('login.throttledOne');
  return seconds < 120 ? t('login.throttledSeconds', { n: seconds, at })
    : t('login.throttledMinutes', { n: Math.ceil(seconds / 60), at });
}

export function loginPage(main, done) {
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const user = h('input', { id: 'login-user', name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password',
    autocomplete: 'current-password', required: true });
  const lang = h('select', { id: 'login-language', 'aria-label': t('user.language') },
    languages.map(([code, name]) => h('option', { value: code, selected: code === language() }, name)));
  lang.addEventListener('change', () => { setLanguage(lang.value); main.replaceChildren(); loginPage(main, done); });
  const form = h('form', { class: 'login card' },
    h('h1', {}, t('login.title')),
    h('label', { for: 'login-user' }, t('login.username')), user,
    h('label', { for: 'login-password' }, t('login.password')), pass,
    error,
    h('div', { class: 'row' }, h('button', { type: 'submit', id: 'login-submit' }, t('login.submit')), lang));
  const submit = form.querySelector('#login-submit');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    try {
      done(await api('POST', '/session', { username: user.value, password: pass.value }));
    } catch (e) {
      error.textContent = e.status === 429 ? throttledText(e.retryAfter) : e.message;
      error.hidden = false;
      if (e.status === 429) { // no use trying before the server takes it
        submit.disabled = true;
        setTimeout(() => { submit.disabled = false; }, Math.max(1, e.retryAfter) * 1000);
      }
    }
  });
  main.append(form);
  user.focus();
}
