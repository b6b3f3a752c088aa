/**
 * Which of the algorithms Unlatch needs a browser's WebCrypto lacks. Each is tried for real
 * (a browser may list an algorithm and still refuse a key size), cheaply: an import of a fixed
 * RSA-OAEP-3072 public key and one encryption, a fresh P-256 key pair signing and verifying,
 * an AES-256-GCM round trip and a SHA-256 digest. Pure: Node tests pass their own subtle.
 */

/** An RSA-OAEP-3072 public key used only for this probe; its private key was discarded. */
const PROBE_RSA_SPKI =
  'MIIBojANBgkqhkiG9w0BAQEFAAOCAY8AMIIBigKCAYEAqiLVi8fRp2HCQkOoZbHa0W-0JRobHalt_E7XXWz7OqiPR6r0SclwYKO0QjGhMuuZBa2Rw1sKdZWgJy4SVmtLfBTHTOL_zY4ZqtwwH5F0Nze08R6UNl8qheWbiINuR9cf21_z_sJRyW7QWZ19WHvOA9HBGoJis3ivxPx_VWrUfQm7w1prW094uihNasAt7HrNSNLyhy_Wpg-GKrl4IHpfuHJHC5fOqWjiING1wpdCtFnm6P4acAbFwkjiWnvsXGzrI4cRHsRzqSP1zlWnHTPfw3Z_MbCYfOWslRoRLm0qNNB3ZopNgs6GrFspTxSBcPVGRS2hTGoNpSMml9Gygq_iyX3VIrThN5WuOrgf18RlpvayqWvvhte3jEsn5snvSwuVd5jkmXO-kdCFbdN5gGbKLQoI9qoUW2u9pdXJ3B6iqGkpsRqSsgwqBR1WPg9hPrDHHPsFgpZaRNweF1eGk4qOr0X60rzlcmJY6dzxRfjXwKDU69gBifCu1MeBADzYf4pTAgMBAAE';

export type Algorithm = 'SHA-256' | 'RSA-OAEP-3072' | 'ECDSA-P256' | 'AES-256-GCM';

async function works(test: () => Promise<unknown>): Promise<boolean> {
  try {
    await test();
    return true;
  } catch {
    return false;
  }
}

function fromB64u(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export async function missingAlgorithms(subtle: SubtleCrypto | undefined): Promise<Algorithm[]> {
  if (!subtle) return ['SHA-256', 'RSA-OAEP-3072', 'ECDSA-P256', 'AES-256-GCM'];
  const data = new Uint8Array([1, 2, 3]);
  const checks: [Algorithm, () => Promise<unknown>][] = [
    ['SHA-256', () => subtle.digest('SHA-256', data)],
    [
      'RSA-OAEP-3072',
      async () => {
        const key = await subtle.importKey('spki', fromB64u(PROBE_RSA_SPKI), { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['encrypt']);
        await subtle.encrypt({ name: 'RSA-OAEP', label: data }, key, data);
      },
    ],
    [
      'ECDSA-P256',
      async () => {
        const pair = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
        const sig = await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, data);
        if (!(await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, pair.publicKey, sig, data))) throw new Error('verify');
      },
    ],
    [
      'AES-256-GCM',
      async () => {
        const key = await subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
        const iv = new Uint8Array(12);
        const sealed = await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: data }, key, data);
        await subtle.decrypt({ name: 'AES-GCM', iv, additionalData: data }, key, sealed);
      },
    ],
  ];
  const results = await Promise.all(checks.map(async ([name, test]) => ((await works(test)) ? undefined : name)));
  return results.filter((r): r is Algorithm => r !== undefined);
}
