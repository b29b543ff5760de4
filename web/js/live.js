// Live updates: one EventSource for the whole console (GET /api/v1/events,
// docs/architecture.md "Live updates"). Pages subscribe with onLive to the
// kinds of events they show and re-read what changed through the ordinary
// API; a subscription lasts until the next page is rendered (livePage).
// When the stream drops, EventSource reconnects by itself with
// Last-Event-ID and the daemon replays what was missed; when the browser
// gives up (the daemon restarted, a 503 past the cap), this module opens a
// new one after a backoff, from where it was (?since=). A reset (more was
// missed than the daemon keeps) reaches every subscriber as "reset": re-read
// everything shown.
import { h } from './dom.js';
import { t } from './i18n.js';

const KINDS = ['message', 'message_status', 'account', 'dashboard'];
const COALESCE_MS = 150; // a burst of events, one re-read
const BACKOFF_MS = [1000, 2000, 5000, 10000, 30000];

let source = null;
let timer = null;
let failures = 0;
let lastId = '';
let state = 'off'; // on (live), reconnecting, off
let subs = [];
const indicator = h('span', { id: 'live', class: 'live off', role: 'status', hidden: true });

function paint() {
  indicator.hidden = state === 'off';
  indicator.className = `live ${state}`;
  indicator.dataset.state = state;
  indicator.textContent = state === 'on' ? t('live.on') : t('live.reconnecting');
  indicator.title = state === 'on' ? t('live.onHelp') : t('live.reconnectingHelp');
}

function setState(s) {
  state = s;
  paint();
}

// The indicator for the top bar (the same element, re-placed on each render).
export function liveIndicator() {
  paint();
  return indicator;
}

// The next call: after a burst settles, and no sooner than the page asked.
function later(sub) {
  const wait = Math.max(COALESCE_MS, sub.ran + sub.every - Date.now());
  sub.timer = setTimeout(() => run(sub), wait);
}

async function run(sub) {
  sub.timer = null;
  // a page not (or no longer) on screen: a render that lost to a newer one
  if (!subs.includes(sub) || !sub.el.isConnected) return;
  sub.ran = Date.now();
  const events = sub.queue;
  sub.queue = [];
  sub.running = true;
  try {
    await sub.fn(events);
  } catch {
    // the page re-reads on the next event
  }
  sub.running = false;
  if (sub.queue.length && subs.includes(sub)) later(sub);
}

function dispatch(kind, data) {
  for (const sub of subs) {
    if (kind !== 'reset' && !sub.kinds.includes(kind)) continue;
    sub.queue.push({ kind, data });
    if (!sub.timer && !sub.running) later(sub);
  }
}

function connect() {
  timer = null;
  source = new EventSource(`/api/v1/events${lastId ? `?since=${encodeURIComponent(lastId)}` : ''}`);
  source.addEventListener('ready', (ev) => {
    failures = 0;
    if (ev.lastEventId) lastId = ev.lastEventId;
    setState('on');
  });
  source.addEventListener('reset', () => dispatch('reset', {}));
  for (const kind of KINDS) {
    source.addEventListener(kind, (ev) => {
      if (ev.lastEventId) lastId = ev.lastEventId;
      let data = {};
      try { data = JSON.parse(ev.data); } catch { /* not ours */ }
      dispatch(kind, data);
    });
  }
  source.onerror = () => {
    setState('reconnecting');
    if (source.readyState !== EventSource.CLOSED) return; // EventSource tries again itself
    source.close();
    source = null;
    timer = setTimeout(connect, BACKOFF_MS[Math.min(failures++, BACKOFF_MS.length - 1)]);
  };
}

// Logged in: the stream runs (once, whatever the pages).
export function liveStart() {
  if (!source && !timer) connect();
}

// Logged out: no stream, no indicator.
export function liveStop() {
  if (source) source.close();
  clearTimeout(timer);
  source = timer = null;
  subs = [];
  lastId = '';
  setState('off');
}

// A new page: the old page's subscriptions end.
export function livePage() {
  for (const sub of subs) clearTimeout(sub.timer);
  subs = [];
}

// While the page el is on screen, fn(events) is called, one call at a
// time and at most once every `every` ms, with the events of the kinds
// asked for ({kind, data}, or {kind: 'reset'}) since the last call.
export function onLive(el, kinds, fn, { every = 0 } = {}) {
  subs.push({ el, kinds, fn, every, ran: 0, queue: [], timer: null, running: false });
}

window.addEventListener('mailroom-language', paint);
