// Markdown tables and the targets block, built from the medians that index.js collects.

/** The anchors every row is compared with, in column order. */
export const ANCHORS = [
  { id: 'floor', label: '× floor' },
  { id: 'cockatiel', label: '× cockatiel Consecutive' },
  { id: 'opossum-nt', label: '× opossum `timeout: false`' },
  { id: 'opossum', label: '× opossum defaults' },
];

export function fmtNs(ns) {
  if (!Number.isFinite(ns)) return 'n/a';
  const abs = Math.abs(ns);
  if (abs >= 1e6) return `${(ns / 1e6).toFixed(abs >= 1e7 ? 1 : 2)} ms`;
  if (abs >= 1e4) return `${(ns / 1e3).toFixed(1)} µs`;
  if (abs >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(abs < 10 ? 1 : 0)} ns`;
}

export function fmtOverhead(ns) {
  if (!Number.isFinite(ns)) return 'n/a';
  return `${ns >= 0 ? '+' : '−'}${fmtNs(Math.abs(ns))}`;
}

export function fmtBytes(bytes) {
  if (!Number.isFinite(bytes)) return 'n/a';
  return bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${Math.round(bytes)} B`;
}

export function fmtRatio(r) {
  if (!Number.isFinite(r)) return 'n/a';
  return `${r < 0.1 ? r.toFixed(3) : r < 10 ? r.toFixed(2) : r.toFixed(0)}×`;
}

/** a ÷ b, or NaN when the anchor's cost is too small (or too noisy) to divide by. */
export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0.5 ? a / b : NaN;
}

function table(header, rows) {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '--:')).join('|')}|`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

/** One call-path scenario: ratios first, then ns/op, overhead and the spread over runs. */
export function scenarioTable(scenario, result, subjects) {
  const rows = [];
  for (const s of subjects) {
    const r = result.rows[s.id];
    if (r === undefined) continue;
    if (r.pending) {
      rows.push([s.label, ...ANCHORS.map(() => '—'), r.pending, '', '']);
      continue;
    }
    const cost = scenario.absolute ? r.median : r.overhead;
    const ratios = ANCHORS.map((a) => {
      const anchor = result.rows[a.id];
      if (a.id === s.id) return '1×';
      if (s.id === 'bare' && !scenario.absolute) return '—'; // the baseline: no overhead to compare
      return anchor === undefined ? 'n/a' : fmtRatio(ratio(cost, scenario.absolute ? anchor.median : anchor.overhead));
    });
    rows.push([s.label, ...ratios, fmtNs(r.median), fmtOverhead(r.overhead), `${fmtNs(r.min)} – ${fmtNs(r.max)}`]);
  }
  const head = ['subject', ...ANCHORS.map((a) => a.label), 'ns/op', 'overhead', 'runs (min – max)'];
  return `### ${scenario.title}\n\n${scenario.note}.\n\n${table(head, rows)}`;
}

export function failureCostTable(result, subjects, sizes) {
  const rows = subjects.map((s) => {
    const cells = [s.label];
    for (const size of sizes) cells.push(fmtNs(result.rows[s.id]?.[size]?.failure));
    const [small, large] = sizes.map((size) => result.rows[s.id]?.[size]?.failure);
    cells.push(fmtRatio(ratio(large, small)));
    for (const size of sizes) cells.push(fmtNs(result.rows[s.id]?.[size]?.pair));
    return cells;
  });
  const n = (size) => size.toLocaleString('en-US');
  const head = ['subject', ...sizes.map((size) => `one failure, ${n(size)} in window`), `${n(sizes[1])} ÷ ${n(sizes[0])}`, ...sizes.map((size) => `failure + success, ${n(size)}`)];
  return `### Cost of one failure with many calls in the window\n\nA fresh breaker per block, its window filled with N successes first; one failure = (a failure then a success) − (a success alone), each awaited in one async loop; median of 5 blocks per run. The bare and floor rows have no window: the size changes nothing for them, which shows the noise.\n\n${table(head, rows)}`;
}

