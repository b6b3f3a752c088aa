/**
 * The messages of the verification methods and the registration (docs/protocol.md): what the
 * extension sends and reads. Validators return exactly the known fields; anything else is
 * BAD_REQUEST naming the field.
 */
import assert from 'node:assert/strict';
import { UnlatchError } from '../../protocol/errors.ts';
import { parseAgentMessage, parseClientMessage } from '../../protocol/messages.ts';

const SEALED = 'A'.repeat(512);

function badRequest(field: string): (err: unknown) => true {
  return (err) => {
    assert.ok(err instanceof UnlatchError, String(err));
    assert.equal(err.code, 'BAD_REQUEST');
    assert.ok(err.message.includes(`"${field}`), `should name "${field}": ${err.message}`);
    return true;
  };
}

const view = {
  op: 'registration',
  methods: [
    { id: 'd1', method: 'email', hint: 'a•••@corp.example', source: 'directory' },
    { id: 'rAbC', method: 'totp', hint: 'authenticator app', source: 'registered' },
  ],
  enabled: ['email', 'sms', 'totp', 'questions'],
  required: 1,
  complete: true,
  reconfirmDue: false,
  questionsRegistered: 3,
  questionsToRegister: 3,
  questionsToAnswer: 2,
  questions: [{ id: 'first-pet', text: 'What was the name of your first pet?' }],
};

describe('messages: methods and registration', () => {
  describe('client → agent', () => {
    const valid: Array<[string, unknown]> = [
      ['start with a locale', { op: 'start', action: 'reset', user: 'alice', locale: 'de-CH' }],
      ['gate.answer', { op: 'gate.answer', gate: 'q1', answers: ['Rex the dog', 'Elm Street'] }],
      ['register.status', { op: 'register.status', user: 'alice' }],
      ['register.start', { op: 'register.start', user: 'alice', currentPassword: SEALED }],
      ['register.start with a locale', { op: 'register.start', user: 'alice', currentPassword: SEALED, locale: 'fr' }],
      ['register.add sms', { op: 'register.add', method: 'sms', phone: '+49 (151) 234-5678' }],
      ['register.add voice', { op: 'register.add', method: 'voice', phone: '+12025550123' }],
      ['register.add email', { op: 'register.add', method: 'email', address: 'me@example.net' }],
      ['register.add totp', { op: 'register.add', method: 'totp' }],
      ['register.add questions', { op: 'register.add', method: 'questions', answers: [{ question: 'first-pet', answer: 'Rex' }] }],
      ['register.verify', { op: 'register.verify', id: 'rAbC', code: '123456' }],
      ['register.resend', { op: 'register.resend', id: 'rAbC' }],
      ['register.remove', { op: 'register.remove', id: 'questions' }],
      ['register.confirm', { op: 'register.confirm' }],
    ];
    for (const [name, value] of valid) {
      it(`accepts ${name}`, () => assert.deepEqual(parseClientMessage(structuredClone(value)), value));
    }
    const invalid: Array<[string, unknown, string]> = [
      ['a bad locale', { op: 'start', action: 'reset', user: 'a', locale: 'de_CH!' }, 'locale'],
      ['no answers', { op: 'gate.answer', gate: 'q', answers: [] }, 'answers'],
      ['nine answers', { op: 'gate.answer', gate: 'q', answers: Array(9).fill('x') }, 'answers'],
      ['an answer with a control character', { op: 'gate.answer', gate: 'q', answers: ['a\u0000b'] }, 'answers'],
      ['a number as an answer', { op: 'gate.answer', gate: 'q', answers: [7] }, 'answers'],
      ['register.start without a password', { op: 'register.start', user: 'a' }, 'currentPassword'],
      ['a plain-text password field too long', { op: 'register.start', user: 'a', currentPassword: 'A'.repeat(1025) }, 'currentPassword'],
      ['an unknown method', { op: 'register.add', method: 'pigeon' }, 'method'],
      ['a phone with letters', { op: 'register.add', method: 'sms', phone: '+49 CALL ME' }, 'phone'],
      ['an address for sms', { op: 'register.add', method: 'sms', address: 'a@b.c' }, 'address'],
      ['a phone for e-mail', { op: 'register.add', method: 'email', address: 'a@b.c', phone: '+1' }, 'phone'],
      ['not an address', { op: 'register.add', method: 'email', address: 'nobody' }, 'address'],
      ['a totp with a secret', { op: 'register.add', method: 'totp', secret: 'JBSWY3DP' }, 'secret'],
      ['an answer without its question', { op: 'register.add', method: 'questions', answers: [{ answer: 'x' }] }, 'question'],
      ['an extra key in an answer', { op: 'register.add', method: 'questions', answers: [{ question: 'q', answer: 'x', hint: 'y' }] }, 'hint'],
      ['register.confirm with a user', { op: 'register.confirm', user: 'bob' }, 'user'],
      ['register.verify with a bad id', { op: 'register.verify', id: '../x', code: '1' }, 'id'],
    ];
    for (const [name, value, field] of invalid) {
      it(`rejects ${name}`, () => assert.throws(() => parseClientMessage(value), badRequest(field)));
    }
  });

  describe('agent → client', () => {
    const valid: Array<[string, unknown]> = [
      ['gate.sent with questions', { op: 'gate.sent', gate: 'q', resendAfter: 0, questions: [{ id: 'first-pet', text: 'First pet?' }] }],
      ['gate.passed with the gates still offered', { op: 'gate.passed', gate: 'g1', remaining: 1, offered: ['g2', 'g3'] }],
      ['register.status without a nudge', { op: 'register.status', nudge: false }],
      ['register.status with a nudge', { op: 'register.status', nudge: true, reason: 'reconfirm' }],
      ['registration', view],
      ['register.pending', { op: 'register.pending', id: 'rAbC', method: 'sms', hint: '•••••78', resendAfter: 30 }],
      ['register.pending for an app', { op: 'register.pending', id: 'rAbC', method: 'totp', hint: 'authenticator app', resendAfter: 0, otpauthUri: 'otpauth://totp/acme:alice?secret=JBSWY3DPEHPK3PXP&issuer=acme' }],
    ];
    for (const [name, value] of valid) {
      it(`accepts ${name}`, () => assert.deepEqual(parseAgentMessage(structuredClone(value)), value));
    }
    const invalid: Array<[string, unknown, string]> = [
      ['a nudge that is not a boolean', { op: 'register.status', nudge: 'yes' }, 'nudge'],
      ['an unknown nudge reason', { op: 'register.status', nudge: true, reason: 'because' }, 'reason'],
      ['a method from nowhere', { ...view, methods: [{ ...view.methods[0], source: 'relay' }] }, 'source'],
      ['a method with its contact data', { ...view, methods: [{ ...view.methods[0], address: 'alice@corp.example' }] }, 'address'],
      ['complete as a string', { ...view, complete: 'true' }, 'complete'],
      ['an otpauth URI of another kind', { op: 'register.pending', id: 'r', method: 'totp', hint: 'x', resendAfter: 0, otpauthUri: 'https://evil.example' }, 'otpauthUri'],
      ['a pending questions registration', { op: 'register.pending', id: 'r', method: 'questions', hint: 'x', resendAfter: 0 }, 'method'],
      ['offered ids that are not ids', { op: 'gate.passed', gate: 'g1', remaining: 0, offered: ['a b'] }, 'offered'],
    ];
    for (const [name, value, field] of invalid) {
      it(`rejects ${name}`, () => assert.throws(() => parseAgentMessage(value), badRequest(field)));
    }
  });
});
