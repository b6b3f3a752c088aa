/**
 * Application messages inside the sealed channel (docs/protocol.md, "Application messages"):
 * the agent validates every client message with parseClientMessage before acting on it, and the
 * client validates every answer with parseAgentMessage. A bad one is UnlatchError BAD_REQUEST
 * whose message names the field.
 */
import assert from 'node:assert/strict';
import { ERROR_CODES, UnlatchError } from '../../protocol/errors.ts';
import { MAX_CODE, MAX_USER_ID, parseAgentMessage, parseClientMessage } from '../../protocol/messages.ts';

/** Asserts BAD_REQUEST and that the message names `field` ("field" in quotes, or a prefix of it). */
function badRequest(field: string): (err: unknown) => true {
  return (err) => {
    assert.ok(err instanceof UnlatchError, `expected UnlatchError, got ${String(err)}`);
    assert.equal(err.code, 'BAD_REQUEST');
    assert.ok(err.message.includes(`"${field}`), `the message should name "${field}": ${err.message}`);
    return true;
  };
}

const SEALED = 'A'.repeat(512); // what an RSA-OAEP-3072 password ciphertext looks like

const policy = { minLength: 8, complexity: true, historyLength: 24, minAgeSeconds: 86_400, maxAgeSeconds: 3_628_800 };
const gate = { id: 'email-1', method: 'email', hint: 'a•••@corp.example' };
const challenge = { op: 'challenge', action: 'reset', gates: [gate], required: 1, passed: [], policy };

type Case = [name: string, value: unknown, field: string];

/** JSON.parse, as the agent sees it: own `__proto__` keys and all. */
const json = (text: string): unknown => JSON.parse(text);

