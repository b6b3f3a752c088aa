/**
 * Project Wycheproof ECDSA P-256 / SHA-256 vectors, signatures in IEEE P1363 form (r ‖ s), through
 * protocol/crypto.ts: importSigningPublicKey (from the vector's SPKI) and verifyP1363, the pair
 * that checks every key bundle against the admin's pinned signing key.
 */
import assert from 'node:assert/strict';
import { fromHex } from '../../protocol/bytes.ts';
import { importSigningPublicKey, verifyP1363 } from '../../protocol/crypto.ts';
import { CaseTally, caseCount, checkGroup, describeVectors, type EcdsaP1363Group, loadEcdsaP1363, type SignatureCase } from '../support/wycheproof.ts';

const FILE = 'ecdsa_secp256r1_sha256_p1363_test.json';

function flipLastBit(bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  if (bytes.length === 0) return new Uint8Array([0]);
  const out = bytes.slice();
  out[out.length - 1] = (out[out.length - 1] as number) ^ 1;
  return out;
}

async function checkCase(key: CryptoKey, t: SignatureCase): Promise<string | undefined> {
  const msg = fromHex(t.msg);
  const sig = fromHex(t.sig);
  // verifyP1363 must answer true/false and never throw, whatever the signature bytes.
  const ok = await verifyP1363(key, sig, msg);
  if (typeof ok !== 'boolean') return `verifyP1363 returned ${String(ok)}, not a boolean`;
  if (t.result === 'valid' && !ok) return 'a valid signature was rejected';
  if (t.result === 'invalid' && ok) return 'an invalid signature was accepted';
  if (ok && (await verifyP1363(key, sig, flipLastBit(msg)))) return 'the signature also verifies for a different message';
  return undefined;
}

function groupTitle(group: EcdsaP1363Group, index: number): string {
  const flags = [...new Set(group.tests.flatMap((t) => t.flags))].join(', ');
  return `group ${index + 1}, key ${group.publicKey.uncompressed.slice(2, 14)}…: ${group.tests.length} case(s) [${flags}]`;
}

describeVectors(FILE, loadEcdsaP1363, (v) => `Wycheproof ECDSA P-256 SHA-256 P1363 (${FILE}: ${v.numberOfTests} cases in ${v.testGroups.length} groups)`, (vectors) => {
  const tally = new CaseTally();

  vectors.testGroups.forEach((group, index) => {
    it(groupTitle(group, index), async function () {
      assert.equal(group.publicKey.curve, 'secp256r1');
      assert.equal(group.sha, 'SHA-256');
      let key: CryptoKey;
      try {
        key = await importSigningPublicKey(fromHex(group.publicKeyDer));
      } catch (err) {
        // A key WebCrypto will not import can only be acceptable if nothing in the group is valid.
        await checkGroup(group.tests, tally, async (t) =>
          t.result === 'valid' ? `the public key could not be imported: ${(err as Error).message}` : undefined,
        );
        return;
      }
      assert.equal((key.algorithm as EcKeyAlgorithm).namedCurve, 'P-256');
      await checkGroup(group.tests, tally, (t) => checkCase(key, t));
    });
  });

  it(`checked all ${vectors.numberOfTests} cases`, function () {
    assert.equal(caseCount(vectors), vectors.numberOfTests, 'the groups do not add up to numberOfTests');
    assert.equal(tally.count, vectors.numberOfTests, `only ${tally.count} of ${vectors.numberOfTests} cases were checked`);
    const expected = { valid: 0, invalid: 0, acceptable: 0 };
    for (const g of vectors.testGroups) for (const t of g.tests) expected[t.result]++;
    assert.deepEqual(tally.outcomes, expected);
    this.test!.title += ` (${expected.valid} valid, ${expected.invalid} invalid, ${expected.acceptable} acceptable)`;
  });
});