function timersText(t) {
  if (t === undefined) return 'n/a';
  const parts = [];
  const say = (n, what) => (n === 0 ? null : `${n} ${what}${n === 1 ? '' : 's'}`);
  const creation = [say(t.creation.intervals, 'interval'), say(t.creation.timeouts, 'timeout')].filter(Boolean);
  const perCall = [say(t.perCall.intervals, 'interval'), say(t.perCall.timeouts, 'timeout')].filter(Boolean);
  if (creation.length > 0) parts.push(`${creation.join(' + ')} per breaker`);
  if (perCall.length > 0) parts.push(`${perCall.join(' + ')} per call`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

export function perBreakerTable(result, timers, subjects, count) {
  const rows = subjects.filter((s) => s.make).map((s) => {
    const r = result.rows[s.id];
    return [s.label, fmtRatio(ratio(r?.heapBytes, result.rows.cockatiel?.heapBytes)), fmtBytes(r?.heapBytes), fmtBytes(r?.usedHeapBytes), fmtNs(r?.creationNs), timersText(timers[s.id])];
  });
  const head = ['subject', 'idle heap ÷ cockatiel', 'heap per idle breaker', 'heap after one call', 'creation per breaker', 'timers'];
  return `### Per breaker: heap, creation, timers\n\nA burst of ${count.toLocaleString('en-US')} breakers with distinct names and the subject's options, retained, as a registry creates them (new names each run); creation = the burst's time ÷ count, including the collections it sets off; heap = \`heapUsed\` after − before (settled with \`gc()\`) ÷ count, idle and then after one successful call through each; timers counted by wrapping \`setTimeout\`/\`setInterval\` around creation and one call.\n\n${table(head, rows)}`;
}

/** The issue's anchor table, with this run's numbers: overhead per scenario, then per-breaker costs. */
export function summaryTables(results, timers, subjects) {
  const ours = subjects.filter((s) => s.group === 'engine' || s.group === 'nest');
  const { closed, inflight, open, mix } = results.scenarios;
  const r = (res, sid, anchor, absolute) => {
    const row = res.rows[sid];
    const a = res.rows[anchor];
    if (row === undefined || row.pending || a === undefined) return row?.pending ? 'pending' : 'n/a';
    return fmtRatio(ratio(absolute ? row.median : row.overhead, absolute ? a.median : a.overhead));
  };
  const ratioRows = ours.map((s) => [
    s.label,
    r(closed, s.id, 'cockatiel'),
    r(closed, s.id, 'opossum-nt'),
    r(closed, s.id, 'floor'),
    r(inflight, s.id, 'cockatiel'),
    r(inflight, s.id, 'opossum-nt'),
    r(inflight, s.id, 'floor'),
    r(open, s.id, 'opossum-nt', true),
    r(mix, s.id, 'cockatiel'),
  ]);
  const ratioHead = [
    'ours',
    'sequential ÷ cockatiel',
    'sequential ÷ opossum t:false',
    'sequential ÷ floor',
    '1k in flight ÷ cockatiel',
    '1k in flight ÷ opossum t:false',
    '1k in flight ÷ floor',
    'rejected call ÷ opossum t:false',
    '10% mix ÷ cockatiel',
  ];
  const cell = (res, id, absolute) => {
    const row = res.rows[id];
    if (row === undefined) return 'n/a';
    if (row.pending) return 'pending';
    return absolute ? fmtNs(row.median) : fmtOverhead(row.overhead);
  };
  const absRows = subjects.filter((s) => s.id !== 'bare').map((s) => [
    s.label,
    cell(closed, s.id),
    cell(inflight, s.id),
    cell(open, s.id, true),
    cell(mix, s.id),
    s.make ? fmtBytes(results.perBreaker.rows[s.id]?.heapBytes) : '—',
    s.make ? fmtNs(results.perBreaker.rows[s.id]?.creationNs) : '—',
    s.make ? timersText(timers[s.id]) : '—',
  ]);
  const absHead = ['subject', 'closed, sequential', 'closed, 1,000 in flight', 'per rejected call when open', '10% failure mix', 'heap per breaker', 'creation', 'timers'];
  return `### Ratios (our overhead ÷ the anchor's overhead, same run; lower is better)\n\n${table(ratioHead, ratioRows)}\n\n`
    + `### Overhead over a bare \`await fn()\` (${fmtNs(closed.rows.bare.median)} sequential, ${fmtNs(inflight.rows.bare.median)} per call at 1,000 in flight)\n\n${table(absHead, absRows)}`;
}

/** The issue's targets, each with this run's measured ratio and PASS / MISS (or PENDING). */
export function evaluateTargets(results, timers, openCheck, http) {
  const out = [];
  const add = (target, value, limit, detail, fmt = fmtRatio) => {
    const status = !Number.isFinite(value) ? 'PENDING' : value <= limit ? 'PASS' : 'MISS';
    out.push({ target, value: Number.isFinite(value) ? value : null, limit, status, detail, shown: fmt(value) });
  };
  const { closed, inflight, open } = results.scenarios;
  const closedChecks = [
    ['cockatiel', 0.35, 'cockatiel Consecutive'],
    ['opossum-nt', 0.1, 'opossum `timeout: false`'],
    ['floor', 2, 'the floor'],
  ];
  const variants = [
    ['engine', ''],
    ['engine-count', ' [count window]'],
    ['engine-time', ' [time window]'],
  ];
  for (const [sid, variant] of variants) {
    for (const [res, what] of [[closed, 'sequential'], [inflight, '1,000 in flight']]) {
      for (const [anchor, limit, name] of closedChecks) {
        const ours = res.rows[sid]?.overhead;
        const theirs = res.rows[anchor]?.overhead;
        add(`closed ${what}${variant}: overhead ≤ ${limit} × ${name}'s`, ratio(ours, theirs), limit, `${fmtOverhead(ours)} vs ${fmtOverhead(theirs)}`);
      }
    }
  }
  for (const [res, what] of [[closed, 'sequential'], [inflight, '1,000 in flight']]) {
    const on = res.rows['engine-metrics']?.overhead;
    const off = res.rows.engine?.overhead;
    add(`closed ${what}, Prometheus metrics on (histogram fed): ≤ 60 ns over metrics off`, on - off, 60, `${fmtOverhead(on)} vs ${fmtOverhead(off)}`, fmtNs);
  }
  for (const anchor of ['opossum-nt', 'opossum']) {
    const ours = open.rows.engine?.median;
    const theirs = open.rows[anchor]?.median;
    add(`open fast-fail ≤ 0.2 × opossum ${anchor === 'opossum' ? 'defaults' : '`timeout: false`'} per rejected call`, ratio(ours, theirs), 0.2, `${fmtNs(ours)} vs ${fmtNs(theirs)}`);
  }
  add(
    'open rejection is a CircuitBreakerOpenError with name, state, retryAfterMs',
    openCheck.ok ? 0 : 1,
    0,
    openCheck.ok ? `retryAfterMs ${openCheck.retryAfterMs}` : `failed: ${openCheck.failed.join(', ')}`,
    () => (openCheck.ok ? 'yes' : 'no'),
  );
  for (const [sid, label] of [['engine-count', 'count window'], ['engine-time', 'time window']]) {
    const row = results.failureCost.rows[sid];
    const small = row?.[1000]?.failure;
    const large = row?.[100000]?.failure;
    add(`one failure with 100k in the window ≤ 1.5 × with 1k [${label}]`, ratio(large, small), 1.5, `${fmtNs(large)} vs ${fmtNs(small)}`);
  }
  for (const [sid, label] of [['engine', 'default'], ['engine-count', 'count window'], ['engine-time', 'time window']]) {
    const pb = results.perBreaker.rows[sid];
    add(`heap per idle breaker ≤ 1 KB [${label}]`, pb?.heapBytes, 1024, `${fmtBytes(pb?.usedHeapBytes)} after one call`, fmtBytes);
    add(`creation ≤ 1 µs, a burst of distinct names [${label}]`, pb?.creationNs, 1000, '', fmtNs);
  }
  for (const sid of ['engine', 'engine-count', 'engine-time']) {
    for (const [res, what] of [[closed, 'sequential'], [inflight, '1,000 in flight']]) {
      const now = res.rows[sid]?.overhead;
      const before = res.rows[`${sid}-baseline`]?.overhead;
      if (before === undefined) continue;
      // Within noise: 10% of the overhead or 5 ns, whichever is larger.
      add(`closed ${what} [${sid}]: no slower than the baseline build`, now - before, Math.max(5, 0.1 * before), `${fmtOverhead(now)} vs ${fmtOverhead(before)} (baseline)`, fmtOverhead);
    }
  }
  const t = timers.engine;
  const timerCount = t === undefined ? NaN : t.creation.timeouts + t.creation.intervals + t.perCall.timeouts + t.perCall.intervals;
  add('no timers (creation and a call)', timerCount, 0, timersText(t), (v) => (Number.isFinite(v) ? String(v) : 'n/a'));
  const nest = closed.rows.nest;
  if (nest?.pending) {
    add('a decorated provider method adds ≤ 50 ns over the engine', NaN, 50, nest.pending, fmtOverhead);
  } else {
    for (const [res, what] of [[closed, 'sequential'], [inflight, '1,000 in flight']]) {
      const extra = res.rows.nest?.overhead - res.rows.engine?.overhead;
      add(`a decorated provider method adds ≤ 50 ns over the engine (${what})`, extra, 50, `${fmtOverhead(res.rows.nest?.overhead)} vs ${fmtOverhead(res.rows.engine?.overhead)}`, fmtOverhead);
    }
  }
  if (http === null || http.ratio === null || http.ratio === undefined) {
    add('a route with the breaker serves ≥ 95% of the req/s without it', NaN, 0.95, http?.pending ?? 'pending: run `npm run bench:http`');
  } else {
    // Stored as a shortfall so that "≤ limit" reads the same way as the other targets.
    out.push({
      target: 'a route with the breaker serves ≥ 95% of the req/s without it',
      value: http.ratio,
      limit: 0.95,
      status: http.ratio >= 0.95 ? 'PASS' : 'MISS',
      detail: `${Math.round(http.guarded.median)} vs ${Math.round(http.plain.median)} req/s (bench:http, ${http.date})`,
      shown: `${(http.ratio * 100).toFixed(1)}%`,
    });
  }
  return out;
}

export function targetsBlock(targets) {
  const width = Math.max(...targets.map((t) => t.target.length));
  const lines = targets.map((t) => `${t.status.padEnd(7)} ${t.target.padEnd(width)}  ${String(t.shown).padStart(8)}  ${t.detail}`);
  return `### Targets\n\n\`\`\`\n${lines.join('\n')}\n\`\`\``;
}
