import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { syntheticSignInPage } from '/work/main/bench/extension.ts';
const html = syntheticSignInPage();
const server = createServer((_q, r) => { r.writeHead(200, {'content-type':'text/html'}); r.end(html); });
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as any).port}/adfs/ls/`;
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
const page = await b.newPage();
for (let run = 0; run < 4; run++) {
await page.goto(url);
console.log(await page.evaluate(`(() => {
  const out = {};
  let t = performance.now();
  const w = document.createTreeWalker(document.body, 4); const parts = []; let n; let count = 0;
  while ((n = w.nextNode())) { count++; const p = n.parentNode.nodeName; if (p !== 'SCRIPT' && p !== 'STYLE') parts.push(n.data); }
  out.walk = performance.now() - t; out.nodes = count; t = performance.now();
  const text = parts.join(' '); out.join = performance.now() - t; out.len = text.length; t = performance.now();
  const tc = document.body.textContent; out.textContent = performance.now() - t; out.tcLen = tc.length; t = performance.now();
  const re1 = /account (?:is|has been|was)\\s+(?:currently\\s+)?locked|(?:are|is|been|was)\\s+(?:now\\s+)?locked\\s+out|Konto\\s+(?:ist|wurde)/i;
  re1.test(text); out.re1 = performance.now() - t; t = performance.now();
  const re3 = /password\\s+(?:has\\s+|is\\s+)?expired|expired\\s+password|(?:Kennwort|Passwort)\\s+(?:ist\\s+)?abgelaufen/i;
  out.hit = re3.test(text); out.re3 = performance.now() - t; t = performance.now();
  const it = document.createNodeIterator(document.body, 4); count = 0; while ((n = it.nextNode())) count++; out.iter = performance.now() - t; t = performance.now();
  const txt2 = document.body.innerText; out.innerText = performance.now() - t;
  return JSON.stringify(out);
})()`));
}
await b.close(); server.close();
