import { createHash } from 'node:crypto';
import { CircuitBreakerConfigError } from '../core/index.js';
import { DASHBOARD_EXPECTED } from './dashboard.messages.js';

/** Options of {@link renderDashboard}. */
export interface DashboardPageOptions {
  /** the URL path of the management API as the browser sees it, e.g. `/api/circuit-breakers` */
  basePath: string;
}

// The page's only style and script. Both are fixed text (the base path travels in a `data-` attribute),
// so the Content-Security-Policy can allow exactly them by hash: no 'unsafe-inline', no nonce to
// thread through the response, and the header is a constant the controller sends with `@Header()`.
// Styles set from the script go through the CSSOM (`el.style.transform`), which CSP does not block;
// the markup has no `style` attributes and no inline event handlers.

const STYLE = String.raw`
:root {
  color-scheme: dark;
  --bg: #07090d;
  --panel: #10151c;
  --panel-2: #161c25;
  --line: #232c38;
  --text: #e8edf4;
  --muted: #8d9aab;
  --closed: #3fb950;
  --half_open: #e3b341;
  --open: #ff5a52;
  --forced_open: #c47dff;
  --disabled: #7d8896;
  font-size: clamp(14px, 0.55vw + 8px, 30px);
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--text); }
body {
  font-family: ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  line-height: 1.35;
  min-height: 100vh;
  padding: 1.25rem 1.5rem 2rem;
  -webkit-font-smoothing: antialiased;
}
.num, .rate-value, dd, .wait-text, #clock, .pill b { font-variant-numeric: tabular-nums; }
.top {
  display: grid; grid-template-columns: 1fr auto; grid-template-areas: "brand meta" "summary admin";
  align-items: center; gap: 0.9rem 1.5rem;
  padding-bottom: 1rem; margin-bottom: 1.25rem; border-bottom: 1px solid var(--line);
}
.brand { grid-area: brand; display: flex; align-items: center; gap: 0.9rem; }
h1 { font-size: 1.9rem; font-weight: 750; letter-spacing: -0.02em; margin: 0; }
.health {
  font-size: 0.95rem; font-weight: 700; text-transform: uppercase; letter-spacing: 0.08em;
  padding: 0.2rem 0.7rem; border-radius: 999px; border: 2px solid currentColor;
}
.h-healthy { color: var(--closed); }
.h-degraded { color: var(--half_open); }
.h-unhealthy { color: var(--open); }
.summary { grid-area: summary; display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 0; padding: 0; list-style: none; }
.pill {
  display: flex; align-items: baseline; gap: 0.4rem; padding: 0.3rem 0.75rem; border-radius: 0.6rem;
  background: var(--panel); border: 1px solid var(--line); color: var(--muted); font-size: 0.95rem;
}
.pill b { font-size: 1.35rem; color: var(--text); }
.pill.p-open b { color: var(--open); }
.pill.p-half_open b { color: var(--half_open); }
.pill.p-forced_open b { color: var(--forced_open); }
.pill.p-closed b { color: var(--closed); }
.pill.p-disabled b { color: var(--disabled); }
.pill.zero { opacity: 0.45; }
.pill.zero b { color: var(--muted); }
.meta { grid-area: meta; justify-self: end; display: flex; align-items: center; gap: 1rem; color: var(--muted); font-size: 1rem; }
#clock { font-size: 1.35rem; color: var(--text); font-weight: 600; }
.live { display: inline-flex; align-items: center; gap: 0.45rem; font-weight: 600; }
.live::before { content: ""; width: 0.7rem; height: 0.7rem; border-radius: 50%; background: var(--disabled); }
.live.on { color: var(--closed); }
.live.on::before { background: var(--closed); box-shadow: 0 0 0.6rem var(--closed); }
.live.wait { color: var(--half_open); }
.live.wait::before { background: var(--half_open); }
.live.off { color: var(--open); }
.live.off::before { background: var(--open); }
.admin-bar { grid-area: admin; justify-self: end; display: flex; align-items: center; gap: 0.5rem; }
input, button { font: inherit; color: inherit; }
input {
  width: 11rem; padding: 0.4rem 0.7rem; border-radius: 0.5rem; border: 1px solid var(--line);
  background: var(--panel); font-size: 0.9rem;
}
input:focus-visible, button:focus-visible { outline: 3px solid #4c8dff; outline-offset: 2px; }
button {
  cursor: pointer; padding: 0.4rem 0.9rem; border-radius: 0.5rem; border: 1px solid var(--line);
  background: var(--panel-2); font-size: 0.9rem; font-weight: 600;
}
button:hover { border-color: var(--muted); }
button:disabled { opacity: 0.5; cursor: progress; }
button[data-confirm] { background: var(--open); border-color: var(--open); color: #fff; }
#lock, #reset-all, .admin-label { display: none; }
#auth { display: flex; gap: 0.5rem; margin: 0; }
.admin #auth { display: none; }
.admin #lock, .admin #reset-all { display: inline-block; }
.admin .admin-label { display: inline; color: var(--half_open); font-weight: 700; font-size: 0.9rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(24rem, 1fr)); gap: 1.1rem; }
.card {
  --c: var(--closed);
  position: relative; display: flex; flex-direction: column; gap: 0.8rem;
  padding: 1.1rem 1.2rem 1rem 1.5rem; border-radius: 0.9rem; background: var(--panel);
  border: 1px solid var(--line); overflow: hidden;
  transition: border-color 0.3s, box-shadow 0.3s, background-color 0.3s;
}
.card::before { content: ""; position: absolute; inset: 0 auto 0 0; width: 0.4rem; background: var(--c); }
.card.s-half_open { --c: var(--half_open); }
.card.s-open { --c: var(--open); }
.card.s-forced_open { --c: var(--forced_open); }
.card.s-disabled { --c: var(--disabled); }
.card.s-open, .card.s-forced_open, .card.s-half_open {
  border-color: var(--c);
  background: linear-gradient(180deg, color-mix(in srgb, var(--c) 16%, var(--panel)) 0%, var(--panel) 60%);
}
.card.s-open { box-shadow: 0 0 0 1px var(--c), 0 0 2.2rem -0.6rem var(--c); animation: alarm 2s ease-in-out infinite; }
@keyframes alarm { 50% { box-shadow: 0 0 0 1px var(--c), 0 0 3rem -0.2rem var(--c); } }
.card.s-disabled { opacity: 0.8; }
.card-head { display: flex; align-items: center; justify-content: space-between; gap: 0.8rem; }
.name { margin: 0; font-size: 1.55rem; font-weight: 700; letter-spacing: -0.01em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.badge {
  flex: none; padding: 0.25rem 0.7rem; border-radius: 0.45rem; font-size: 0.95rem; font-weight: 800;
  text-transform: uppercase; letter-spacing: 0.06em; color: #06080b; background: var(--c);
}
.wait { display: flex; flex-direction: column; gap: 0.35rem; min-height: 2.4rem; }
.wait.idle { visibility: hidden; }
.wait-text { font-size: 1.2rem; font-weight: 700; color: var(--c); }
.wait-bar { height: 0.4rem; border-radius: 999px; background: var(--panel-2); overflow: hidden; }
.card.s-closed .wait-bar, .card.s-disabled .wait-bar { visibility: hidden; }
.card.s-closed .wait-text { font-weight: 600; }
.wait-fill { height: 100%; background: var(--c); transform-origin: left center; transform: scaleX(0); }
.rates { display: grid; grid-template-columns: repeat(3, 1fr); gap: 0.6rem; }
.rate { display: flex; flex-direction: column; }
.rate-value { font-size: 2.3rem; font-weight: 750; line-height: 1.05; letter-spacing: -0.02em; }
.rate-label { font-size: 0.85rem; color: var(--muted); text-transform: uppercase; letter-spacing: 0.08em; }
.spark { width: 100%; height: 3.2rem; display: block; background: var(--panel-2); border-radius: 0.4rem; }
.bar-ok { fill: #2f8f43; }
.bar-fail { fill: var(--open); }
.bar-rej { fill: #5d6877; }
.spark-state { fill: var(--closed); }
.spark-state.s-half_open { fill: var(--half_open); }
.spark-state.s-open { fill: var(--open); }
.spark-state.s-forced_open { fill: var(--forced_open); }
.spark-state.s-disabled { fill: var(--disabled); }
.counts { display: grid; grid-template-columns: repeat(3, 1fr); gap: 0.45rem 0.8rem; margin: 0; }
.stat { display: flex; flex-direction: column-reverse; }
dt { font-size: 0.78rem; color: var(--muted); text-transform: uppercase; letter-spacing: 0.07em; }
dd { margin: 0; font-size: 1.25rem; font-weight: 650; }
.foot { margin: 0; font-size: 0.85rem; color: var(--muted); min-height: 2.4em; overflow-wrap: anywhere; }
.actions { display: none; gap: 0.6rem; }
.admin .actions { display: flex; }
.act.reset { border-color: var(--closed); color: var(--closed); }
.act.force { border-color: var(--open); color: var(--open); }
.empty { color: var(--muted); font-size: 1.3rem; text-align: center; padding: 4rem 1rem; }
.toast {
  position: fixed; right: 1.5rem; bottom: 1.5rem; max-width: 32rem; padding: 0.8rem 1.1rem; border-radius: 0.7rem;
  background: var(--panel-2); border: 1px solid var(--line); font-weight: 600;
  opacity: 0; transform: translateY(0.5rem); transition: opacity 0.2s, transform 0.2s; pointer-events: none;
}
.toast.show { opacity: 1; transform: none; }
.toast.good { border-color: var(--closed); }
.toast.bad { border-color: var(--open); }
@media (prefers-reduced-motion: reduce) {
  .card.s-open { animation: none; }
  .card, .toast { transition: none; }
}
`;

