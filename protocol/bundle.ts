/**
 * The agent's signed key bundle: the encryption keys a client may wrap session keys to, signed
 * by the agent's long-lived signing key whose fingerprint the admin pins in browser policy.
 * The relay stores and hands out bundles but cannot forge one.
 */
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from './bytes.ts';
import { CryptoError, importEncryptionPublicKey, importSigningPublicKey, sha256, signP1363, verifyP1363 } from './crypto.ts';
import type { SignedBundle } from './envelope.ts';

export interface BundleKey {
  kid: string;
  /** base64url SPKI of an RSA-OAEP-3072 public key. */
  spki: string;
  /** ms since the epoch after which clients must not use this key. */
  notAfter: number;
}

export interface BundlePayload {
  v: 1;
  tenant: string;
  issued: number;
  /** Current key first; the rest are still accepted during a rollover grace period. */
  keys: BundleKey[];
}

export interface VerifiedKey {
  kid: string;
  key: CryptoKey;
  notAfter: number;
}

/** Why a bundle was refused; shown to admins, never to the agent. */
export class BundleError extends Error {
  override readonly name = 'BundleError';
  constructor(
    readonly code: 'KEY_PIN_MISSING' | 'KEY_PIN_MISMATCH' | 'BUNDLE_INVALID',
    message: string,
  ) {
    super(message);
  }
}

/** The pin an admin deploys: base64url(SHA-256(SPKI of the signing public key)). */
export async function signingKeyPin(signingSpki: Uint8Array<ArrayBuffer>): Promise<string> {
  return toBase64Url(await sha256(signingSpki));
}

export async function signBundle(
  payload: BundlePayload,
  signingKey: CryptoKey,
  signingSpki: Uint8Array<ArrayBuffer>,
): Promise<SignedBundle> {
  const bytes = utf8(JSON.stringify(payload));
  return {
    payload: toBase64Url(bytes),
    sig: toBase64Url(await signP1363(signingKey, bytes)),
    signingKey: toBase64Url(signingSpki),
  };
}

/**
 * Checks the pin, the signature and the tenant, and returns the keys that are still valid,
 * current first. Throws BundleError with a reason an admin can act on.
 */
export async function verifyBundle(
  bundle: SignedBundle,
  expected: { pin: string | readonly (string | undefined)[] | undefined; tenant: string; now?: number },
): Promise<VerifiedKey[]> {
  // Several pins while a signing key rolls over: the current one and the next (policy's
  // nextSigningKeyPin). Pins are public fingerprints, so a plain comparison is fine.
  const pins = (Array.isArray(expected.pin) ? expected.pin : [expected.pin]).filter((p): p is string => typeof p === 'string' && p.length > 0);
  if (pins.length === 0) {
    throw new BundleError('KEY_PIN_MISSING', 'No signing-key pin is configured; the administrator must deploy the agent\'s pin in policy.');
  }
  let signingSpki: Uint8Array<ArrayBuffer>;
  let payloadBytes: Uint8Array<ArrayBuffer>;
  let sig: Uint8Array<ArrayBuffer>;
  try {
    signingSpki = fromBase64Url(bundle.signingKey);
    payloadBytes = fromBase64Url(bundle.payload);
    sig = fromBase64Url(bundle.sig);
  } catch {
    throw new BundleError('BUNDLE_INVALID', 'The agent\'s key bundle is malformed.');
  }
  if (!pins.includes(await signingKeyPin(signingSpki))) {
    throw new BundleError(
      'KEY_PIN_MISMATCH',
      'The agent\'s signing key does not match the pinned key in policy; the extension refuses to talk to it.',
    );
  }
  let verifier: CryptoKey;
  try {
    verifier = await importSigningPublicKey(signingSpki);
  } catch {
    throw new BundleError('BUNDLE_INVALID', 'The agent\'s signing key cannot be read.');
  }
  if (!(await verifyP1363(verifier, sig, payloadBytes))) {
    throw new BundleError('BUNDLE_INVALID', 'The agent\'s key bundle has an invalid signature.');
  }
  const payload = parsePayload(payloadBytes);
  if (payload.tenant !== expected.tenant) {
    throw new BundleError('BUNDLE_INVALID', `The key bundle is for tenant "${payload.tenant}", not "${expected.tenant}".`);
  }
  const now = expected.now ?? Date.now();
  const valid: VerifiedKey[] = [];
  for (const k of payload.keys) {
    if (k.notAfter <= now) continue;
    try {
      valid.push({ kid: k.kid, notAfter: k.notAfter, key: await importEncryptionPublicKey(fromBase64Url(k.spki)) });
    } catch (err) {
      if (!(err instanceof CryptoError) && !(err instanceof TypeError) && !(err instanceof DOMException)) throw err;
    }
  }
  if (valid.length === 0) throw new BundleError('BUNDLE_INVALID', 'The agent offers no valid encryption key (all expired).');
  return valid;
}

function parsePayload(bytes: Uint8Array): BundlePayload {
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(bytes));
  } catch {
    throw new BundleError('BUNDLE_INVALID', 'The agent\'s key bundle is not valid JSON.');
  }
  const p = value as Partial<BundlePayload>;
  const ok =
    p !== null &&
    typeof p === 'object' &&
    p.v === 1 &&
    typeof p.tenant === 'string' &&
    typeof p.issued === 'number' &&
    Array.isArray(p.keys) &&
    p.keys.length > 0 &&
    p.keys.length <= 8 &&
    p.keys.every(
      (k) =>
        k !== null &&
        typeof k === 'object' &&
        typeof k.kid === 'string' &&
        k.kid.length > 0 &&
        k.kid.length <= 64 &&
        typeof k.spki === 'string' &&
        typeof k.notAfter === 'number',
    );
  if (!ok) throw new BundleError('BUNDLE_INVALID', 'The agent\'s key bundle has an unexpected shape.');
  return p as BundlePayload;
}
