/**
 * The key that protects the store at rest, kept apart from it (by default in the agent's keys
 * folder, 0600): a copy of the database alone reveals no TOTP secret and no contact data, and
 * its code digests and answer hashes cannot be attacked offline without this key too.
 *
 * One 32-byte master key in a file; purpose keys are derived from it with HKDF-SHA-256, so the
 * same file serves every agent of a tenant that shares a database (copy it to each).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export type KeyPurpose = 'codes' | 'decoy' | 'answers' | 'seal';

export class StoreKeys {
  private readonly derived = new Map<KeyPurpose, Buffer>();

  constructor(private readonly master: Buffer) {
    if (master.length < 32) throw new Error('store key: at least 32 bytes are needed');
  }

  /** Reads the key file, creating it (32 random bytes, 0600) when it does not exist. */
  static loadOrCreate(file: string): StoreKeys {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, randomBytes(32).toString('base64url'));
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) chmodSync(file, 0o600);
    return StoreKeys.load(file);
  }

  /** Reads an existing key file (for reading the store beside a running agent; creates nothing). */
  static load(file: string): StoreKeys {
    return new StoreKeys(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url'));
  }

  /** A 32-byte key for one purpose. */
  key(purpose: KeyPurpose): Buffer {
    let k = this.derived.get(purpose);
    if (!k) {
      k = Buffer.from(hkdfSync('sha256', this.master, Buffer.alloc(0), `unlatch/v1|store|${purpose}`, 32));
      this.derived.set(purpose, k);
    }
    return k;
  }

  /** AES-256-GCM, bound to `context` (who and what it belongs to), so blobs can't be swapped between rows. */
  seal(plain: Buffer | string, context: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key('seal'), iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(typeof plain === 'string' ? Buffer.from(plain, 'utf8') : plain), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, body, cipher.getAuthTag()]);
  }

  open(sealed: Buffer, context: string): Buffer {
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) throw new Error('store: sealed value is malformed');
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(sealed.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key('seal'), iv);
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  }
}
