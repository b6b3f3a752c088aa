/**
 * The agent's key ring: the long-lived signing key (pinned by admins) and the rolling
 * RSA-OAEP encryption keys. Stored as JSON files readable only by the agent's user (0600 in a
 * 0700 folder), written atomically so a crash never leaves half a key file.
 *
 * The signing key rolls in two steps, so that no browser is ever without a pin that matches:
 * prepareSigningKey() makes the next key (signing.next.json) while the current one keeps
 * signing, and its pin goes out in policy as `nextSigningKeyPin`; once policy has reached the
 * browsers, activateSigningKey() makes it current (the old one is kept, retired, for rollback).
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBase64Url, toBase64Url } from '../protocol/bytes.ts';
import { signBundle, signingKeyPin, type BundlePayload } from '../protocol/bundle.ts';
import {
  CryptoError,
  exportPkcs8,
  exportSpki,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  importEncryptionPrivateKey,
  importSigningPrivateKey,
} from '../protocol/crypto.ts';
import type { SignedBundle } from '../protocol/envelope.ts';

const DAY_MS = 86_400_000;
const SIGNING = 'signing.json';
const NEXT_SIGNING = 'signing.next.json';

interface StoredSigningKey {
  created: number;
  pkcs8: string;
  spki: string;
}

interface StoredEncryptionKey {
  kid: string;
  created: number;
  /** Clients stop using the key after this; the agent refuses it after this. */
  notAfter: number;
  pkcs8: string;
  spki: string;
}

export interface KeyRingOptions {
  dir: string;
  tenant: string;
  rotateDays: number;
  graceDays: number;
  now?: () => number;
}

export class KeyRing {
  private signing!: { key: CryptoKey; spki: Uint8Array<ArrayBuffer> };
  private encryption: Array<StoredEncryptionKey & { key: CryptoKey }> = [];
  private readonly now: () => number;
  private loadedVersion = '';