const SCRIPT = String.raw`
(function () {
  'use strict';
  var REFRESH_MS = 2000;
  var HISTORY = 60;
  var MIN_SPAN = 24;
  var CONFIRM_MS = 4000;
  var TOKEN_KEY = 'circuit-breakers.admin-token';
  var ORDER = { open: 0, forced_open: 1, half_open: 2, disabled: 3, closed: 4 };
  var LABEL = { closed: 'Closed', open: 'Open', half_open: 'Half-open', forced_open: 'Forced open', disabled: 'Disabled' };
  var SVG = 'http://www.w3.org/2000/svg';
  var root = document.documentElement;
  var base = root.getAttribute('data-base') || location.pathname.replace(/\/dashboard\/?$/, '');
  var grid = document.getElementById('grid');
  var empty = document.getElementById('empty');
  var live = document.getElementById('live');
  var clock = document.getElementById('clock');
  var toast = document.getElementById('toast');
  var authForm = document.getElementById('auth');
  var tokenInput = document.getElementById('token');
  var lockButton = document.getElementById('lock');
  var resetAllButton = document.getElementById('reset-all');
  var favicon = document.getElementById('favicon');
  var cards = new Map();
  var streamUp = false;
  var fetchOk = true;
  var refreshTimer = 0;
  var toastTimer = 0;
  var number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  var compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
  var timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    for (var key in attrs) node.setAttribute(key, String(attrs[key]));
    return node;
  }
  function count(n) {
    return n >= 100000 ? compact.format(n) : number.format(n);
  }
  function pct(n) {
    return (Math.round(n * 10) / 10).toFixed(1) + '%';
  }
  function ago(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    return Math.floor(s / 3600) + ' h ago';
  }
  function token() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }
  function setToken(value) {
    try {
      if (value) sessionStorage.setItem(TOKEN_KEY, value);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage disabled: the token lasts as long as the page */ }
    memoryToken = value;
    root.classList.toggle('admin', Boolean(value));
  }
  var memoryToken = token();
  function say(message, kind) {
    toast.textContent = message;
    toast.className = 'toast show ' + (kind || 'info');
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toast.className = 'toast'; }, 5000);
  }

  // ---- cards -------------------------------------------------------------------------------

  function createCard(name) {
    var card = { name: name, snap: null, receivedAt: 0, eventAt: -1, eventState: null, reason: '', history: [], last: null };
    var node = el('article', 'card');
    node.setAttribute('data-name', name);
    var head = el('header', 'card-head');
    card.title = el('h2', 'name', name);
    card.title.title = name;
    card.badge = el('span', 'badge');
    head.append(card.title, card.badge);

    card.wait = el('div', 'wait');
    card.waitText = el('span', 'wait-text');
    var bar = el('div', 'wait-bar');
    card.waitFill = el('div', 'wait-fill');
    bar.append(card.waitFill);
    card.wait.append(card.waitText, bar);

    var rates = el('div', 'rates');
    card.success = rate(rates, 'success');
    card.rejected = rate(rates, 'rejected');
    card.throughput = rate(rates, 'req/s');

    card.spark = svg('svg', { class: 'spark', viewBox: '0 0 ' + HISTORY + ' 40', preserveAspectRatio: 'none', 'aria-hidden': 'true' });

    var counts = el('dl', 'counts');
    card.requests = stat(counts, 'requests');
    card.successes = stat(counts, 'successes');
    card.failures = stat(counts, 'failures');
    card.rejections = stat(counts, 'rejections');
    card.timeouts = stat(counts, 'timeouts');
    card.run = stat(counts, 'toward trip');

    card.foot = el('p', 'foot');

    var actions = el('div', 'actions');
    card.resetButton = el('button', 'act reset', 'Reset');
    card.resetButton.type = 'button';
    card.resetButton.setAttribute('data-action', 'reset');
    card.forceButton = el('button', 'act force', 'Force open');
    card.forceButton.type = 'button';
    card.forceButton.setAttribute('data-action', 'force-open');
    actions.append(card.resetButton, card.forceButton);
    card.resetButton.addEventListener('click', function () { write(card, 'reset', card.resetButton); });
    card.forceButton.addEventListener('click', function () { confirmThen(card.forceButton, 'Confirm force open', function () { write(card, 'force-open', card.forceButton); }); });

    node.append(head, card.wait, rates, card.spark, counts, card.foot, actions);
    card.node = node;
    cards.set(name, card);
    return card;
  }
  function rate(parent, label) {
    var box = el('div', 'rate');
    var value = el('span', 'rate-value', '–');
    box.append(value, el('span', 'rate-label', label));
    parent.append(box);
    return value;
  }
  function stat(parent, label) {
    var wrap = el('div', 'stat');
    var value = el('dd', '', '0');
    wrap.append(el('dt', '', label), value);
    parent.append(wrap);
    return value;
  }
  function stateOf(card) {
    // An event newer than the snapshot wins until the next snapshot catches up.
    return card.eventState !== null ? card.eventState : card.snap ? card.snap.state : 'closed';
  }
  function setState(card, state) {
    card.node.setAttribute('data-state', state);
    card.node.className = 'card s-' + state;
    card.badge.textContent = LABEL[state] || state;
  }

  function applySnapshot(card, snap, fetchedAt, sampleAt) {
    card.snap = snap;
    card.receivedAt = performance.now();
    if (card.eventAt < fetchedAt) card.eventState = null;
    if (sampleAt !== undefined) {
      var sample = { state: snap.state, calls: null, ok: 0, fail: 0, rej: 0, perSecond: null };
      var last = card.last;
      // After a reset the totals start again from 0: no difference to take for that interval.
      if (last !== null && snap.total_requests >= last.total_requests && snap.total_successes >= last.ok
        && snap.total_failures >= last.fail && snap.total_rejections >= last.rej) {
        sample.calls = snap.total_requests - last.total_requests;
        sample.ok = snap.total_successes - last.ok;
        sample.fail = snap.total_failures - last.fail;
        sample.rej = snap.total_rejections - last.rej;
        sample.perSecond = sample.calls / Math.max(0.001, (sampleAt - last.at) / 1000);
      }
      card.last = { total_requests: snap.total_requests, ok: snap.total_successes, fail: snap.total_failures, rej: snap.total_rejections, at: sampleAt };
      card.history.push(sample);
      if (card.history.length > HISTORY) card.history.shift();
    }
    render(card);
  }

  function render(card) {
    var snap = card.snap;
    var state = stateOf(card);
    setState(card, state);
    if (snap !== null) {
      card.success.textContent = pct(snap.success_rate);
      card.rejected.textContent = pct(snap.rejection_rate);
      card.requests.textContent = count(snap.total_requests);
      card.successes.textContent = count(snap.total_successes);
      card.failures.textContent = count(snap.total_failures);
      card.rejections.textContent = count(snap.total_rejections);
      card.timeouts.textContent = count(snap.total_timeouts);
      card.run.textContent = snap.failure_threshold === null ? String(snap.failure_count) : snap.failure_count + ' / ' + snap.failure_threshold;
    }
    var recent = card.history.length > 0 ? card.history[card.history.length - 1].perSecond : null;
    card.throughput.textContent = recent === null ? '–' : recent >= 100 ? compact.format(recent) : recent.toFixed(1);
    drawSpark(card);
    tick(card);
  }

  // Calls per refresh interval as stacked bars (successes, failures, rejections), over a strip of the
  // state at each sample; newest on the right, the axis growing from MIN_SPAN to HISTORY samples.
  function drawSpark(card) {
    var s = card.spark;
    while (s.firstChild) s.removeChild(s.firstChild);
    var h = card.history;
    var span = Math.max(MIN_SPAN, h.length);
    var offset = span - h.length;
    s.setAttribute('viewBox', '0 0 ' + span + ' 40');
    var max = 0;
    for (var i = 0; i < h.length; i++) if (h[i].calls !== null) max = Math.max(max, h[i].calls);
    for (var j = 0; j < h.length; j++) {
      var x = offset + j;
      s.append(svg('rect', { class: 'spark-state s-' + h[j].state, x: x, y: 36.5, width: 1.02, height: 3.5 }));
      if (h[j].calls === null || h[j].calls === 0) continue;
      var y = 34;
      var parts = [['ok', h[j].ok], ['fail', h[j].fail], ['rej', h[j].rej]];
      for (var k = 0; k < parts.length; k++) {
        if (parts[k][1] <= 0) continue;
        var height = (parts[k][1] / max) * 32;
        y -= height;
        s.append(svg('rect', { class: 'bar-' + parts[k][0], x: x + 0.12, y: y, width: 0.76, height: height }));
      }
    }
    var title = svg('title', {});
    title.textContent = 'Calls per ' + REFRESH_MS / 1000 + ' s (successes, failures, rejections) over the last '
      + Math.round((h.length * REFRESH_MS) / 1000) + ' s, peak ' + max + '; the strip below shows the state';
    s.append(title);
  }

  // The countdown moves between snapshots, from the monotonic page clock.
  function tick(card) {
    var state = stateOf(card);
    var snap = card.snap;
    var text = '';
    var fill = 0;
    if (state === 'open') {
      if (snap !== null && snap.state === 'open' && typeof snap.time_until_retry === 'number') {
        var left = snap.time_until_retry * 1000 - (performance.now() - card.receivedAt);
        if (left > 0) {
          text = 'Next retry in ' + (left >= 60000 ? Math.floor(left / 60000) + ' min ' + Math.floor((left % 60000) / 1000) + ' s' : (left / 1000).toFixed(1) + ' s');
          // The bar drains over the whole open period: from opened_at to the retry time.
          var opened = snap.opened_at ? Date.parse(snap.opened_at) : NaN;
          var span = isNaN(opened) ? left : Date.now() - opened + left;
          fill = span > 0 ? left / span : 1;
        } else {
          text = 'Retry due: the next call probes';
        }
      } else {
        text = 'Opened: waiting for the retry time…';
      }
    } else if (state === 'half_open') {
      text = 'Probing: a trial call decides';
    } else if (state === 'forced_open') {
      text = 'Held open until reset';
      fill = 1;
    } else if (state === 'disabled') {
      text = 'Disabled: every call passes until reset';
    } else if (snap !== null) {
      text = snap.last_failure_at ? 'In service · last failure ' + timeFormat.format(new Date(snap.last_failure_at)) : 'In service';
    }
    card.wait.classList.toggle('idle', text === '');
    card.waitText.textContent = text;
    card.waitFill.style.transform = 'scaleX(' + Math.max(0, Math.min(1, fill)).toFixed(4) + ')';
    var foot = [];
    if (snap !== null && snap.last_state_change_at) foot.push('changed ' + timeFormat.format(new Date(snap.last_state_change_at)) + ' (' + ago(Date.now() - Date.parse(snap.last_state_change_at)) + ')');
    if (card.reason) foot.push(card.reason);
    card.foot.textContent = foot.join(' · ');
  }

  function layout() {
    var list = Array.from(cards.values()).sort(function (a, b) {
      return (ORDER[stateOf(a)] - ORDER[stateOf(b)]) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    });
    for (var i = 0; i < list.length; i++) {
      if (grid.children[i] !== list[i].node) grid.insertBefore(list[i].node, grid.children[i] || null);
    }
    empty.hidden = list.length > 0;
    summarize();
  }

  function summarize() {
    var totals = { total: 0, open: 0, half_open: 0, closed: 0, forced_open: 0, disabled: 0 };
    cards.forEach(function (card) { totals.total++; totals[stateOf(card)]++; });
    var down = totals.open + totals.forced_open;
    var health = down + totals.half_open === 0 ? 'healthy' : down === totals.total ? 'unhealthy' : 'degraded';
    setText('sum-total', totals.total);
    setText('sum-open', totals.open);
    setText('sum-half_open', totals.half_open);
    setText('sum-forced_open', totals.forced_open);
    setText('sum-disabled', totals.disabled);
    setText('sum-closed', totals.closed);
    var badge = document.getElementById('health');
    badge.textContent = health;
    badge.className = 'health h-' + health;
    root.setAttribute('data-health', health);
    document.title = (down > 0 ? down + ' open · ' : '') + 'Circuit breakers';
    var colour = health === 'healthy' ? '#3fb950' : health === 'degraded' ? '#d29922' : '#f85149';
    favicon.href = 'data:image/svg+xml,' + encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="' + colour + '"/></svg>');
  }
  function setText(id, value) {
    var node = document.getElementById(id);
    node.textContent = String(value);
    if (node.parentNode) node.parentNode.classList.toggle('zero', value === 0);
  }

  // ---- data ----------------------------------------------------------------------------------

  function refresh() {
    var started = performance.now();
    return fetch(base, { headers: { Accept: 'application/json' }, cache: 'no-store' })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(function (body) {
        fetchOk = true;
        var seen = new Set();
        var names = Object.keys(body.breakers || {});
        for (var i = 0; i < names.length; i++) {
          var card = cards.get(names[i]) || createCard(names[i]);
          seen.add(names[i]);
          applySnapshot(card, body.breakers[names[i]], started, Date.now());
        }
        cards.forEach(function (card, name) {
          if (!seen.has(name)) { card.node.remove(); cards.delete(name); }
        });
        layout();
      })
      .catch(function () { fetchOk = false; })
      .then(status);
  }
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 60);
  }
  function status() {
    var text = !fetchOk ? 'offline' : streamUp ? 'live' : 'reconnecting…';
    live.textContent = text;
    live.className = 'live ' + (!fetchOk ? 'off' : streamUp ? 'on' : 'wait');
  }

  function connect() {
    var stream = new EventSource(base + '/events');
    stream.addEventListener('open', function () { streamUp = true; status(); refreshSoon(); });
    stream.addEventListener('error', function () { streamUp = false; status(); });
    stream.addEventListener('heartbeat', function () { streamUp = true; status(); });
    stream.addEventListener('stateChange', function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      var card = cards.get(event.name) || createCard(event.name);
      card.eventState = event.to;
      card.eventAt = performance.now();
      card.reason = event.reason;
      render(card);
      layout();
      refreshSoon();
    });
  }

  // ---- admin ---------------------------------------------------------------------------------

  function confirmThen(button, prompt, action) {
    if (button.getAttribute('data-confirm') === 'yes') {
      button.removeAttribute('data-confirm');
      button.textContent = button.getAttribute('data-label');
      action();
      return;
    }
    button.setAttribute('data-label', button.textContent);
    button.setAttribute('data-confirm', 'yes');
    button.textContent = prompt;
    setTimeout(function () {
      if (button.getAttribute('data-confirm') !== 'yes') return;
      button.removeAttribute('data-confirm');
      button.textContent = button.getAttribute('data-label');
    }, CONFIRM_MS);
  }

  function post(path) {
    return fetch(base + '/' + path, { method: 'POST', headers: { Authorization: 'Bearer ' + memoryToken, Accept: 'application/json' }, cache: 'no-store' })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) { return { response: response, body: body }; });
      });
  }
  function failed(result) {
    var message = result.body && result.body.message ? String(result.body.message) : 'HTTP ' + result.response.status;
    if (result.response.status === 401) {
      setToken('');
      say('Token rejected (' + message + '). Enter the admin token again.', 'bad');
    } else {
      say(message, 'bad');
    }
  }
  function write(card, action, button) {
    button.disabled = true;
    var started = performance.now();
    post(encodeURIComponent(card.name) + '/' + action)
      .then(function (result) {
        if (!result.response.ok) return failed(result);
        card.eventAt = -1;
        card.eventState = null;
        applySnapshot(card, result.body, started);
        layout();
        say(card.name + (action === 'reset' ? ': reset to closed' : ': forced open'), 'good');
      })
      .catch(function () { say('Network error: ' + action + ' was not sent', 'bad'); })
      .then(function () { button.disabled = false; });
  }

  authForm.addEventListener('submit', function (event) {
    event.preventDefault();
    var value = tokenInput.value.trim();
    if (!value) return;
    tokenInput.value = '';
    setToken(value);
    say('Admin actions unlocked for this browser tab', 'good');
  });
  lockButton.addEventListener('click', function () {
    setToken('');
    say('Admin actions locked', 'info');
  });
  resetAllButton.addEventListener('click', function () {
    confirmThen(resetAllButton, 'Confirm reset all', function () {
      resetAllButton.disabled = true;
      post('reset-all')
        .then(function (result) {
          if (!result.response.ok) return failed(result);
          say('Every breaker reset to closed', 'good');
          return refresh();
        })
        .catch(function () { say('Network error: reset-all was not sent', 'bad'); })
        .then(function () { resetAllButton.disabled = false; });
    });
  });

  setToken(memoryToken);
  setInterval(function () {
    clock.textContent = timeFormat.format(new Date());
    cards.forEach(tick);
  }, 100);
  setInterval(refresh, REFRESH_MS);
  refresh();
  connect();
})();
`;

