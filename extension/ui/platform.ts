/** The browser-side glue the pages share: policy, and sessions with the relay. */
import browser from 'webextension-polyfill';
import { ClientSession } from '../../protocol/client.ts';
import { UnlatchError } from '../../protocol/errors.ts';
import type { OpenSession } from '../lib/reset-flow.ts';
import { loadSettings, signingKeyPins, type LoadedSettings, type Settings, type StorageLike } from '../lib/settings.ts';
import { ensureWebCrypto } from './crypto-fallback.ts';

export function readSettings(): Promise<LoadedSettings> {
  return loadSettings(browser.storage as unknown as StorageLike, { attempts: 2, delayMs: 250 });
}

/** Opens sessions with the relay in this page (it has WebSocket and WebCrypto). */
export function sessionOpener(settings: Settings): OpenSession {
  return async (onProgress) => {
    // Without a pin there is no way to know whom we would talk to: refuse before connecting.
    if (!settings.signingKeyPin) throw new UnlatchError('KEY_PIN_MISSING');
    await ensureWebCrypto();
    return ClientSession.open({
      relayUrl: settings.relayUrl ?? '',
      tenant: settings.tenant ?? '',
      pin: signingKeyPins(settings),
      onProgress,
    });
  };
}
