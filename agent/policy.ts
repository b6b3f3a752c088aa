/**
 * `unlatch-agent policy`: the browser policy an admin deploys so that every managed browser
 * installs the Unlatch extension and knows this tenant's relay and the agent's signing-key pin.
 * Pure: it returns file contents, the CLI writes or prints them.
 *
 *   chromeJson / edgeJson   Linux: /etc/opt/chrome/policies/managed/unlatch.json,
 *                           /etc/opt/edge/policies/managed/unlatch.json (Chromium:
 *                           /etc/chromium/policies/managed/). The same JSON is what macOS
 *                           profiles carry, converted to a .mobileconfig by the MDM.
 *   chromeReg / edgeReg     Windows: import with `reg import` or Group Policy Preferences; write
 *                           them with regFileBytes() (regedit wants UTF-16LE with a BOM).
 *   firefoxPolicies         policies.json (Linux /etc/firefox/policies/, Windows and macOS
 *                           in the Firefox installation's distribution/ folder).
 *
 * Each installs the extension (Chrome/Edge: ExtensionInstallForcelist; Firefox:
 * ExtensionSettings) and configures it through the extension's managed storage ("3rdparty"),
 * with keys exactly as managed_schema.json describes them.
 */

/** The extension's id in Chromium browsers: fixed by the public `key` in manifest.json. */
export const UNLATCH_EXTENSION_ID = 'plnfpalenlndgdobbopehgbkomfpcmoi';
/** The extension's id in Firefox: browser_specific_settings.gecko.id in manifest.json. */
export const UNLATCH_GECKO_ID = 'unlatch@unlatch.invalid';
/** Chrome Web Store update service; Edge installs from it too, keeping the same id. */
export const CHROME_WEB_STORE_UPDATE_URL = 'https://clients2.google.com/service/update2/crx';
export const FIREFOX_DEFAULT_INSTALL_URL = 'https://addons.mozilla.org/firefox/downloads/latest/unlatch/latest.xpi';

export interface Branding {
  companyName?: string;
  logoUrl?: string;
  helpdeskUrl?: string;
  helpdeskText?: string;
}

export interface PolicyDetectionRule {
  urlPattern: string;
  textPattern?: string;
  selector?: string;
  outcome: 'expired' | 'must_change' | 'locked';
  userField?: string;
}

export interface BrowserPolicyInput {
  /** Chromium extension id. Default UNLATCH_EXTENSION_ID. */
  extensionId?: string;
  /** Update manifest URL for a self-hosted .crx. Default: the Chrome Web Store's. */
  updateUrl?: string;
  /** Where Firefox fetches the .xpi. Default: addons.mozilla.org's latest. */
  firefoxInstallUrl?: string;
  /** Firefox add-on id. Default UNLATCH_GECKO_ID. */
  geckoId?: string;
  relayUrl: string;
  tenant: string;
  /** The agent's signing-key pin (base64url SHA-256 of its SPKI). */
  pin: string;
  /** The next signing key's pin, while a rollover is prepared (`unlatch-agent rotate-signing-key`). */
  nextPin?: string | undefined;
  branding?: Branding;
  detectionRules?: PolicyDetectionRule[];
  /** Offer unlock without reset. Left to the extension's default (true) when undefined. */
  allowUnlock?: boolean;
}

export interface BrowserPolicies {
  chromeJson: string;
  edgeJson: string;
  chromeReg: string;
  edgeReg: string;
  firefoxPolicies: string;
  /** The managed settings themselves, as placed under each browser's "3rdparty". */
  settings: Record<string, unknown>;
}

export class PolicyInputError extends Error {
  override readonly name = 'PolicyInputError';
}

const TENANT = /^[a-z0-9][a-z0-9-]{0,62}$/;
const PIN = /^[A-Za-z0-9_-]{43}$/;
const CHROMIUM_ID = /^[a-p]{32}$/;

function check(ok: boolean, message: string): void {
  if (!ok) throw new PolicyInputError(message);
}

function httpsUrl(value: string, option: string): void {
  let u: URL | undefined;
  try {
    u = new URL(value);
  } catch {
    u = undefined;
  }
  check(u?.protocol === 'https:', `${option} must be an https:// URL (got "${value}")`);
}

