// Settings: the default network connector and the SMTP relay that sends
// scheduled reports.
import { api } from '../api.js';
import { isAdmin } from '../app.js';
import { h, toast } from '../dom.js';
import { t } from '../i18n.js';
import { formErrors, simpleField } from './credentials.js';

export async function settingsPage(main) {
  const [s, conns, creds] = await Promise.all([api('GET', '/settings'), api('GET', '/connectors'),
    api('GET', '/credentials')]);
  const select = h('select', { id: 's-default' }, h('option', { value: '' }, t('common.none')),
    conns.connectors.map((k) => h('option', { value: k.id,
      selected: s.default_connector && s.default_connector.id === k.id }, k.name)));
  const host = h('input', { id: 's-smtp_host', value: s.smtp_host || '', placeholder: 'relay.example.com' });
  const port = h('input', { id: 's-smtp_port', type: 'number', min: 1, max: 65535, value: s.smtp_port || '',
    placeholder: t('settings.smtpPortDefault') });
  const security = h('select', { id: 's-smtp_security' }, ['starttls', 'tls', 'none', 'none-insecure'].map((v) =>
    h('option', { value: v, selected: s.smtp_security === v }, t(`settings.smtp.${v}`))));
  const credential = h('select', { id: 's-smtp_credential' }, h('option', { value: '' }, t('common.none')),
    creds.credentials.map((k) => h('option', { value: k.id,
      selected: s.smtp_credential && s.smtp_credential.id === k.id }, k.name)));
  const from = h('input', { id: 's-smtp_from', value: s.smtp_from || '', placeholder: 'mailroom@example.com' });
  const form = h('form', { class: 'card', id: 'settings-form', novalidate: true }, h('h1', {}, t('settings.title')),
    simpleField('default_connector', 'settings.defaultConnector', select),
    h('p', { class: 'help' }, t('settings.defaultHelp')),
    h('h2', {}, t('settings.smtpTitle')),
    h('p', { class: 'help' }, t('settings.smtpHelp')),
    simpleField('smtp_host', 'settings.smtpHost', host), simpleField('smtp_port', 'connector.port', port),
    simpleField('smtp_security', 'settings.smtpSecurity', security),
    h('p', { class: 'help' }, t('settings.smtpSecurityHelp')),
    simpleField('smtp_credential', 'connector.credential', credential),
    simpleField('smtp_from', 'settings.smtpFrom', from),
    h('p', { class: 'error', id: 'form-error', role: 'alert', hidden: true }),
    isAdmin() && h('div', { class: 'buttons' }, h('button', { type: 'submit', id: 'save' }, t('common.save'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('PATCH', '/settings', { default_connector: select.value ? Number(select.value) : null,
        smtp_host: host.value.trim() || null, smtp_port: port.value === '' ? null : Number(port.value),
        smtp_security: security.value, smtp_credential: credential.value ? Number(credential.value) : null,
        smtp_from: from.value.trim() || null });
      for (const el of main.querySelectorAll('.field-error, #form-error')) el.hidden = true;
      toast(t('common.saved'), 'ok');
    } catch (e) { formErrors(main, e); }
  });
  if (!isAdmin()) for (const el of form.querySelectorAll('input, select')) el.disabled = true;
  main.append(form);
}
