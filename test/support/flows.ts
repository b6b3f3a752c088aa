/**
 * The steps a person takes, driven through the real client protocol: used by the end-to-end
 * tests and the benchmarks so every path goes client → relay → agent → directory.
 */
import type { ClientSession } from '../../protocol/client.ts';
import type { Action, AgentMessage } from '../../protocol/messages.ts';
import type { MailCatcher } from './mail.ts';

/** Throws when the agent answered with an error, naming its code; returns the typed answer. */
export function expectOp<K extends AgentMessage['op']>(answer: AgentMessage, op: K): Extract<AgentMessage, { op: K }> {
  if (answer.op !== op) throw new Error(`expected ${op}, got ${JSON.stringify(answer)}`);
  return answer as Extract<AgentMessage, { op: K }>;
}

/** start → send the email code → read it from the SMTP server → verify. */
export async function passEmailGate(session: ClientSession, mail: MailCatcher, action: Action, user: string, address: string): Promise<void> {
  const challenge = expectOp(await session.request({ op: 'start', action, user }), 'challenge');
  const gate = challenge.gates[0];
  if (!gate) throw new Error('no gate offered');
  const since = mail.messages.length;
  expectOp(await session.request({ op: 'gate.send', gate: gate.id }), 'gate.sent');
  const code = await mail.codeFor(address, { since });
  expectOp(await session.request({ op: 'gate.verify', gate: gate.id, code }), 'gate.passed');
}

export async function resetPassword(session: ClientSession, mail: MailCatcher, user: string, address: string, newPassword: string): Promise<AgentMessage> {
  await passEmailGate(session, mail, 'reset', user, address);
  return session.request({ op: 'reset', newPassword: await session.sealPassword('newPassword', newPassword) });
}

export async function changePassword(session: ClientSession, user: string, oldPassword: string, newPassword: string): Promise<AgentMessage> {
  expectOp(await session.request({ op: 'start', action: 'change', user }), 'challenge');
  return session.request({
    op: 'change',
    oldPassword: await session.sealPassword('oldPassword', oldPassword),
    newPassword: await session.sealPassword('newPassword', newPassword),
  });
}

/** Shape of a value with the variable parts (ids, hints) blanked: equal shapes look alike. */
export function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shapeOf);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, shapeOf(v)]));
  }
  return typeof value;
}
