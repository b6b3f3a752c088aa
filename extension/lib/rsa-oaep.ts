/**
 * RSA-OAEP encryption (RFC 8017 §7.1.1, SHA-256 and MGF1-SHA-256) on JavaScript BigInt, for the
 * WebCrypto fallback only. webcrypto-liner's RSA (asmcrypto.js 2.3.2) computes wrong results
 * for 3072-bit moduli — exactly our key size — while 2048 and 4096 work; the fallback therefore
 * keeps liner for everything else and does the one public-key operation we need here.
 * The extension only ever encrypts to the agent, so there is no private-key code at all.
 */

type Digest = (data: Uint8Array<ArrayBuffer>) => Promise<Uint8Array<ArrayBuffer>>;

const H_LEN = 32;

function toBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function toBytes(n: bigint, length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  base %= mod;
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % mod;
    base = (base * base) % mod;
    exp >>= 1n;
  }
  return result;
}

async function mgf1(digest: Digest, seed: Uint8Array, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(Math.ceil(length / H_LEN) * H_LEN);
  for (let i = 0; i * H_LEN < length; i++) {
    const input = new Uint8Array(seed.length + 4);
    input.set(seed);
    new DataView(input.buffer).setUint32(seed.length, i);
    out.set(await digest(input), i * H_LEN);
  }
  return out.subarray(0, length);
}

/** Encrypts `message` to the public key (n, e), both big-endian bytes. */
export async function rsaOaepSha256Encrypt(
  digest: Digest,
  modulus: Uint8Array,
  exponent: Uint8Array,
  message: Uint8Array,
  label: Uint8Array<ArrayBuffer> = new Uint8Array(0),
  seed: Uint8Array = globalThis.crypto.getRandomValues(new Uint8Array(H_LEN)),
): Promise<Uint8Array<ArrayBuffer>> {
  const n = toBigInt(modulus);
  const k = Math.ceil(n.toString(16).length / 2);
  if (message.length > k - 2 * H_LEN - 2) throw new RangeError('message too long for RSA-OAEP');
  const db = new Uint8Array(k - H_LEN - 1);
  db.set(await digest(label), 0);
  db[db.length - message.length - 1] = 0x01;
  db.set(message, db.length - message.length);
  const dbMask = await mgf1(digest, seed, db.length);
  for (let i = 0; i < db.length; i++) db[i] = (db[i] as number) ^ (dbMask[i] as number);
  const seedMask = await mgf1(digest, db, H_LEN);
  const em = new Uint8Array(k);
  for (let i = 0; i < H_LEN; i++) em[1 + i] = (seed[i] as number) ^ (seedMask[i] as number);
  em.set(db, 1 + H_LEN);
  return toBytes(modPow(toBigInt(em), toBigInt(exponent), n), k);
}

function fromB64u(text: string): Uint8Array {
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/**
 * A SubtleCrypto whose RSA-OAEP encryption is ours and everything else is `subtle`'s. The key
 * must be extractable (protocol/crypto.ts imports agent keys so) to read n and e as a JWK.
 */
export function withBigIntRsaOaep(subtle: SubtleCrypto): SubtleCrypto {
  const digest: Digest = async (data) => new Uint8Array(await subtle.digest('SHA-256', data));
  return new Proxy(subtle, {
    get(target, prop) {
      if (prop === 'encrypt') {
        return async (algorithm: RsaOaepParams | AlgorithmIdentifier, key: CryptoKey, data: BufferSource) => {
          const name = typeof algorithm === 'string' ? algorithm : algorithm.name;
          if (name.toUpperCase() !== 'RSA-OAEP') return target.encrypt(algorithm, key, data);
          if ((key.algorithm as RsaHashedKeyAlgorithm).hash?.name !== 'SHA-256') throw new DOMException('Only RSA-OAEP with SHA-256', 'NotSupportedError');
          const jwk = await target.exportKey('jwk', key);
          if (!jwk.n || !jwk.e) throw new DOMException('Not an RSA public key', 'InvalidAccessError');
          const label = typeof algorithm === 'object' && 'label' in algorithm && algorithm.label ? bytes(algorithm.label) : new Uint8Array(0);
          const sealed = await rsaOaepSha256Encrypt(digest, fromB64u(jwk.n), fromB64u(jwk.e), bytes(data), label);
          return sealed.buffer;
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function bytes(source: BufferSource): Uint8Array<ArrayBuffer> {
  if (source instanceof ArrayBuffer) return new Uint8Array(source.slice(0));
  return new Uint8Array(source.buffer.slice(source.byteOffset, source.byteOffset + source.byteLength) as ArrayBuffer);
}
