/**
 * Reset latency against the same Samba DC: full resets through the real path (client seals the
 * password → relay → agent opens it → LDAPS modify with unlock and pwdLastSet → answer) against a
 * bare ldapts `unicodePwd` replace by the same service account. Only the final `reset` request
 * is timed: the gates before it (SMTP round trips) are not part of the write.
 */
import { Client } from 'ldapts';
import { Change, Attribute } from 'ldapts';
import type { TestDirectory } from '../test/support/directory.ts';
import { expectOp, passEmailGate } from '../test/support/flows.ts';
import { startStack } from '../test/support/stack.ts';
import { median, percentile } from './relay.ts';

function unicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

export async function benchReset(
  directory: TestDirectory,
  log: (s: string) => void,
  samples = 30,
): Promise<{ fullMedianMs: number; bareMedianMs: number; ratio: number; p99Ms: number }> {
  const users = await Promise.all(Array.from({ length: 6 }, (_, i) => directory.createUser(`bench${i}`, { state: 'normal' })));
  const stack = await startStack({ directory, agent: { gates: { maxResetsPerHour: 10_000, maxFailuresPerHour: 10_000 } as never } });
  const bare = new Client({ url: directory.ldapsUrl, tlsOptions: { ca: directory.caPem, ...(directory.tlsServername ? { servername: directory.tlsServername } : {}) }, timeout: 10_000 });
  try {
    await bare.bind(directory.service.dn, directory.service.password);
    const full: number[] = [];
    const bareTimes: number[] = [];
    let n = 0;
    const nextPassword = () => `Bench-Pass-${Date.now()}-${n++}x`;
    for (let i = 0; i < samples + 3; i++) {
      const user = users[i % users.length]!;
      // Bare: one replace of unicodePwd, bound connection already open (the agent keeps one too).
      const t0 = performance.now();
      await bare.modify(user.dn, [new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd(nextPassword())] }) })]);
      const bareMs = performance.now() - t0;
      // Full: a real session up to the new-password step, then the timed reset.
      const session = await stack.openSession();
      await passEmailGate(session, stack.mail, 'reset', user.sam, user.mail as string);
      const sealed = nextPassword();
      const t1 = performance.now();
      const answer = await session.request({ op: 'reset', newPassword: await session.sealPassword('newPassword', sealed) });
      const fullMs = performance.now() - t1;
      session.close();
      expectOp(answer, 'done');
      if (i >= 3) {
        full.push(fullMs);
        bareTimes.push(bareMs);
      }
    }
    const fullMedianMs = median(full);
    const bareMedianMs = median(bareTimes);
    log(`reset: full path median ${fullMedianMs.toFixed(1)} ms (p99 ${percentile(full, 99).toFixed(1)} ms), bare unicodePwd replace median ${bareMedianMs.toFixed(1)} ms, ${samples} samples`);
    return { fullMedianMs, bareMedianMs, ratio: fullMedianMs / bareMedianMs, p99Ms: percentile(full, 99) };
  } finally {
    await bare.unbind().catch(() => undefined);
    await stack.stop();
  }
}
