/**
 * Extension budgets for `npm run bench`, measured on the built files in dist/extension/:
 *
 *   content_script_gzip_bytes   gzip -9 size of content.js (budget 5,120)
 *   reset_page_gzip_bytes       gzip -9 size of the JavaScript the reset page loads before its
 *                               first paint: reset.js plus the chunks it imports statically, as
 *                               listed by the build in dist/extension-meta.json; the strength
 *                               meter and the WebCrypto fallback are lazy chunks (budget 61,440)
 *   content_script_scan_ms      median time the real content.js takes to recognise an expired
 *                               password on a synthetic 2 MB sign-in page (syntheticSignInPage)
 *                               in Chromium (budget 5): from the start of the script to its
 *                               decision to show the banner — URL matching against every
 *                               built-in rule, reading the text around the sign-in form, every
 *                               matching rule's regular expression. The extension APIs are
 *                               stubbed (storage answers at once with the built-in rules), so
 *                               browser IPC is not counted. Each run is on a freshly loaded
 *                               page, as a content script always is. Time to the banner in the
 *                               DOM, and the time on an extreme text-heavy page, are logged.
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

const ERROR = 'Your password has expired. You must change your password before you can sign in.';

/**
 * A 2 MB sign-in page built the way large real ones are (Entra ID, AD FS and portal themes):
 * most of the weight is inline script and style, not text. About 700 KB of configuration
 * script holding every localised error string (which must NOT trigger the banner), 350 KB of
 * CSS, 300 KB of inline SVG icons, 500 KB of inline application script in the body, some
 * 2,500 elements of navigation, help text and footer, and the form with its error message.
 */