export function browserPolicies(input: BrowserPolicyInput): BrowserPolicies {
  const extensionId = input.extensionId ?? UNLATCH_EXTENSION_ID;
  const geckoId = input.geckoId ?? UNLATCH_GECKO_ID;
  const updateUrl = input.updateUrl ?? CHROME_WEB_STORE_UPDATE_URL;
  const firefoxInstallUrl = input.firefoxInstallUrl ?? FIREFOX_DEFAULT_INSTALL_URL;
  check(CHROMIUM_ID.test(extensionId), `extensionId must be 32 letters a–p (got "${extensionId}")`);
  check(/^[^\s"\\]{1,80}$/.test(geckoId), `geckoId is not a valid Firefox add-on id (got "${geckoId}")`);
  httpsUrl(updateUrl, 'updateUrl');
  httpsUrl(firefoxInstallUrl, 'firefoxInstallUrl');
  let relay: URL | undefined;
  try {
    relay = new URL(input.relayUrl);
  } catch {
    relay = undefined;
  }
  check(
    relay?.protocol === 'wss:' || (relay?.protocol === 'ws:' && ['localhost', '127.0.0.1', '[::1]'].includes(relay.hostname)),
    `relayUrl must be a wss:// URL (got "${input.relayUrl}")`,
  );
  check(TENANT.test(input.tenant), `tenant must be lower-case letters, digits and hyphens (got "${input.tenant}")`);
  check(PIN.test(input.pin), 'pin must be the 43-character base64url signing-key pin from `unlatch-agent init`');
  check(input.nextPin === undefined || PIN.test(input.nextPin), 'nextPin must be the 43-character pin from `unlatch-agent rotate-signing-key`');

  const settings: Record<string, unknown> = { relayUrl: input.relayUrl, tenant: input.tenant, signingKeyPin: input.pin };
  if (input.nextPin) settings['nextSigningKeyPin'] = input.nextPin;
  if (input.detectionRules?.length) settings['detectionRules'] = input.detectionRules;
  if (input.allowUnlock !== undefined) settings['allowUnlock'] = input.allowUnlock;
  const b = input.branding ?? {};
  for (const key of ['companyName', 'logoUrl', 'helpdeskUrl', 'helpdeskText'] as const) {
    const v = b[key]?.trim();
    if (v) settings[key] = v;
  }

  const chromium = (url: string) =>
    json({ ExtensionInstallForcelist: [`${extensionId};${url}`], '3rdparty': { extensions: { [extensionId]: settings } } });
  const reg = (vendorKey: string, browser: string) =>
    registryFile(`HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\${vendorKey}`, browser, extensionId, updateUrl, settings, input.tenant);

  return {
    chromeJson: chromium(updateUrl),
    edgeJson: chromium(updateUrl),
    chromeReg: reg('Google\\Chrome', 'Google Chrome'),
    edgeReg: reg('Microsoft\\Edge', 'Microsoft Edge'),
    firefoxPolicies: json({
      policies: {
        ExtensionSettings: { [geckoId]: { installation_mode: 'force_installed', install_url: firefoxInstallUrl } },
        '3rdparty': { Extensions: { [geckoId]: settings } },
      },
    }),
    settings,
  };
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** A .reg string value: backslashes and quotes escaped, nothing else. */
function regString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Chrome and Edge read an extension's policy from …\3rdparty\extensions\<id>\policy, typed by
 * the extension's schema: strings as REG_SZ, booleans as REG_DWORD, and lists or objects as a
 * JSON string (which Chromium parses against the schema).
 */
function registryFile(
  root: string,
  browser: string,
  extensionId: string,
  updateUrl: string,
  settings: Record<string, unknown>,
  tenant: string,
): string {
  const lines = [
    'Windows Registry Editor Version 5.00',
    '',
    `; Unlatch for ${browser}, tenant ${tenant}: install the extension and configure it.`,
    '; ExtensionInstallForcelist entries are numbered; if you already force-install other',
    '; extensions, renumber "1" to the next free number before importing.',
    `[${root}\\ExtensionInstallForcelist]`,
    `"1"=${regString(`${extensionId};${updateUrl}`)}`,
    '',
    `[${root}\\3rdparty\\extensions\\${extensionId}\\policy]`,
  ];
  for (const [key, value] of Object.entries(settings)) {
    if (typeof value === 'boolean') lines.push(`"${key}"=dword:${value ? '00000001' : '00000000'}`);
    else if (typeof value === 'string') lines.push(`"${key}"=${regString(value)}`);
    else lines.push(`"${key}"=${regString(JSON.stringify(value))}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** A .reg file's bytes as regedit expects them: UTF-16LE with a byte-order mark. */
export function regFileBytes(reg: string): Uint8Array {
  const out = new Uint8Array(2 + reg.length * 2);
  out[0] = 0xff;
  out[1] = 0xfe;
  for (let i = 0; i < reg.length; i++) {
    const c = reg.charCodeAt(i);
    out[2 + i * 2] = c & 0xff;
    out[3 + i * 2] = c >> 8;
  }
  return out;
}
