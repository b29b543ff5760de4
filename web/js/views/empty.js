// An empty list says what to do first: a sentence and the links to do it.
import { h } from '../dom.js';

// links: [[href, label, id?]]; a falsy entry is left out (an admin-only link
// for a viewer).
export function emptyState(id, text, links = []) {
  const shown = links.filter(Boolean);
  return h('div', { class: 'empty-state', id },
    h('p', {}, text),
    shown.length ? h('p', { class: 'empty-actions' }, shown.map(([href, label, linkId]) =>
      h('a', { href, class: 'button', id: linkId }, label))) : null);
}
