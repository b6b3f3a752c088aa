/**
 * The password layer: inside the sealed channel, each password is RSA-OAEP encrypted once more
 * to the agent's key, bound by label to its session and field (as in the writeback model:
 * password layer + package layer + TLS).
 */
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from './bytes.ts';
import { CryptoError, label, rsaOaepDecrypt, rsaOaepEncrypt } from './crypto.ts';

/** RSA-OAEP-3072 with SHA-256 carries at most 384 − 2·32 − 2 bytes. */
export const MAX_PASSWORD_BYTES = 318;

export type PasswordField = 'newPassword' | 'oldPassword' | 'currentPassword';

export class PasswordTooLongError extends Error {
  override readonly name = 'PasswordTooLongError';
  readonly code = 'PASSWORD_TOO_LONG';
  constructor() {
    super(`A password can be at most ${MAX_PASSWORD_BYTES} bytes long.`);
  }
}

export async function encryptPassword(agentKey: CryptoKey, sid: string, field: PasswordField, password: string): Promise<string> {
  const bytes = utf8(password);
  if (bytes.length > MAX_PASSWORD_BYTES) throw new PasswordTooLongError();
  const sealed = await rsaOaepEncrypt(agentKey, bytes, label('password', sid, field));
  bytes.fill(0);
  return toBase64Url(sealed);
}

export async function decryptPassword(agentPrivateKey: CryptoKey, sid: string, field: PasswordField, sealed: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await rsaOaepDecrypt(agentPrivateKey, fromBase64Url(sealed), label('password', sid, field));
    return fromUtf8(bytes);
  } catch {
    throw new CryptoError();
  }
}
