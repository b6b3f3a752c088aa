/**
 * What `npm run demo` needs from the extension side: the demo sign-in site, the detection
 * rules and managed policy that make the extension work on it, and writing that policy where
 * the local Chromium (and Chrome) read it, when this process may.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { DetectionRule } from '../../extension/lib/rules.ts';

export { startDemoSite, adSubCode, AD_MESSAGES, type DemoSite, type DemoSiteOptions } from './server.ts';

/** The built extension, to load unpacked (chrome://extensions → Developer mode → Load unpacked). */
export const EXTENSION_DIR = resolve(import.meta.dirname, '../../dist/extension');

/** Admin detection rules for the demo site's messages (text rules, as an admin would write). */
export function demoDetectionRules(siteUrl: string): DetectionRule[] {
  const origin = new URL(siteUrl).origin;
  return [
    { urlPattern: `${origin}/*`, textPattern: 'account is locked', outcome: 'locked', userField: '#username' },
    { urlPattern: `${origin}/*`, textPattern: 'must change your password', outcome: 'must_change', userField: '#username' },
    { urlPattern: `${origin}/*`, textPattern: 'password has expired', outcome: 'expired', userField: '#username' },
  ];
}

export interface DemoPolicyInput {
  relayUrl: string;
  tenant: string;
  pin: string;
  siteUrl: string;
  companyName?: string;
}

/** The managed settings for the extension (the `3rdparty.extensions.<id>` object). */
export function demoSettings(input: DemoPolicyInput): Record<string, unknown> {
  return {
    relayUrl: input.relayUrl,
    tenant: input.tenant,
    signingKeyPin: input.pin,
    detectionRules: demoDetectionRules(input.siteUrl),
    allowUnlock: true,
    companyName: input.companyName ?? 'Corp',
    helpdeskText: 'Demo help desk: see the terminal running npm run demo.',
  };
}

/** Policy folders of Chromium and Google Chrome on Linux. */
export const LINUX_POLICY_DIRS = ['/etc/chromium/policies/managed', '/etc/opt/chrome/policies/managed'];
const DEMO_POLICY_NAME = 'unlatch-demo.json';

/**
 * Writes the demo policy for every Chromium-family browser installed here, when we may (root,
 * Linux). Returns the files written; an empty list means the admin step must be done by hand.
 */
export async function installDemoPolicy(extensionId: string, settings: Record<string, unknown>): Promise<string[]> {
  if (process.platform !== 'linux') return [];
  const written: string[] = [];
  const policy = JSON.stringify({ '3rdparty': { extensions: { [extensionId]: settings } } }, null, 2);
  for (const dir of LINUX_POLICY_DIRS) {
    // Only for browsers that are installed: /etc/chromium or /etc/opt/chrome exists.
    if (!existsSync(dirname(dirname(dir)))) continue;
    try {
      await mkdir(dir, { recursive: true });
      const file = join(dir, DEMO_POLICY_NAME);
      await writeFile(file, policy);
      written.push(file);
    } catch {
      // Not root: the demo prints the policy instead.
    }
  }
  return written;
}

export async function removeDemoPolicy(): Promise<void> {
  await Promise.all(LINUX_POLICY_DIRS.map((dir) => rm(join(dir, DEMO_POLICY_NAME), { force: true })));
}
