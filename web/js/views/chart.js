// Bar charts as SVG made here: no charting library to vendor and keep up
// to date for a few bar charts. Each chart is a <figure> with its title as
// the caption, labelled axes, a <title> tooltip on every bar, and the same
// numbers in a table under "Show the numbers" for screen readers and
// anyone who wants them exact.
import { h } from '../dom.js';
import { language, t } from '../i18n.js';

const SVG = 'http://www.w3.org/2000/svg';
const W = 560;
const H = 200;
const PAD = { top: 12, right: 8, bottom: 44, left: 48 };

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// A round step for the value axis: 1, 2 or 5 times a power of ten.
function niceMax(max) {
  if (max <= 4) return Math.max(max, 1);
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

export function number(n) {
  return new Intl.NumberFormat(language()).format(n);
}

// bars: [{ label (the axis), long (the tooltip and table), value }]
export function barChart({ id, title, xLabel, yLabel, bars, kind = 'plain' }) {
  const max = niceMax(Math.max(0, ...bars.map((b) => b.value)));
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const slot = iw / Math.max(bars.length, 1);
  const bw = Math.max(2, slot * 0.7);
  const titleId = `${id}-title`;
  const ticks = max <= 4 ? Array.from({ length: max + 1 }, (_, i) => i) : [0, max / 2, max];
  const every = Math.ceil(bars.length / 8); // at most 8 labels under the bars
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': titleId, class: `chart ${kind}` },
    s('title', { id: titleId }, title),
    ticks.map((v) => {
      const y = PAD.top + ih - (v / max) * ih;
      return s('g', { class: 'tick' },
        s('line', { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y }),
        s('text', { x: PAD.left - 6, y: y + 4, 'text-anchor': 'end' }, number(v)));
    }),
    bars.map((b, i) => {
      const bh = (b.value / max) * ih;
      const x = PAD.left + i * slot + (slot - bw) / 2;
      return s('g', {},
        s('rect', { class: 'bar', x: x.toFixed(1), y: (PAD.top + ih - bh).toFixed(1), width: bw.toFixed(1),
          height: Math.max(bh, 0).toFixed(1), 'data-value': b.value },
        s('title', {}, `${b.long}: ${number(b.value)}`)),
        i % every === 0 ? s('text', { class: 'x-label', x: (x + bw / 2).toFixed(1), y: PAD.top + ih + 14,
          'text-anchor': 'middle' }, b.label) : null);
    }),
    s('line', { class: 'axis', x1: PAD.left, x2: W - PAD.right, y1: PAD.top + ih, y2: PAD.top + ih }),
    s('text', { class: 'axis-label', x: PAD.left + iw / 2, y: H - 6, 'text-anchor': 'middle' }, xLabel),
    s('text', { class: 'axis-label', x: 12, y: PAD.top + ih / 2, 'text-anchor': 'middle',
      transform: `rotate(-90 12 ${PAD.top + ih / 2})` }, yLabel));
  return h('figure', { class: 'chart', id },
    h('figcaption', {}, title),
    svg,
    h('details', { class: 'chart-data' }, h('summary', {}, t('chart.showNumbers')),
      h('table', { class: 'list' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, xLabel), h('th', { scope: 'col' }, yLabel))),
        h('tbody', {}, bars.map((b) => h('tr', {}, h('td', {}, b.long), h('td', { class: 'num' }, number(b.value))))))));
}