describe('messages', function () {
  describe('parseClientMessage', function () {
    const valid: Array<[string, unknown]> = [
      ['start reset', { op: 'start', action: 'reset', user: 'alice' }],
      ['start unlock', { op: 'start', action: 'unlock', user: 'alice@corp.example' }],
      ['start change', { op: 'start', action: 'change', user: 'CORP\\alice' }],
      ['start with a non-ASCII user', { op: 'start', action: 'reset', user: 'jürgen.müller 日本' }],
      [`start with a ${MAX_USER_ID}-character user`, { op: 'start', action: 'reset', user: 'u'.repeat(MAX_USER_ID) }],
      ['gate.send', { op: 'gate.send', gate: 'email-1' }],
      ['gate.verify', { op: 'gate.verify', gate: 'sms_2', code: '123456' }],
      [`gate.verify with a ${MAX_CODE}-character answer`, { op: 'gate.verify', gate: 'questions', code: 'answer with spaces, ümlauts'.padEnd(MAX_CODE, '.') }],
      ['reset', { op: 'reset', newPassword: SEALED }],
      ['unlock', { op: 'unlock' }],
      ['change', { op: 'change', oldPassword: SEALED, newPassword: SEALED }],
    ];
    for (const [name, value] of valid) {
      it(`accepts ${name}, returning exactly its fields`, function () {
        const parsed = parseClientMessage(structuredClone(value));
        assert.deepEqual(parsed, value);
        assert.notEqual(parsed, value, 'must be a fresh object');
      });
    }

    const invalid: Case[] = [
      // extra keys
      ['an extra key on start', { op: 'start', action: 'reset', user: 'alice', admin: true }, 'admin'],
      ['an extra key on unlock', { op: 'unlock', user: 'alice' }, 'user'],
      ['an extra key on change', { op: 'change', oldPassword: SEALED, newPassword: SEALED, confirm: SEALED }, 'confirm'],
      ['an own __proto__ key', json('{"op":"unlock","__proto__":{"isAdmin":true}}'), '__proto__'],
      ['a constructor key', { op: 'gate.send', gate: 'email', constructor: 'x' }, 'constructor'],
      // missing and wrong types
      ['start without user', { op: 'start', action: 'reset' }, 'user'],
      ['start without action', { op: 'start', user: 'alice' }, 'action'],
      ['user as a number', { op: 'start', action: 'reset', user: 42 }, 'user'],
      ['user as an array', { op: 'start', action: 'reset', user: ['alice'] }, 'user'],
      ['user as an object', { op: 'start', action: 'reset', user: { toString: 'alice' } }, 'user'],
      ['an empty user', { op: 'start', action: 'reset', user: '' }, 'user'],
      ['an unknown action', { op: 'start', action: 'delete', user: 'alice' }, 'action'],
      ['action in another case', { op: 'start', action: 'Reset', user: 'alice' }, 'action'],
      ['gate as a number', { op: 'gate.send', gate: 1 }, 'gate'],
      ['code as a number', { op: 'gate.verify', gate: 'totp', code: 123456 }, 'code'],
      ['an empty code', { op: 'gate.verify', gate: 'totp', code: '' }, 'code'],
      ['newPassword as null', { op: 'reset', newPassword: null }, 'newPassword'],
      ['oldPassword missing', { op: 'change', newPassword: SEALED }, 'oldPassword'],
      // control characters in user ids
      ['a NUL in the user', { op: 'start', action: 'reset', user: 'al\u0000ice' }, 'user'],
      ['a newline in the user', { op: 'start', action: 'reset', user: 'alice\n' }, 'user'],
      ['a carriage return in the user', { op: 'start', action: 'reset', user: 'alice\r\nadmin' }, 'user'],
      ['a tab in the user', { op: 'start', action: 'reset', user: '\talice' }, 'user'],
      ['an escape in the user', { op: 'start', action: 'reset', user: 'alice\u001b[2J' }, 'user'],
      ['a DEL in the user', { op: 'start', action: 'reset', user: 'alice\u007f' }, 'user'],
      ['a C1 NEL (U+0085) in the user', { op: 'start', action: 'reset', user: 'alice\u0085admin' }, 'user'],
      ['a C1 CSI (U+009B) in the user', { op: 'start', action: 'reset', user: 'alice\u009b2J' }, 'user'],
      // over-long fields
      [`a ${MAX_USER_ID + 1}-character user`, { op: 'start', action: 'reset', user: 'u'.repeat(MAX_USER_ID + 1) }, 'user'],
      [`a ${MAX_CODE + 1}-character code`, { op: 'gate.verify', gate: 'totp', code: '1'.repeat(MAX_CODE + 1) }, 'code'],
      ['a 33-character gate id', { op: 'gate.send', gate: 'g'.repeat(33) }, 'gate'],
      ['a gate id with a space', { op: 'gate.send', gate: 'email 1' }, 'gate'],
      ['a gate id with a slash', { op: 'gate.verify', gate: '../x', code: '1' }, 'gate'],
      ['a 1025-character newPassword', { op: 'reset', newPassword: 'A'.repeat(1025) }, 'newPassword'],
      ['a 1025-character oldPassword', { op: 'change', oldPassword: 'A'.repeat(1025), newPassword: SEALED }, 'oldPassword'],
      // unknown ops and non-objects
      ['an unknown op', { op: 'delete' }, 'op'],
      ['an answer op', { op: 'done', action: 'reset' }, 'op'],
      ['an op inherited from Object.prototype', { op: 'toString' }, 'op'],
      ['op in another case', { op: 'Unlock' }, 'op'],
      ['no op', {}, 'op'],
      ['op as a number', { op: 1 }, 'op'],
      ['null', null, 'op'],
      ['undefined', undefined, 'op'],
      ['an array', [], 'op'],
      ['an array holding a message', [{ op: 'unlock' }], 'op'],
      ['a string', 'unlock', 'op'],
      ['a number', 42, 'op'],
    ];
    for (const [name, value, field] of invalid) {
      it(`rejects ${name} (BAD_REQUEST naming "${field}")`, function () {
        assert.throws(() => parseClientMessage(value), badRequest(field));
      });
    }

    it('BAD_REQUEST is a documented error code', function () {
      assert.ok(Object.hasOwn(ERROR_CODES, 'BAD_REQUEST'));
    });
  });

  describe('parseAgentMessage', function () {
    const valid: Array<[string, unknown]> = [
      ['challenge', challenge],
      ['challenge with no gates and everything passed', { ...challenge, gates: [], required: 0, passed: ['email-1'] }],
      [
        'challenge with every gate method',
        {
          ...challenge,
          gates: ['email', 'sms', 'voice', 'totp', 'questions'].map((method, i) => ({ id: `g${i}`, method, hint: '•••' })),
          required: 2,
        },
      ],
      ['gate.sent', { op: 'gate.sent', gate: 'email-1', resendAfter: 60 }],
      ['gate.passed', { op: 'gate.passed', gate: 'email-1', remaining: 0 }],
      ['done', { op: 'done', action: 'unlock' }],
      ['error with a reason', { op: 'error', code: 'POLICY_VIOLATION', reason: 'history', message: 'The new password was used before.' }],
      ['error without a reason', { op: 'error', code: 'TOO_MANY_ATTEMPTS', message: 'Too many attempts.' }],
    ];
    for (const [name, value] of valid) {
      it(`accepts ${name}, returning exactly its fields`, function () {
        const parsed = parseAgentMessage(structuredClone(value));
        assert.deepEqual(parsed, value);
        assert.notEqual(parsed, value, 'must be a fresh object');
      });
    }

    const gates17 = Array.from({ length: 17 }, (_, i) => ({ id: `g${i}`, method: 'email', hint: 'x' }));
    const invalid: Case[] = [
      // extra keys, at every level
      ['an extra key on challenge', { ...challenge, debug: true }, 'debug'],
      ['an extra key on a gate', { ...challenge, gates: [{ ...gate, address: 'alice@corp.example' }] }, 'address'],
      ['an extra key on the policy', { ...challenge, policy: { ...policy, lockout: 5 } }, 'lockout'],
      ['an extra key on done', { op: 'done', action: 'reset', user: 'alice' }, 'user'],
      ['an extra key on error', { op: 'error', code: 'INTERNAL', message: 'x', stack: 'at …' }, 'stack'],
      ['an own __proto__ key', json('{"op":"done","action":"reset","__proto__":{"x":1}}'), '__proto__'],
      // wrong types and ranges
      ['an unknown action', { op: 'done', action: 'delete' }, 'action'],
      ['gates not an array', { ...challenge, gates: {} }, 'gates'],
      ['17 gates', { ...challenge, gates: gates17 }, 'gates'],
      ['a gate that is null', { ...challenge, gates: [null] }, 'gates'],
      ['a gate that is a string', { ...challenge, gates: ['email'] }, 'gates'],
      ['an unknown gate method', { ...challenge, gates: [{ ...gate, method: 'pigeon' }] }, 'method'],
      ['a gate id with a space', { ...challenge, gates: [{ ...gate, id: 'a b' }] }, 'id'],
      ['an empty gate hint', { ...challenge, gates: [{ ...gate, hint: '' }] }, 'hint'],
      ['passed holding a number', { ...challenge, passed: [1] }, 'passed'],
      ['passed not an array', { ...challenge, passed: 'email-1' }, 'passed'],
      ['required 5', { ...challenge, required: 5 }, 'required'],
      ['required 1.5', { ...challenge, required: 1.5 }, 'required'],
      ['required as a string', { ...challenge, required: '1' }, 'required'],
      ['policy missing', { op: 'challenge', action: 'reset', gates: [], required: 0, passed: [] }, 'policy'],
      ['policy null', { ...challenge, policy: null }, 'policy'],
      ['policy an array', { ...challenge, policy: [] }, 'policy'],
      ['policy.complexity as a string', { ...challenge, policy: { ...policy, complexity: 'yes' } }, 'policy.complexity'],
      ['policy.minLength negative', { ...challenge, policy: { ...policy, minLength: -1 } }, 'minLength'],
      ['policy.historyLength 1025', { ...challenge, policy: { ...policy, historyLength: 1025 } }, 'historyLength'],
      ['policy.maxAgeSeconds NaN-like', { ...challenge, policy: { ...policy, maxAgeSeconds: Number.NaN } }, 'maxAgeSeconds'],
      ['resendAfter negative', { op: 'gate.sent', gate: 'email-1', resendAfter: -1 }, 'resendAfter'],
      ['resendAfter over a day', { op: 'gate.sent', gate: 'email-1', resendAfter: 86_401 }, 'resendAfter'],
      ['resendAfter as a string', { op: 'gate.sent', gate: 'email-1', resendAfter: '60' }, 'resendAfter'],
      ['remaining 5', { op: 'gate.passed', gate: 'email-1', remaining: 5 }, 'remaining'],
      ['a 33-character gate', { op: 'gate.passed', gate: 'g'.repeat(33), remaining: 0 }, 'gate'],
      ['an unknown error code', { op: 'error', code: 'NOPE', message: 'x' }, 'code'],
      ['an error code inherited from Object.prototype', { op: 'error', code: 'toString', message: 'x' }, 'code'],
      ['an unknown policy reason', { op: 'error', code: 'POLICY_VIOLATION', reason: 'too_long', message: 'x' }, 'reason'],
      ['a null policy reason', { op: 'error', code: 'POLICY_VIOLATION', reason: null, message: 'x' }, 'reason'],
      ['an empty error message', { op: 'error', code: 'INTERNAL', message: '' }, 'message'],
      ['a 1025-character error message', { op: 'error', code: 'INTERNAL', message: 'm'.repeat(1025) }, 'message'],
      ['an error message missing', { op: 'error', code: 'INTERNAL' }, 'message'],
      // unknown ops and non-objects
      ['an unknown op', { op: 'success' }, 'op'],
      ['a client op', { op: 'unlock' }, 'op'],
      ['no op', {}, 'op'],
      ['null', null, 'op'],
      ['an array', [challenge], 'op'],
      ['a string', 'done', 'op'],
    ];
    for (const [name, value, field] of invalid) {
      it(`rejects ${name} (BAD_REQUEST naming "${field}")`, function () {
        assert.throws(() => parseAgentMessage(value), badRequest(field));
      });
    }
  });
});