export function syntheticSignInPage(targetBytes = 2 * 1024 * 1024): string {
  const strings = Array.from({ length: 7000 }, (_, i) => `"str${i}":"Your account is locked (template ${i}). Password expired."`);
  const config = `<script>var $Config={${strings.join(',')}};</script>`;
  const css = `<style>${Array.from({ length: 9000 }, (_, i) => `.c${i}{margin:${i % 7}px;color:#${((i * 2654435761) >>> 0).toString(16).padStart(8, '0').slice(0, 6)}}`).join('')}</style>`;
  const path = Array.from({ length: 150 }, (_, i) => `L${(i * 7) % 24} ${(i * 13) % 24}`).join(' ');
  const icons = Array.from({ length: 200 }, (_, i) => `<svg class="icon i${i}" viewBox="0 0 24 24" aria-hidden="true"><path d="M0 0 ${path}Z"/></svg>`).join('');
  const nav = `<nav><ul>${Array.from({ length: 300 }, (_, i) => `<li><a href="/portal/${i}">Portal section ${i}</a></li>`).join('')}</ul></nav>`;
  const help = `<section>${Array.from({ length: 40 }, (_, i) => `<p>Help topic ${i}: how to sign in, how to reset a forgotten password, how to reach the help desk and what to do when the account is locked out after too many attempts.</p>`).join('')}</section>`;
  const form = `<main><div id="content"><h1>Sign in</h1><form id="loginForm"><div id="error" class="alert" role="alert"><span id="errorText">${ERROR}</span></div>
<input id="userNameInput" name="UserName" value="alice@corp.example"><input id="passwordInput" type="password" value="Secret-1"><button>Sign in</button></form></div></main>`;
  const footer = `<footer><ul>${Array.from({ length: 300 }, (_, i) => `<li><a href="/legal/${i}">Legal notice ${i}</a></li>`).join('')}</ul></footer>`;
  const head = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title>${css}${config}</head><body>`;
  const visible = `<header>${icons}</header>${nav}${form}${help}${footer}`;
  const tail = '</body></html>';
  // The rest of the 2 MB is application script at the end of the body, as bundlers emit it.
  const fill = Math.max(0, targetBytes - head.length - visible.length - tail.length - '<script></script>'.length);
  const app = `<script>${'function f(a,b){return a&&b?"Your account has been locked":a||b}'.repeat(Math.ceil(fill / 59)).slice(0, fill)}</script>`;
  return `${head}${visible}${app}${tail}`;
}

/**
 * The same weight as mostly visible text (some 43,000 elements): far from a real sign-in page,
 * logged only to show how detection degrades on an extreme page.
 */
export function textHeavyPage(targetBytes = 2 * 1024 * 1024): string {
  const items: string[] = [];
  let size = 0;
  for (let i = 0; size < targetBytes - 2000; i++) {
    const item = `<li class="c${i % 3000}"><a href="/portal/section/${i}">Section ${i}</a> <span>Help topic ${i}: how to sign in, reset a password or reach support.</span></li>\n`;
    items.push(item);
    size += item.length;
  }
  const half = Math.floor(items.length / 2);
  const form = `<main><h1>Sign in</h1><div id="error" role="alert">${ERROR}</div><form><input id="userNameInput" value="alice"><input type="password"><button>Sign in</button></form></main>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head><body><nav><ul>${items.slice(0, half).join('')}</ul></nav>${form}<footer><ul>${items.slice(half).join('')}</ul></footer></body></html>`;
}

/**
 * Runs in the page: stubs the extension APIs, runs content.js, and times it until the banner
 * is in the DOM. A string, so the bundler's helpers never leak into the page.
 */
const IN_PAGE = `async ({ src, rules }) => {
  let end = 0;
  let shown = 0;
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    if (!end) end = performance.now();
    return attach.call(this, init);
  };
  const observer = new MutationObserver(() => {
    if (!shown && document.querySelector('unlatch-banner')) shown = performance.now();
  });
  observer.observe(document.documentElement, { childList: true });
  globalThis.chrome = {
    // The content script reads its keys in one call (rules and the nudge setting).
    storage: { local: { get: (keys) => Promise.resolve({ [Array.isArray(keys) ? keys[0] : keys]: rules }) } },
    runtime: { sendMessage: () => Promise.resolve() },
    i18n: { getMessage: (k) => k },
  };
  const start = performance.now();
  new Function(src)();
  for (let i = 0; i < 100 && !shown; i++) await new Promise((r) => setTimeout(r, 5));
  observer.disconnect();
  Element.prototype.attachShadow = attach;
  if (!end || !shown) throw new Error('the content script showed no banner on the synthetic page');
  return [end - start, shown - start];
}`;

interface Timing {
  /** Script start → the decision to show the banner (its shadow root is being attached). */
  scanMs: number;
  /** Script start → banner in the DOM. */
  bannerMs: number;
}

/** Runs the real content.js on `html`, served at an AD FS-like URL, on RUNS fresh pages. */
async function timeContentScript(html: string, contentJs: string): Promise<Timing[]> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/adfs/ls/?client-request-id=bench`;
  const browser = await chromium.launch({
    executablePath: process.env['UNLATCH_CHROMIUM'] ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  const timings: Timing[] = [];
  try {
    const context = await browser.newContext();
    for (let run = 0; run < RUNS; run++) {
      const page = await context.newPage();
      await page.goto(url, { waitUntil: 'load' });
      const [scanMs, bannerMs] = (await page.evaluate(`(${IN_PAGE})(${JSON.stringify({ src: contentJs, rules: DEFAULT_RULES })})`)) as [number, number];
      timings.push({ scanMs, bannerMs });
      await page.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
  return timings;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

export async function measureExtension(log: (s: string) => void = () => undefined): Promise<Record<string, number>> {
  const meta = JSON.parse(readFileSync(join(ROOT, 'dist/extension-meta.json'), 'utf8')) as { contentScript: string; firstPaint: { reset: string[] } };
  const contentGzip = gzipSize([meta.contentScript]);
  const resetGzip = gzipSize(meta.firstPaint.reset);
  log(`extension: content script ${contentGzip} B gzip, reset page first paint ${resetGzip} B gzip (${meta.firstPaint.reset.join(', ')})`);
  const contentJs = readFileSync(join(DIST, meta.contentScript), 'utf8');

  const page = syntheticSignInPage();
  const timings = await timeContentScript(page, contentJs);
  const scan = median(timings.map((t) => t.scanMs));
  log(
    `extension: content script on a ${(page.length / 1024 / 1024).toFixed(2)} MB sign-in page, median of ${RUNS} page loads: ` +
      `${scan.toFixed(2)} ms to detect, ${median(timings.map((t) => t.bannerMs)).toFixed(2)} ms to banner`,
  );
  const heavy = await timeContentScript(textHeavyPage(), contentJs);
  log(`extension: (for reference) on a 2 MB page of ~43,000 text elements: ${median(heavy.map((t) => t.scanMs)).toFixed(2)} ms to detect`);
  return {
    content_script_gzip_bytes: contentGzip,
    content_script_scan_ms: Number(scan.toFixed(2)),
    reset_page_gzip_bytes: resetGzip,
  };
}
