/**
 * The lazily loaded chunk: webcrypto-liner's SubtleCrypto (native where the browser has an
 * algorithm, JavaScript where it lacks it), with RSA-OAEP encryption done by lib/rsa-oaep.ts
 * because liner's own is wrong for 3072-bit keys.
 */
import * as liner from 'webcrypto-liner';
import { withBigIntRsaOaep } from '../lib/rsa-oaep.ts';

// The package types `Crypto` as an interface; at run time it is the class we construct.
const { Crypto } = liner as unknown as { Crypto: new () => { subtle: SubtleCrypto } };

export function linerSubtle(): SubtleCrypto {
  return withBigIntRsaOaep(new Crypto().subtle);
}
