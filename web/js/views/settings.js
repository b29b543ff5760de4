// Settings: the default network connector.
import { api } from '../api.js';
import { isAdmin } from '../app.js';
import { h, toast } from '../dom.js';
import { t } from '../i18n.js';
import { formErrors, simpleField } from './credentials.js';

export async function settingsPage(main) {
  const [s, conns] = await Promise.all([api('GET', '/settings'), api('GET', '/connectors')]);
  const select = h('select', { id: 's-default' }, h('option', { value: '' }, t('common.none')),
    conns.connectors.map((k) => h('option', { value: k.id,
      selected: s.default_connector && s.default_connector.id === k.id }, k.name)));
  const form = h('form', { class: 'card', id: 'settings-form' }, h('h1', {}, t('settings.title')),
    simpleField('default_connector', 'settings.defaultConnector', select),
    h('p', { class: 'help' }, t('settings.defaultHelp')),
    h('p', { class: 'error', id: 'form-error', role: 'alert', hidden: true }),
    isAdmin() && h('div', { class: 'buttons' }, h('button', { type: 'submit', id: 'save' }, t('common.save'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('PATCH', '/settings', { default_connector: select.value ? Number(select.value) : null });
      toast(t('common.saved'), 'ok');
    } catch (e) { formErrors(main, e); }
  });
  if (!isAdmin()) select.disabled = true;
  main.append(form);
}