  private constructor(private readonly options: KeyRingOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Creates the folder and the keys that don't exist yet; returns the ring. */
  static async init(options: KeyRingOptions): Promise<KeyRing> {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    chmodSync(options.dir, 0o700);
    const now = (options.now ?? Date.now)();
    if (!existsSync(join(options.dir, SIGNING))) writePrivate(join(options.dir, SIGNING), await newSigningKey(now));
    if (!existsSync(join(options.dir, 'encryption.json'))) {
      writePrivate(join(options.dir, 'encryption.json'), { keys: [await newEncryptionKey(now, options)] });
    }
    return KeyRing.load(options);
  }

  static async load(options: KeyRingOptions): Promise<KeyRing> {
    const ring = new KeyRing(options);
    await ring.reload();
    return ring;
  }

  async reload(): Promise<void> {
    const dir = this.options.dir;
    for (const name of [SIGNING, 'encryption.json']) assertPrivate(join(dir, name));
    this.loadedVersion = this.filesVersion();
    const signing = JSON.parse(readFileSync(join(dir, SIGNING), 'utf8')) as StoredSigningKey;
    const spki = fromBase64Url(signing.spki);
    this.signing = { key: await importSigningPrivateKey(fromBase64Url(signing.pkcs8)), spki };
    const stored = JSON.parse(readFileSync(join(dir, 'encryption.json'), 'utf8')) as { keys: StoredEncryptionKey[] };
    this.encryption = await Promise.all(
      stored.keys.map(async (k) => ({ ...k, key: await importEncryptionPrivateKey(fromBase64Url(k.pkcs8)) })),
    );
  }

  /** Reloads when `rotate-keys` or `rotate-signing-key` changed the files under a running agent; true if it did. */
  async reloadIfChanged(): Promise<boolean> {
    if (this.filesVersion() === this.loadedVersion) return false;
    await this.reload();
    return true;
  }

  /**
   * Changes when either key file is replaced. Both are replaced by rename, which keeps the
   * moved file's mtime (an activated next key may be older than encryption.json), so the inode
   * counts too.
   */
  private filesVersion(): string {
    return [SIGNING, 'encryption.json']
      .map((name) => {
        const st = statSync(join(this.options.dir, name));
        return `${st.ino}:${st.mtimeMs}`;
      })
      .join('|');
  }

  /** base64url SHA-256 of the signing key's SPKI: what admins pin in browser policy. */
  pin(): Promise<string> {
    return signingKeyPin(this.signing.spki);
  }

  /** The pin of the prepared next signing key, when one is waiting to be activated. */
  async nextPin(): Promise<string | undefined> {
    const path = join(this.options.dir, NEXT_SIGNING);
    if (!existsSync(path)) return undefined;
    assertPrivate(path);
    return signingKeyPin(fromBase64Url((JSON.parse(readFileSync(path, 'utf8')) as StoredSigningKey).spki));
  }

  /** Step 1 of a signing-key rollover: makes the next key (once; again it answers the same) and returns its pin. */
  async prepareSigningKey(): Promise<string> {
    const path = join(this.options.dir, NEXT_SIGNING);
    if (!existsSync(path)) writePrivate(path, await newSigningKey(this.now()));
    return (await this.nextPin()) as string;
  }

  /**
   * Step 2: the prepared key signs from now on. The old key is kept as
   * signing.retired-<time>.json, so that an admin can roll back by renaming it.
   */
  async activateSigningKey(): Promise<{ pin: string; retiredFile: string }> {
    const dir = this.options.dir;
    const next = join(dir, NEXT_SIGNING);
    if (!existsSync(next)) throw new Error('no next signing key: run `unlatch-agent rotate-signing-key` first, and deploy its pin in policy');
    assertPrivate(next);
    const retiredFile = join(dir, `signing.retired-${new Date(this.now()).toISOString().replace(/[:.]/g, '-')}.json`);
    renameSync(join(dir, SIGNING), retiredFile);
    renameSync(next, join(dir, SIGNING));
    await this.reload();
    return { pin: await this.pin(), retiredFile };
  }

  /** The newest key (the last one added) that is still valid. */
  current(): StoredEncryptionKey {
    const now = this.now();
    // rotate() appends, so the last valid key is the newest, whatever the clock said then.
    const current = this.encryption.filter((k) => k.notAfter > now).at(-1);
    if (!current) throw new Error('no valid encryption key; run `unlatch-agent rotate-keys`');
    return current;
  }

  /** True when the current key is older than the rotation period. */
  rotationDue(): boolean {
    return this.now() - this.current().created >= this.options.rotateDays * DAY_MS;
  }

  /**
   * Adds a new current key. The previous keys stay accepted until the grace period ends, so
   * sessions in flight (and clients holding the old bundle) keep working.
   */
  async rotate(): Promise<string> {
    const now = this.now();
    const graceEnd = now + this.options.graceDays * DAY_MS;
    const kept = this.encryption
      .filter((k) => k.notAfter > now)
      .map(({ key: _key, ...k }) => ({ ...k, notAfter: Math.min(k.notAfter, graceEnd) }));
    const fresh = await newEncryptionKey(now, this.options);
    writePrivate(join(this.options.dir, 'encryption.json'), { keys: [...kept, fresh] });
    await this.reload();
    return fresh.kid;
  }

  /** The private key for `kid`, or the generic CryptoError when it is unknown or expired. */
  privateKey(kid: string): CryptoKey {
    const k = this.encryption.find((e) => e.kid === kid);
    if (!k || k.notAfter <= this.now()) throw new CryptoError();
    return k.key;
  }

  async bundle(): Promise<SignedBundle> {
    const now = this.now();
    const current = this.current();
    const others = this.encryption.filter((k) => k.notAfter > now && k.kid !== current.kid);
    const payload: BundlePayload = {
      v: 1,
      tenant: this.options.tenant,
      issued: now,
      keys: [current, ...others].map((k) => ({ kid: k.kid, spki: k.spki, notAfter: k.notAfter })),
    };
    return signBundle(payload, this.signing.key, this.signing.spki);
  }
}

async function newSigningKey(now: number): Promise<StoredSigningKey> {
  const pair = await generateSigningKeyPair();
  return { created: now, pkcs8: toBase64Url(await exportPkcs8(pair.privateKey)), spki: toBase64Url(await exportSpki(pair.publicKey)) };
}

async function newEncryptionKey(now: number, options: KeyRingOptions): Promise<StoredEncryptionKey> {
  const pair = await generateEncryptionKeyPair();
  return {
    kid: randomUUID(),
    created: now,
    notAfter: now + (options.rotateDays + options.graceDays) * DAY_MS,
    pkcs8: toBase64Url(await exportPkcs8(pair.privateKey)),
    spki: toBase64Url(await exportSpki(pair.publicKey)),
  };
}

/** Writes a file only the owner can read, atomically (temp file + rename). */
export function writePrivate(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** Refuses to use a secret file others can read: a leak the admin must fix, not ignore. */
export function assertPrivate(path: string): void {
  if (process.platform === 'win32') return;
  const mode = statSync(path).mode & 0o077;
  if (mode !== 0) throw new Error(`${path} is readable by other users (mode ${(statSync(path).mode & 0o777).toString(8)}); run: chmod 600 ${path}`);
}
