/**
 * The policy files an admin deploys, named and placed: `unlatch-agent policy` prints or writes
 * them, `unlatch-agent init` writes them beside the config.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { regFileBytes, type BrowserPolicies } from './policy.ts';

/** One deployable policy file: its name, its bytes, and where an admin puts it. */
export interface PolicyFile {
  name: string;
  content: string | Uint8Array;
  /** The same as text, for printing (.reg files are UTF-16LE on disk). */
  text: string;
  where: string;
}

export function policyFiles(p: BrowserPolicies): PolicyFile[] {
  return [
    { name: 'chrome-policy.json', content: p.chromeJson, text: p.chromeJson, where: 'Chrome on Linux: /etc/opt/chrome/policies/managed/; macOS: a configuration profile' },
    { name: 'edge-policy.json', content: p.edgeJson, text: p.edgeJson, where: 'Edge on Linux: /etc/opt/edge/policies/managed/; macOS: a configuration profile' },
    { name: 'chrome.reg', content: regFileBytes(p.chromeReg), text: p.chromeReg, where: 'Chrome on Windows: import with regedit, or translate to Group Policy preferences' },
    { name: 'edge.reg', content: regFileBytes(p.edgeReg), text: p.edgeReg, where: 'Edge on Windows: as above' },
    { name: 'firefox-policies.json', content: p.firefoxPolicies, text: p.firefoxPolicies, where: 'Firefox: <install dir>/distribution/policies.json (or the Enterprise policy templates)' },
  ];
}

/** Writes the policy files into `dir` (created when missing); returns their paths, with where each goes. */
export function writePolicyFiles(p: BrowserPolicies, dir: string): Array<{ path: string; where: string }> {
  mkdirSync(dir, { recursive: true });
  return policyFiles(p).map((f) => {
    const path = join(dir, f.name);
    writeFileSync(path, f.content);
    return { path, where: f.where };
  });
}
