/**
 * Project Wycheproof AES-GCM vectors through protocol/crypto.ts (aesGcmOpen / aesGcmSeal).
 *
 * Unlatch itself only uses 256-bit keys, 96-bit nonces and 128-bit tags. The file also holds
 * 128/192-bit keys (imported with subtle().importKey because importAesKey takes 32 bytes only)
 * and other IV sizes: WebCrypto implementations may refuse unusual IV sizes (Node accepts 12 to
 * 128 bytes), so for those a valid case must either decrypt to exactly `msg` or be refused with
 * the generic CryptoError, consistently for seal and open; it must never yield other bytes.
 */
import assert from 'node:assert/strict';
import { concatBytes, fromHex, toHex } from '../../protocol/bytes.ts';
import { aesGcmOpen, aesGcmSeal, CryptoError, importAesKey, subtle } from '../../protocol/crypto.ts';
import { type AeadCase, type AeadGroup, CaseTally, caseCount, checkGroup, describeVectors, loadAead } from '../support/wycheproof.ts';

const FILE = 'aes_gcm_test.json';
const GENERIC_MESSAGE = new CryptoError().message;

async function importKey(group: AeadGroup, raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  // Our own import for the size Unlatch uses; the other sizes straight through WebCrypto.
  if (group.keySize === 256) return importAesKey(raw);
  return subtle().importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
}

type Outcome = { ok: true; bytes: Uint8Array } | { ok: false; err: unknown };

async function attempt(run: () => Promise<Uint8Array>): Promise<Outcome> {
  try {
    return { ok: true, bytes: await run() };
  } catch (err) {
    return { ok: false, err };
  }
}

function notGeneric(err: unknown): string | undefined {
  if (!(err instanceof CryptoError)) return `threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} instead of CryptoError`;
  if (err.message !== GENERIC_MESSAGE) return `CryptoError with a non-generic message: ${err.message}`;
  return undefined;
}

const refusedByIvSize = new Map<number, number>();

async function checkCase(group: AeadGroup, t: AeadCase): Promise<string | undefined> {
  const key = await importKey(group, fromHex(t.key));
  const iv = fromHex(t.iv);
  const aad = fromHex(t.aad);
  const msg = fromHex(t.msg);
  const sealed = concatBytes(fromHex(t.ct), fromHex(t.tag));
  const standard = group.ivSize === 96 && group.tagSize === 128;

  const opened = await attempt(() => aesGcmOpen(key, iv, sealed, aad));
  if (opened.ok && toHex(opened.bytes) !== t.msg) return `aesGcmOpen returned ${toHex(opened.bytes)}, expected ${t.msg || '(empty)'}`;
  if (!opened.ok) {
    const why = notGeneric(opened.err);
    if (why) return `aesGcmOpen ${why}`;
  }

  if (t.result === 'invalid') {
    if (opened.ok) return 'aesGcmOpen accepted an invalid ciphertext';
    if (group.ivSize === 0) {
      // Sealing under an empty IV leaks the GHASH key (CVE-2017-7822): it must be refused too.
      const s = await attempt(() => aesGcmSeal(key, iv, msg, aad));
      if (s.ok) return 'aesGcmSeal accepted a zero-length IV';
    }
    return undefined;
  }

  // valid or acceptable: sealing must agree with opening.
  const resealed = await attempt(() => aesGcmSeal(key, iv, msg, aad));
  if (resealed.ok && toHex(resealed.bytes) !== toHex(sealed)) return `aesGcmSeal produced ${toHex(resealed.bytes)}, expected ${toHex(sealed)}`;
  if (opened.ok !== resealed.ok) return `inconsistent: open ${opened.ok ? 'succeeded' : 'refused'} but seal ${resealed.ok ? 'succeeded' : 'refused'}`;
  if (!opened.ok) {
    if (t.result === 'valid' && standard) return 'a valid 96-bit-IV case was refused';
    refusedByIvSize.set(group.ivSize, (refusedByIvSize.get(group.ivSize) ?? 0) + 1);
  }
  return undefined;
}

describeVectors(FILE, loadAead, (v) => `Wycheproof AES-GCM (${FILE}: ${v.numberOfTests} cases in ${v.testGroups.length} groups)`, (vectors) => {
  const tally = new CaseTally();

  for (const group of vectors.testGroups) {
    const title = `${group.keySize}-bit key, ${group.ivSize}-bit IV, ${group.tagSize}-bit tag: ${group.tests.length} case(s)`;
    it(title, async function () {
      await checkGroup(group.tests, tally, (t) => checkCase(group, t));
    });
  }

  it('every 96-bit-IV, 128-bit-tag case (the parameters Unlatch uses) is supported and correct', function () {
    const standard = vectors.testGroups.filter((g) => g.ivSize === 96 && g.tagSize === 128);
    assert.deepEqual(
      standard.map((g) => g.keySize).sort(),
      [128, 192, 256],
      'the file should cover 96-bit IVs for all three key sizes',
    );
    assert.ok(standard.some((g) => g.keySize === 256 && g.tests.length >= 50), 'expected the 256-bit / 96-bit group to be substantial');
    // Refusals were only ever allowed for non-standard IV sizes (checked per case above).
    assert.equal(refusedByIvSize.get(96), undefined);
  });

  it(`checked all ${vectors.numberOfTests} cases`, function () {
    assert.equal(caseCount(vectors), vectors.numberOfTests, 'the groups do not add up to numberOfTests');
    assert.equal(tally.count, vectors.numberOfTests, `only ${tally.count} of ${vectors.numberOfTests} cases were checked`);
    const expected = { valid: 0, invalid: 0, acceptable: 0 };
    for (const g of vectors.testGroups) for (const t of g.tests) expected[t.result]++;
    assert.deepEqual(tally.outcomes, expected);
    const refused = [...refusedByIvSize].sort(([a], [b]) => a - b);
    const total = refused.reduce((n, [, c]) => n + c, 0);
    // Shown in the report: how much of the file this platform's WebCrypto actually exercises.
    this.test!.title += ` (${expected.valid} valid, ${expected.invalid} invalid, ${expected.acceptable} acceptable; ` +
      `${total} valid case(s) refused by this WebCrypto for unusual IV sizes: ${refused.map(([s]) => `${s}-bit`).join(', ') || 'none'})`;
  });
});