const hashOf = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * The `Content-Security-Policy` header to serve the dashboard with: nothing loads but the page's own
 * inline style and script (allowed by their SHA-256 hashes), it talks only to its own origin (the
 * management API and its event stream), and it cannot be framed.
 */
export const DASHBOARD_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src ${hashOf(SCRIPT)}`,
  `style-src ${hashOf(STYLE)}`,
  "img-src data:", // the favicon, a coloured dot drawn by the script
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Only characters that need no escaping anywhere a path goes; `//` at the start would leave the origin. */
const BASE_PATH = /^(?:\/(?!\/)[A-Za-z0-9\-._~:@%/]*)?$/;

/**
 * The HTML of `GET <management.path>/dashboard`: one self-contained page (no external asset, no CDN)
 * that shows every breaker as a card, refreshed from `GET <basePath>` every 2 s and live from
 * `<basePath>/events`, with reset and force-open buttons once an admin token is entered (kept in
 * `sessionStorage`, sent as `Authorization: Bearer`). Serve it as `text/html` with
 * {@link DASHBOARD_CONTENT_SECURITY_POLICY}.
 */
export function renderDashboard(options: DashboardPageOptions): string {
  const basePath = typeof options === 'object' && options !== null ? options.basePath : undefined;
  if (typeof basePath !== 'string' || !BASE_PATH.test(basePath)) {
    throw new CircuitBreakerConfigError([{ path: 'basePath', expected: DASHBOARD_EXPECTED.basePath, value: basePath }]);
  }
  const base = basePath.replace(/\/+$/, '');
  return `<!doctype html>
<html lang="en" data-base="${base}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="dark">
<title>Circuit breakers</title>
<link id="favicon" rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header class="top">
  <div class="brand"><h1>Circuit breakers</h1><span id="health" class="health h-healthy">healthy</span></div>
  <ul class="summary" aria-label="Summary">
    <li class="pill"><b id="sum-total">0</b> breakers</li>
    <li class="pill p-open"><b id="sum-open">0</b> open</li>
    <li class="pill p-half_open"><b id="sum-half_open">0</b> half-open</li>
    <li class="pill p-forced_open"><b id="sum-forced_open">0</b> forced open</li>
    <li class="pill p-disabled"><b id="sum-disabled">0</b> disabled</li>
    <li class="pill p-closed"><b id="sum-closed">0</b> closed</li>
  </ul>
  <div class="meta"><span id="live" class="live wait">connecting…</span><time id="clock"></time></div>
  <div class="admin-bar">
    <form id="auth" autocomplete="off"><input id="token" type="password" placeholder="Admin token" aria-label="Admin token" autocomplete="off"><button type="submit">Unlock</button></form>
    <span class="admin-label">Admin</span><button id="reset-all" type="button">Reset all</button><button id="lock" type="button">Lock</button>
  </div>
</header>
<main id="grid" class="grid" aria-live="polite"></main>
<p id="empty" class="empty" hidden>No circuit breakers yet: each one appears here once it exists (a decorated method at startup, or its first use).</p>
<div id="toast" class="toast" role="status" aria-live="polite"></div>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
