// Checks every Markdown link of README.md and docs/*.md: a relative link (or one to this
// repository's GitHub URL, as the README uses so that it works on the npm page) must name a file
// of the repository, and an #anchor a heading of that file. Exits non-zero listing what is broken.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const repoUrl = String(pkg.homepage ?? '').replace(/#.*$/, '').replace(/\/$/, '');
const blobPrefixes = repoUrl === '' ? [] : [`${repoUrl}/blob/main/`, `${repoUrl}/tree/main/`, `${repoUrl}/raw/main/`];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to `-`. */
const slug = (heading) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');

function anchorsOf(file) {
  const anchors = new Set();
  const seen = new Map();
  let fenced = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const base = slug(m[1].replace(/`/g, ''));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

const files = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const problems = [];
for (const file of files) {
  const text = readFileSync(join(root, file), 'utf8').replace(/```[\s\S]*?```/g, '');
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    let path = target;
    const prefix = blobPrefixes.find((p) => path.startsWith(p));
    if (prefix !== undefined) path = path.slice(prefix.length);
    else if (/^[a-z]+:/i.test(path)) continue; // another site: not checked offline
    else path = relative(root, resolve(root, dirname(file), path.split('#')[0])) + (path.includes('#') ? `#${path.split('#')[1]}` : '');
    const [filePart, anchor] = path.split('#');
    const resolved = filePart === '' ? join(root, file) : join(root, filePart);
    if (!existsSync(resolved)) {
      problems.push(`${file}: ${target} (no such file)`);
      continue;
    }
    if (anchor !== undefined && anchor !== '' && statSync(resolved).isFile() && !anchorsOf(resolved).has(anchor)) {
      problems.push(`${file}: ${target} (no heading #${anchor})`);
    }
  }
}
if (problems.length > 0) {
  console.error(`check-links: ${problems.length} broken link(s):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-links: every link of ${files.length} files resolves`);
