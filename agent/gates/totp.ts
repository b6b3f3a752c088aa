/**
 * Authenticator apps: TOTP (RFC 6238) with HMAC-SHA-1, 6 digits and 30-second steps — what every
 * authenticator app supports — accepting the step before and after the current one (clock skew).
 * A code is accepted once: the store remembers the last step used per registration and only
 * accepts a newer one, atomically (see AgentStore.advanceTotpStep).
 */
import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

export interface TotpSettings {
  issuer: string;
  digits: number;
  periodSeconds: number;
  /** Steps accepted either side of now (1 = ±30 s). */
  window: number;
}

/** 160 random bits, the RFC 4226 recommendation. */
export function newTotpSecret(): Buffer {
  return randomBytes(20);
}

function totp(secret: Buffer, s: TotpSettings, label = 'user'): TOTP {
  return new TOTP({
    issuer: s.issuer,
    label,
    algorithm: 'SHA1',
    digits: s.digits,
    period: s.periodSeconds,
    secret: new Secret({ buffer: new Uint8Array(secret).buffer }),
  });
}

/** otpauth://totp/… for the QR code the person scans. */
export function totpUri(secret: Buffer, s: TotpSettings, label: string): string {
  return totp(secret, s, label).toString();
}

/** The time step the code belongs to, or null when it matches no step in the window. */
export function totpStep(secret: Buffer, code: string, now: number, s: TotpSettings): number | null {
  const token = code.replace(/\s/g, '');
  if (!/^\d+$/.test(token) || token.length !== s.digits) return null;
  const delta = totp(secret, s).validate({ token, timestamp: now, window: s.window });
  return delta === null ? null : Math.floor(now / 1000 / s.periodSeconds) + delta;
}

/** The current code (tests, and `unlatch-agent doctor`-style checks). */
export function totpNow(secret: Buffer, now: number, s: TotpSettings): string {
  return totp(secret, s).generate({ timestamp: now });
}
