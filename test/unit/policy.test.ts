/**
 * `unlatch-agent policy` (agent/policy.ts): the files an admin deploys. Checked for what a
 * browser would read from them: the install entry and exactly the managed keys the extension's
 * schema describes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  browserPolicies,
  CHROME_WEB_STORE_UPDATE_URL,
  PolicyInputError,
  regFileBytes,
  UNLATCH_EXTENSION_ID,
  UNLATCH_GECKO_ID,
} from '../../agent/policy.ts';
import { parsePolicy } from '../../extension/lib/settings.ts';

const PIN = 'q1Vb3yJ6p3h0mX0b1pWm2ZsF6bq0f5uYq2mH1cVxN0s';
const INPUT = {
  relayUrl: 'wss://relay.corp.example',
  tenant: 'acme',
  pin: PIN,
  branding: { companyName: 'Acme "Corp"', helpdeskUrl: 'https://help.corp.example', helpdeskText: 'Call C:\\help' },
  detectionRules: [{ urlPattern: 'https://sso.corp.example/*', textPattern: 'expired', outcome: 'expired' as const }],
  allowUnlock: false,
};
const schema = JSON.parse(readFileSync(new URL('../../managed_schema.json', import.meta.url), 'utf8')) as { properties: Record<string, unknown> };

/** Reads the values under one key of a .reg file back, as regedit would. */
function regValues(reg: string, key: string): Record<string, string | number> {
  const lines = reg.split('\r\n');
  const start = lines.indexOf(`[${key}]`);
  assert.ok(start >= 0, `no [${key}] in\n${reg}`);
  const out: Record<string, string | number> = {};
  for (const line of lines.slice(start + 1)) {
    if (line === '' || line.startsWith('[')) break;
    const m = /^"([^"]+)"=(?:dword:([0-9a-f]{8})|"((?:[^"\\]|\\.)*)")$/.exec(line);
    assert.ok(m, `bad .reg line: ${line}`);
    out[m[1] as string] = m[2] !== undefined ? parseInt(m[2], 16) : (m[3] as string).replace(/\\(.)/g, '$1');
  }
  return out;
}

describe('browserPolicies()', () => {
  const p = browserPolicies(INPUT);

  it('force-installs the extension in Chrome and Edge and configures it through 3rdparty', () => {
    for (const text of [p.chromeJson, p.edgeJson]) {
      const json = JSON.parse(text) as { ExtensionInstallForcelist: string[]; '3rdparty': { extensions: Record<string, Record<string, unknown>> } };
      assert.deepEqual(json.ExtensionInstallForcelist, [`${UNLATCH_EXTENSION_ID};${CHROME_WEB_STORE_UPDATE_URL}`]);
      const settings = json['3rdparty'].extensions[UNLATCH_EXTENSION_ID];
      assert.ok(settings);
      assert.equal(settings['signingKeyPin'], PIN);
    }
  });

  it('emits only keys of managed_schema.json, all of which the extension accepts without a problem', () => {
    for (const key of Object.keys(p.settings)) assert.ok(key in schema.properties, key);
    const parsed = parsePolicy(p.settings);
    assert.deepEqual(parsed.problems, []);
    assert.equal(parsed.settings.relayUrl, INPUT.relayUrl);
    assert.equal(parsed.settings.allowUnlock, false);
    assert.deepEqual(parsed.settings.detectionRules, INPUT.detectionRules);
  });

  it('carries the next signing-key pin while a rollover is prepared, and checks it', () => {
    const next = 'N'.repeat(43);
    const during = browserPolicies({ ...INPUT, nextPin: next });
    assert.equal(during.settings['nextSigningKeyPin'], next);
    assert.deepEqual(parsePolicy(during.settings).settings.nextSigningKeyPin, next);
    assert.equal('nextSigningKeyPin' in p.settings, false);
    assert.throws(() => browserPolicies({ ...INPUT, nextPin: 'short' }), /nextPin must be the 43-character pin/);
  });

  it('writes .reg files for both browsers that carry the same settings, lists as JSON', () => {
    for (const [reg, vendor] of [
      [p.chromeReg, 'Google\\Chrome'],
      [p.edgeReg, 'Microsoft\\Edge'],
    ] as const) {
      assert.ok(reg.startsWith('Windows Registry Editor Version 5.00\r\n'));
      const root = `HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\${vendor}`;
      assert.deepEqual(regValues(reg, `${root}\\ExtensionInstallForcelist`), { '1': `${UNLATCH_EXTENSION_ID};${CHROME_WEB_STORE_UPDATE_URL}` });
      const values = regValues(reg, `${root}\\3rdparty\\extensions\\${UNLATCH_EXTENSION_ID}\\policy`);
      assert.equal(values['companyName'], 'Acme "Corp"');
      assert.equal(values['helpdeskText'], 'Call C:\\help');
      assert.equal(values['allowUnlock'], 0);
      assert.deepEqual(JSON.parse(values['detectionRules'] as string), INPUT.detectionRules);
    }
  });

  it('writes Firefox policies.json with ExtensionSettings and 3rdparty.Extensions', () => {
    const json = JSON.parse(p.firefoxPolicies) as {
      policies: { ExtensionSettings: Record<string, { installation_mode: string; install_url: string }>; '3rdparty': { Extensions: Record<string, unknown> } };
    };
    assert.equal(json.policies.ExtensionSettings[UNLATCH_GECKO_ID]?.installation_mode, 'force_installed');
    assert.deepEqual(json.policies['3rdparty'].Extensions[UNLATCH_GECKO_ID], p.settings);
  });

  it('uses a self-hosted update URL when given', () => {
    const own = browserPolicies({ ...INPUT, updateUrl: 'https://intranet.corp.example/unlatch/updates.xml' });
    assert.match(own.chromeJson, /plnfpalenlndgdobbopehgbkomfpcmoi;https:\/\/intranet\.corp\.example\/unlatch\/updates\.xml/);
  });

  it('refuses input a browser would reject, naming the option', () => {
    assert.throws(() => browserPolicies({ ...INPUT, relayUrl: 'https://relay.corp.example' }), (e: unknown) => e instanceof PolicyInputError && /relayUrl/.test(e.message));
    assert.throws(() => browserPolicies({ ...INPUT, tenant: 'Acme' }), /tenant/);
    assert.throws(() => browserPolicies({ ...INPUT, pin: 'abc' }), /pin/);
    assert.throws(() => browserPolicies({ ...INPUT, extensionId: 'xyz' }), /extensionId/);
    assert.throws(() => browserPolicies({ ...INPUT, updateUrl: 'http://x.example/u.xml' }), /updateUrl/);
  });

  it('encodes .reg files as UTF-16LE with a byte-order mark', () => {
    const bytes = regFileBytes('Wü');
    assert.deepEqual([...bytes], [0xff, 0xfe, 0x57, 0x00, 0xfc, 0x00]);
  });
});
