/**
 * A real Chromium with the built extension loaded unpacked and configured through a real
 * managed-policy file, as an admin would deploy it:
 *
 *   /etc/chromium/policies/managed/unlatch-test.json
 *     {"3rdparty": {"extensions": {"<id>": { relayUrl, tenant, signingKeyPin, … }}}}
 *
 * Chromium reads that directory at start-up, so every configuration gets its own browser.
 * What works on this machine (Debian chromium 156, playwright-core): headless mode (the new
 * headless, which is Chromium's only one now) loads unpacked extensions and applies their
 * 3rdparty policy, provided Playwright's own --disable-extensions is left out.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page, type Worker } from 'playwright-core';
import { extensionIdFromKey } from '../../../extension/lib/extension-id.ts';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const EXTENSION_DIR = join(ROOT, 'dist/extension');
export const POLICY_DIR = '/etc/chromium/policies/managed';
export const POLICY_FILE = join(POLICY_DIR, 'unlatch-test.json');
export const CHROMIUM = process.env['UNLATCH_CHROMIUM'] ?? '/usr/bin/chromium';

let cachedId: string | undefined;

/** The extension's id, derived from the manifest `key` exactly as Chromium does. */
export async function extensionId(): Promise<string> {
  if (!cachedId) {
    const manifest = JSON.parse(await readFile(join(ROOT, 'manifest.json'), 'utf8')) as { key: string };
    cachedId = await extensionIdFromKey(manifest.key);
  }
  return cachedId;
}

/** Whether this machine can run the browser tests at all (Chromium installed, dist built). */
export function browserAvailable(): boolean {
  return existsSync(CHROMIUM) && existsSync(join(EXTENSION_DIR, 'manifest.json'));
}

/**
 * Chromium merges every file in the policy folder, so another one naming the extension (say
 * the one `npm run demo` writes) would silently change what a test configures. Refuse instead.
 */
async function assertNoOtherPolicy(id: string): Promise<void> {
  const files = await readdir(POLICY_DIR).catch(() => [] as string[]);
  for (const file of files) {
    const path = join(POLICY_DIR, file);
    if (path === POLICY_FILE || !file.endsWith('.json')) continue;
    if ((await readFile(path, 'utf8').catch(() => '')).includes(id)) {
      throw new Error(`${path} also configures the extension; remove it (npm run demo leaves one while running) before the browser tests`);
    }
  }
}

/** Writes the managed policy for the extension; undefined removes it (no policy at all). */
export async function writeManagedPolicy(settings: Record<string, unknown> | undefined): Promise<void> {
  await assertNoOtherPolicy(await extensionId());
  if (settings === undefined) return removeManagedPolicy();
  await mkdir(POLICY_DIR, { recursive: true });
  const id = await extensionId();
  await writeFile(POLICY_FILE, JSON.stringify({ '3rdparty': { extensions: { [id]: settings } } }, null, 2));
}

export async function removeManagedPolicy(): Promise<void> {
  await rm(POLICY_FILE, { force: true });
}

export interface ExtensionBrowser {
  context: BrowserContext;
  extensionId: string;
  /** The extension's service worker (Chromium has started it once this resolves). */
  worker: Worker;
  /** Opens one of the extension's pages, e.g. 'options.html' or 'reset.html?user=alice'. */
  openExtensionPage(path: string): Promise<Page>;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** Managed policy for the extension; undefined: no policy file. */
  policy?: Record<string, unknown>;
  /** Browser UI language, e.g. 'de' (default 'en-US'). */
  locale?: string;
}

/**
 * Launches Chromium with the extension and the given policy. The policy file is removed again
 * as soon as the browser has read it, so no other Chromium on the machine ever sees it.
 */
export async function launchWithExtension(options: LaunchOptions = {}): Promise<ExtensionBrowser> {
  const id = await extensionId();
  const userDataDir = await mkdtemp(join(tmpdir(), 'unlatch-chromium-'));
  await writeManagedPolicy(options.policy);
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      locale: options.locale ?? 'en-US',
      // Playwright disables extensions by default; these two must go for ours to load.
      ignoreDefaultArgs: ['--disable-extensions', '--disable-component-extensions-with-background-pages'],
      args: [
        `--disable-extensions-except=${EXTENSION_DIR}`,
        `--load-extension=${EXTENSION_DIR}`,
        `--lang=${options.locale ?? 'en-US'}`,
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-sync',
        '--disable-background-networking',
        '--disable-component-update',
      ],
      env: { ...process.env, LANGUAGE: options.locale ?? 'en-US' } as Record<string, string>,
    });
  } catch (err) {
    await removeManagedPolicy();
    await rm(userDataDir, { recursive: true, force: true });
    throw err;
  }
  const worker = context.serviceWorkers().find((w) => w.url().startsWith(`chrome-extension://${id}/`)) ??
    (await context.waitForEvent('serviceworker', { predicate: (w) => w.url().startsWith(`chrome-extension://${id}/`), timeout: 15_000 }));
  return {
    context,
    extensionId: id,
    worker,
    async openExtensionPage(path: string) {
      const page = await context.newPage();
      await page.goto(`chrome-extension://${id}/${path}`);
      return page;
    },
    async close() {
      await context.close().catch(() => undefined);
      await removeManagedPolicy();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Policy-independent check that the service worker finished ingesting policy. */
export async function waitForRules(worker: Worker): Promise<void> {
  await worker.evaluate(async () => {
    const api = (globalThis as unknown as { chrome: { storage: { local: { get(k: string): Promise<Record<string, unknown>> } } } }).chrome;
    for (let i = 0; i < 100; i++) {
      if ((await api.storage.local.get('unlatch.rules'))['unlatch.rules']) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the service worker never wrote the detection rules');
  });
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; html: string }[];
}

let axeSource: string | undefined;

/**
 * Runs axe-core in the page and returns serious and critical violations. The source is
 * evaluated through the DevTools protocol, which the extension's CSP does not apply to.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= await readFile(join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: Document, opts: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, html: n.html })) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
