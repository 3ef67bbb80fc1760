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
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
  }
  function setToken(value) {
    try {
      if (value) sessionStorage.setItem(TOKEN_KEY, value);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch { /* storage disabled: the token lasts as long as the page */ }
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
      try { event = JSON.parse(message.data); } catch { return; }
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
