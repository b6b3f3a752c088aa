/**
 * `unlatch-agent rotate-signing-key [--activate]`: rolls the signing key that browsers pin,
 * without a moment in which a browser's pin matches no key the agent signs with.
 *
 *   1. `rotate-signing-key` makes the next key and prints its pin. `unlatch-agent policy` now
 *      puts it in policy as `nextSigningKeyPin` beside the current `signingKeyPin`; deploy it.
 *   2. Once that policy has reached the browsers, `rotate-signing-key --activate` makes the next
 *      key current. A running agent signs with it within 30 s (its housekeeping reloads the key
 *      files and republishes the bundle); browsers with both pins accept it at once.
 *   3. Deploy policy again (`unlatch-agent policy`): the new pin as `signingKeyPin`, no next.
 */
import type { EventLog } from './events.ts';
import type { KeyRing } from './keys.ts';

export async function rotateSigningKey(
  ring: KeyRing,
  o: { activate: boolean; configPath: string },
  events: EventLog,
  out: (s: string) => void,
): Promise<number> {
  const policy = `unlatch-agent policy --config ${o.configPath} --relay-url <public wss:// URL of the relay>`;
  if (!o.activate) {
    const already = await ring.nextPin();
    const next = await ring.prepareSigningKey();
    if (!already) events.emit('SigningKeyPrepared', { pin: next });
    out(
      `${already ? 'A next signing key was already prepared' : 'Prepared the next signing key'}; the agent still signs with the current one.\n\n` +
        `  signingKeyPin:     ${await ring.pin()}  (current)\n` +
        `  nextSigningKeyPin: ${next}  (next)\n\n` +
        `1. Deploy policy with both pins (it now includes nextSigningKeyPin):\n     ${policy}\n` +
        `2. When that policy has reached every browser, switch: unlatch-agent rotate-signing-key --config ${o.configPath} --activate\n`,
    );
    return 0;
  }
  const previous = await ring.pin();
  const { pin, retiredFile } = await ring.activateSigningKey();
  events.emit('SigningKeyActivated', { pin, previous });
  out(
    `The agent signs with the new key now (a running agent within 30 s).\n\n` +
      `  signingKeyPin: ${pin}\n\n` +
      `3. Deploy policy again, with this pin only:\n     ${policy}\n` +
      `The old key is kept as ${retiredFile}; to roll back, move it back to signing.json in the same folder.\n`,
  );
  return 0;
}
