/** The lazily loaded chunk: webcrypto-liner's SubtleCrypto (native where it can, JS elsewhere). */
import { Crypto } from 'webcrypto-liner';

export function linerSubtle(): SubtleCrypto {
  return new Crypto().subtle as unknown as SubtleCrypto;
}
