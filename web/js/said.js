// What the daemon says, in the console's language. The API sends each
// message with how it was said (src/util/said.h): its English printf format
// and the arguments; said-pt.js has the Portuguese of each format. A
// message whose every part has a translation is shown translated; any other
// stays in English, never half translated.
import { language } from './i18n.js';
import { pt } from './said-pt.js';

const catalogs = { 'pt-BR': pt };

function fill(template, args) {
  return template.replace(/\{(\d+)\}/g, (_, i) => String(args[Number(i) - 1] ?? ''));
}

export function say(parts, english) {
  const catalog = catalogs[language()];
  if (!catalog || !Array.isArray(parts) || !parts.length) return english;
  const out = [];
  for (const p of parts) {
    const template = p && typeof p.format === 'string' && Object.hasOwn(catalog, p.format)
      ? catalog[p.format] : undefined;
    if (typeof template !== 'string') return english;
    out.push(fill(template, p.args || []));
  }
  return out.join(': ');
}

// Every message in an API answer, in place: an error's message and its
// fields', a step's detail, a run's, a check's or a delivery's error.
export function localise(data) {
  if (!data || typeof data !== 'object') return data;
  if (Array.isArray(data)) {
    data.forEach(localise);
    return data;
  }
  if (data.said && typeof data.message === 'string') data.message = say(data.said, data.message);
  if (data.said && typeof data.detail === 'string') data.detail = say(data.said, data.detail);
  for (const key of Object.keys(data)) { // error_said beside error, last_error_said beside last_error
    const base = key.endsWith('_said') ? key.slice(0, -5) : null;
    if (base && typeof data[base] === 'string') data[base] = say(data[key], data[base]);
  }
  for (const v of Object.values(data)) if (v && typeof v === 'object') localise(v);
  return data;
}
