import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { CircuitBreakerConfigError } from '../core/index.js';
import { DASHBOARD_CONTENT_SECURITY_POLICY, renderDashboard } from './dashboard.page.js';

const inline = (html: string, tag: 'script' | 'style'): string[] =>
  [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]!);
const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
const directive = (name: string) => DASHBOARD_CONTENT_SECURITY_POLICY.split('; ').find((d) => d.startsWith(`${name} `));

describe('renderDashboard', () => {
  const html = renderDashboard({ basePath: '/api/circuit-breakers' });

  it('allows exactly its own inline script and style by hash: no unsafe-inline, nothing else loads', () => {
    const scripts = inline(html, 'script');
    const styles = inline(html, 'style');
    expect(scripts).toHaveLength(1);
    expect(styles).toHaveLength(1);
    expect(directive('script-src')).toBe(`script-src ${sha256(scripts[0]!)}`);
    expect(directive('style-src')).toBe(`style-src ${sha256(styles[0]!)}`);
    expect(directive('default-src')).toBe("default-src 'none'");
    expect(directive('connect-src')).toBe("connect-src 'self'");
    expect(DASHBOARD_CONTENT_SECURITY_POLICY).not.toContain('unsafe');
  });

  it('has no external asset, no style attribute and no inline event handler (which the policy would block)', () => {
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+rel="stylesheet"/i);
    expect(html).not.toMatch(/\b(?:src|href)="(?!data:)/i);
    expect(html).not.toMatch(/\sstyle="/i);
    expect(html).not.toMatch(/\son[a-z]+="/i);
    // The only absolute URL is the SVG namespace, which is never fetched.
    expect(new Set([...html.matchAll(/https?:\/\/[^\s'"]+/g)].map((m) => m[0]))).toEqual(new Set(['http://www.w3.org/2000/svg']));
  });

  it('keeps the same script and style whatever the base path, which travels in a data attribute', () => {
    const other = renderDashboard({ basePath: '/circuit-breakers/' });
    expect(other).toContain('<html lang="en" data-base="/circuit-breakers">');
    expect(html).toContain('<html lang="en" data-base="/api/circuit-breakers">');
    expect(inline(other, 'script')).toEqual(inline(html, 'script'));
    expect(inline(other, 'style')).toEqual(inline(html, 'style'));
  });

  it.each([
    ['relative', 'circuit-breakers'],
    ['protocol-relative (another origin)', '//evil.example/x'],
    ['markup', '/x"><script>alert(1)</script>'],
    ['not a string', 42],
  ])('rejects a %s base path', (_, basePath) => {
    const call = () => renderDashboard({ basePath } as never);
    expect(call).toThrow(CircuitBreakerConfigError);
    expect(call).toThrow(/basePath: expected a URL path starting with "\/"/);
  });
});
