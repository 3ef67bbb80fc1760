// PLACEHOLDER written by the health/management engineer so the management controller compiles and its
// `GET dashboard` route works; the observability engineer owns this file and replaces the body (keep
// `renderDashboard({ basePath })` and `DASHBOARD_CONTENT_SECURITY_POLICY`: the controller uses both).

/** Options of {@link renderDashboard}. */
export interface DashboardPageOptions {
  /** the URL path of the management API as the browser sees it, e.g. `/api/circuit-breakers` */
  basePath: string;
}

/**
 * The `Content-Security-Policy` header to serve the dashboard with: the page has no external assets,
 * only its inline script and style, and talks to its own origin.
 */
export const DASHBOARD_CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The HTML of `GET <management.path>/dashboard`: serve it as `text/html` with {@link DASHBOARD_CONTENT_SECURITY_POLICY}. */
export function renderDashboard(options: DashboardPageOptions): string {
  const base = JSON.stringify(options.basePath).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Circuit breakers</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}td,th{padding:.25rem .75rem;text-align:left}</style></head>
<body><h1>Circuit breakers</h1><table><thead><tr><th>name</th><th>state</th><th>requests</th><th>success rate</th></tr></thead><tbody id="rows"></tbody></table>
<script>
const base = ${base};
async function refresh() {
  const body = await (await fetch(base)).json();
  const rows = document.getElementById('rows');
  rows.replaceChildren(...Object.values(body.breakers).map((b) => {
    const tr = document.createElement('tr');
    for (const v of [b.name, b.state, b.total_requests, b.success_rate + ' %']) { const td = document.createElement('td'); td.textContent = String(v); tr.append(td); }
    return tr;
  }));
}
refresh();
new EventSource(base + '/events').addEventListener('stateChange', refresh);
</script></body></html>`;
}
