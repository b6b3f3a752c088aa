/**
 * Extension budgets for `npm run bench`, measured on the built files in dist/extension/:
 *
 *   content_script_gzip_bytes   gzip -9 size of content.js (budget 5,120)
 *   reset_page_gzip_bytes       gzip -9 size of the JavaScript the reset page loads before its
 *                               first paint: reset.js plus the chunks it imports statically, as
 *                               listed by the build in dist/extension-meta.json; the strength
 *                               meter and the WebCrypto fallback are lazy chunks (budget 61,440)
 *   content_script_scan_ms      median time the real content.js takes on a synthetic 2 MB
 *                               sign-in page in Chromium (budget 5): from the start of the
 *                               script to the banner being in the DOM, i.e. URL matching, text
 *                               collection, every rule's regular expression and the banner.
 *                               The extension APIs are stubbed (storage answers at once with the
 *                               effective built-in rules), so browser IPC is not counted. Each
 *                               run is on a freshly loaded page, as a content script always is.
 */
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { DEFAULT_RULES } from '../extension/lib/default-rules.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist/extension');
const RUNS = 15;

function gzipSize(files: string[]): number {
  return files.reduce((n, f) => n + gzipSync(readFileSync(join(DIST, f)), { level: 9 }).length, 0);
}

/**
 * A 2 MB sign-in page shaped like the big ones (Entra ID, AD FS with a portal theme): a large
 * inline configuration script holding every localised error string (which must NOT trigger
 * the banner), a stylesheet, long navigation and footer markup, the form, and the error.
 */
export function syntheticSignInPage(targetBytes = 2 * 1024 * 1024): string {
  const strings = Array.from({ length: 4000 }, (_, i) => `"str${i}":"Your account is locked (template ${i}). Your password has expired (template ${i})."`);
  const script = `<script>var $Config={${strings.join(',')}};</script>`;
  const css = `<style>${Array.from({ length: 3000 }, (_, i) => `.c${i}{margin:${i % 7}px;color:#${(i * 2654435761).toString(16).slice(0, 6)}}`).join('')}</style>`;
  const head = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title>${css}${script}</head><body>`;
  const form = `<main><h1>Sign in</h1><div id="error" class="alert">Your password has expired. You must change your password before you can sign in.</div>
<form><input id="userNameInput" name="UserName" value="alice@corp.example"><input id="passwordInput" type="password" value="Secret-1"><button>Sign in</button></form></main>`;
  const tail = '</body></html>';
  let body = '';
  let i = 0;
  const budget = targetBytes - head.length - form.length - tail.length;
  const items: string[] = [];
  while (body.length < budget) {
    const item = `<li class="c${i % 3000}"><a href="/portal/section/${i}">Section ${i}</a> <span>Help topic ${i}: how to sign in, reset a password or reach support.</span></li>\n`;
    items.push(item);
    body += item;
    i++;
  }
  const half = Math.floor(items.length / 2);
  return `${head}<nav><ul>${items.slice(0, half).join('')}</ul></nav>${form}<footer><ul>${items.slice(half).join('')}</ul></footer>${tail}`;
}

/**
 * Runs in the page: stubs the extension APIs, runs content.js, and times it until the banner
 * is in the DOM. A string, so the bundler's helpers never leak into the page.
 */
const IN_PAGE = `async ({ src, rules }) => {
  let end = 0;
  const observer = new MutationObserver(() => {
    if (!end && document.querySelector('unlatch-banner')) end = performance.now();
  });
  observer.observe(document.documentElement, { childList: true });
  globalThis.chrome = {
    storage: { local: { get: (key) => Promise.resolve({ [key]: rules }) } },
    runtime: { sendMessage: () => Promise.resolve() },
    i18n: { getMessage: (k) => k },
  };
  const start = performance.now();
  new Function(src)();
  for (let i = 0; i < 100 && !end; i++) await new Promise((r) => setTimeout(r, 5));
  observer.disconnect();
  if (!end) throw new Error('the content script showed no banner on the synthetic page');
  return end - start;
}`;

export async function measureExtension(log: (s: string) => void = () => undefined): Promise<Record<string, number>> {
  const meta = JSON.parse(readFileSync(join(ROOT, 'dist/extension-meta.json'), 'utf8')) as { contentScript: string; firstPaint: { reset: string[] } };
  const contentGzip = gzipSize([meta.contentScript]);
  const resetGzip = gzipSize(meta.firstPaint.reset);
  log(`extension: content script ${contentGzip} B gzip, reset page first paint ${resetGzip} B gzip (${meta.firstPaint.reset.join(', ')})`);

  const html = syntheticSignInPage();
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/adfs/ls/?client-request-id=bench`;
  const contentJs = readFileSync(join(DIST, meta.contentScript), 'utf8');
  const browser = await chromium.launch({ executablePath: process.env['UNLATCH_CHROMIUM'] ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const times: number[] = [];
  try {
    const context = await browser.newContext();
    for (let run = 0; run < RUNS; run++) {
      const page = await context.newPage();
      await page.goto(url, { waitUntil: 'load' });
      const ms = (await page.evaluate(`(${IN_PAGE})(${JSON.stringify({ src: contentJs, rules: DEFAULT_RULES })})`)) as number;
      times.push(ms);
      await page.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] as number;
  log(`extension: content script on a ${(html.length / 1024 / 1024).toFixed(2)} MB sign-in page: median ${median.toFixed(2)} ms (min ${times[0]?.toFixed(2)}, max ${times.at(-1)?.toFixed(2)}) over ${RUNS} page loads`);
  return {
    content_script_gzip_bytes: contentGzip,
    content_script_scan_ms: Number(median.toFixed(2)),
    reset_page_gzip_bytes: resetGzip,
  };
}
