import { CircuitBreakerConfigError } from '../core/index.js';
import { DASHBOARD_EXPECTED } from './dashboard.messages.js';
import {
  DASHBOARD_HTML_AFTER_BASE,
  DASHBOARD_HTML_BEFORE_BASE,
  DASHBOARD_SCRIPT_HASH,
  DASHBOARD_STYLE_HASH,
} from './dashboard/dashboard.assets.js';

/** Options of {@link renderDashboard}. */
export interface DashboardPageOptions {
  /** the URL path of the management API as the browser sees it, e.g. `/api/circuit-breakers` */
  basePath: string;
}

// The page is written as real files in ./dashboard/ (html, css, js); scripts/build-dashboard.js
// inlines the style and script and hashes them. Both are fixed text (the base path travels in a
// `data-` attribute), so the Content-Security-Policy can allow exactly them by hash: no
// 'unsafe-inline', no nonce to thread through the response, and the header is a constant the
// controller sends with `@Header()`. Styles set from the script go through the CSSOM
// (`el.style.transform`), which CSP does not block; the markup has no `style` attributes and no
// inline event handlers.

/**
 * The `Content-Security-Policy` header to serve the dashboard with: nothing loads but the page's own
 * inline style and script (allowed by their SHA-256 hashes), it talks only to its own origin (the
 * management API and its event stream), and it cannot be framed.
 */
export const DASHBOARD_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src ${DASHBOARD_SCRIPT_HASH}`,
  `style-src ${DASHBOARD_STYLE_HASH}`,
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
  return DASHBOARD_HTML_BEFORE_BASE + base + DASHBOARD_HTML_AFTER_BASE;
}
