// The metric and label names a PromQL expression (or a Grafana `label_values(...)` query) uses.
// Not a full PromQL parser: enough for the expressions of docs/grafana, and strict where it matters
// (every identifier that is not a function, keyword or label is taken as a metric name).

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)/g;

export interface PromqlNames {
  metrics: Set<string>;
  labels: Set<string>;
}

export function promqlNames(expression: string): PromqlNames {
  const metrics = new Set<string>();
  const labels = new Set<string>();
  let expr = expression;
  const labelValues = /^\s*label_values\(\s*(.*?)\s*,\s*(\w+)\s*\)\s*$/.exec(expr);
  if (labelValues !== null) {
    labels.add(labelValues[2]!);
    expr = labelValues[1]!;
  }
  expr = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // string literals (matcher values, Grafana variables in them)
    .replace(/\[[^\]]*\]/g, ' '); // range selectors: [5m], [$__rate_interval]
  expr = expr.replace(/\{([^{}]*)\}/g, (_, matchers: string) => {
    for (const m of matchers.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) labels.add(m[1]!);
    return ' ';
  });
  expr = expr.replace(GROUPING, (_, _keyword: string, list: string) => {
    for (const name of list.split(',').map((s) => s.trim()).filter((s) => s !== '')) labels.add(name);
    return ' ';
  });
  expr = expr.replace(/\$\w+/g, ' ').replace(/\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, ' ');
  for (const m of expr.matchAll(/([a-zA-Z_:][\w:]*)\s*(\()?/g)) {
    const [, name, call] = m;
    if (call !== undefined || KEYWORDS.has(name!.toLowerCase())) continue;
    metrics.add(name!);
  }
  return { metrics, labels };
}
