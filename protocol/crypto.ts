/**
 * The primitives Unlatch uses, on WebCrypto only (`crypto.subtle`), so the same code runs in the
 * extension, the agent, the relay's tests and the terminal client.
 *
 * - Encryption keys: RSA-OAEP 3072 with SHA-256 and MGF1-SHA-256 (128-bit security; the
 *   writeback model's 2048-bit keys give 112).
 * - Signing key: ECDSA P-256 with SHA-256, signatures in IEEE P1363 form (r ‖ s), which is what
 *   WebCrypto produces and verifies.
 * - Session key: AES-256-GCM with a 96-bit nonce and a 128-bit tag.
 *
 * Every failure to decrypt or verify becomes the same CryptoError: a caller (or an attacker
 * watching it) cannot tell a bad tag from bad padding from a wrong key.
 */
import { utf8 } from './bytes.ts';

export const RSA_MODULUS_BITS = 3072;
export const RSA_OAEP_IMPORT = { name: 'RSA-OAEP', hash: 'SHA-256' } as const;
export const ECDSA_IMPORT = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const ECDSA_SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
export const AES_KEY_BYTES = 32;
export const GCM_NONCE_BYTES = 12;
export const GCM_TAG_BYTES = 16;

let subtleOverride: SubtleCrypto | undefined;

/**
 * The SubtleCrypto in use. Only a browser that lacks one of our algorithms installs another one
 * (webcrypto-liner, see extension/ui/crypto-fallback.ts); nothing else calls this setter.
 */
export function useSubtle(subtle: SubtleCrypto | undefined): void {
  subtleOverride = subtle;
}

export function subtle(): SubtleCrypto {
  const s = subtleOverride ?? globalThis.crypto?.subtle;
  if (!s) throw new Error('WebCrypto (crypto.subtle) is not available in this context');
  return s;
}

/** The single error for every decryption or verification failure. */
export class CryptoError extends Error {
  override readonly name = 'CryptoError';
  readonly code = 'CRYPTO_FAILED';
  constructor() {
    super('The message could not be decrypted or verified.');
  }
}

export async function sha256(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await subtle().digest('SHA-256', data));
}

export async function generateEncryptionKeyPair(): Promise<CryptoKeyPair> {
  return subtle().generateKey(
    { ...RSA_OAEP_IMPORT, modulusLength: RSA_MODULUS_BITS, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'],
  );
}

export async function generateSigningKeyPair(): Promise<CryptoKeyPair> {
  return subtle().generateKey(ECDSA_IMPORT, true, ['sign', 'verify']);
}

export async function exportSpki(key: CryptoKey): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await subtle().exportKey('spki', key));
}

export async function exportPkcs8(key: CryptoKey): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await subtle().exportKey('pkcs8', key));
}

export async function importEncryptionPublicKey(spki: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const key = await subtle().importKey('spki', spki, RSA_OAEP_IMPORT, true, ['encrypt', 'wrapKey']);
  const bits = (key.algorithm as RsaHashedKeyAlgorithm).modulusLength;
  // A smaller key would silently lower the security of every session that uses it.
  if (bits < RSA_MODULUS_BITS) throw new CryptoError();
  return key;
}

export async function importEncryptionPrivateKey(pkcs8: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return subtle().importKey('pkcs8', pkcs8, RSA_OAEP_IMPORT, false, ['decrypt', 'unwrapKey']);
}

export async function importSigningPublicKey(spki: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return subtle().importKey('spki', spki, ECDSA_IMPORT, true, ['verify']);
}

export async function importSigningPrivateKey(pkcs8: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return subtle().importKey('pkcs8', pkcs8, ECDSA_IMPORT, false, ['sign']);
}

export async function rsaOaepEncrypt(
  publicKey: CryptoKey,
  plaintext: Uint8Array<ArrayBuffer>,
  label: Uint8Array<ArrayBuffer> = new Uint8Array(0),
): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await subtle().encrypt({ name: 'RSA-OAEP', label }, publicKey, plaintext));
}

export async function rsaOaepDecrypt(
  privateKey: CryptoKey,
  ciphertext: Uint8Array<ArrayBuffer>,
  label: Uint8Array<ArrayBuffer> = new Uint8Array(0),
): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return new Uint8Array(await subtle().decrypt({ name: 'RSA-OAEP', label }, privateKey, ciphertext));
  } catch {
    throw new CryptoError();
  }
}

export async function signP1363(privateKey: CryptoKey, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await subtle().sign(ECDSA_SIGN, privateKey, data));
}

/** True only for a valid signature; malformed signatures are simply invalid. */
export async function verifyP1363(
  publicKey: CryptoKey,
  signature: Uint8Array<ArrayBuffer>,
  data: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  try {
    return await subtle().verify(ECDSA_SIGN, publicKey, signature, data);
  } catch {
    return false;
  }
}

export async function importAesKey(raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  if (raw.length !== AES_KEY_BYTES) throw new CryptoError();
  return subtle().importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
}

export async function aesGcmSeal(
  key: CryptoKey,
  nonce: Uint8Array<ArrayBuffer>,
  plaintext: Uint8Array<ArrayBuffer>,
  aad: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(
    await subtle().encrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: GCM_TAG_BYTES * 8 }, key, plaintext),
  );
}

export async function aesGcmOpen(
  key: CryptoKey,
  nonce: Uint8Array<ArrayBuffer>,
  sealed: Uint8Array<ArrayBuffer>,
  aad: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return new Uint8Array(
      await subtle().decrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: GCM_TAG_BYTES * 8 }, key, sealed),
    );
  } catch {
    throw new CryptoError();
  }
}

/** Labels bind RSA-OAEP ciphertexts to their purpose, so one can't be replayed as another. */
export function label(...parts: string[]): Uint8Array<ArrayBuffer> {
  return utf8(['unlatch/v1', ...parts].join('|'));
}
