import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { syntheticSignInPage } from '/work/main/bench/extension.ts';
import { DEFAULT_RULES } from '/work/main/extension/lib/default-rules.ts';
const html = syntheticSignInPage();
const server = createServer((_q, r) => { r.writeHead(200, {'content-type':'text/html'}); r.end(html); });
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as any).port}/adfs/ls/`;
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
const src = readFileSync('/work/main/.scratch/scan.js', 'utf8');
for (let run = 0; run < 10; run++) {
  const page = await b.newPage();
  await page.goto(url);
  await page.evaluate(src);
  console.log(JSON.stringify(await page.evaluate(`__prof(${JSON.stringify(DEFAULT_RULES)})`), (k, v) => typeof v === 'number' ? Math.round(v * 10) / 10 : v));
  await page.close();
}
await b.close(); server.close();
