/**
 * Chromium derives an extension's id from its public key: the first 128 bits of SHA-256 over the
 * DER SubjectPublicKeyInfo, written in hex with the digits 0-f replaced by the letters a-p.
 * The manifest `key` fixes that key, so policy files, the relay's origin allowlist and tests can
 * all name the extension before it is installed. WebCrypto only, so Node and pages can use it.
 */

/** The id for a manifest `key` (base64 DER SPKI, as Chromium stores it). */
export async function extensionIdFromKey(manifestKey: string): Promise<string> {
  const der = Uint8Array.from(atob(manifestKey.replace(/\s+/g, '')), (c) => c.charCodeAt(0));
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', der));
  let id = '';
  for (const byte of digest.subarray(0, 16)) {
    id += String.fromCharCode(97 + (byte >> 4), 97 + (byte & 0x0f));
  }
  return id;
}

/** The origin the relay sees for this extension in Chromium browsers. */
export function chromiumOrigin(extensionId: string): string {
  return `chrome-extension://${extensionId}`;
}
