/**
 * WebCrypto fallback. At start the reset and options pages check that the browser's own
 * WebCrypto does everything the protocol needs; only when something is missing is
 * webcrypto-liner loaded (a chunk of its own, never part of the default path) and installed
 * as the protocol's SubtleCrypto through protocol/crypto.ts's useSubtle().
 */
import { useSubtle } from '../../protocol/crypto.ts';
import { missingAlgorithms } from '../lib/webcrypto-support.ts';

let ready: Promise<'native' | 'fallback'> | undefined;

export function ensureWebCrypto(): Promise<'native' | 'fallback'> {
  ready ??= (async () => {
    const missing = await missingAlgorithms(globalThis.crypto?.subtle);
    if (missing.length === 0) return 'native';
    const liner = await import('./webcrypto-liner.ts');
    useSubtle(liner.linerSubtle());
    return 'fallback';
  })();
  return ready;
}
