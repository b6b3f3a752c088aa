/**
 * The extension's small pure helpers: the id from the manifest key, the message contract,
 * masking, error presentation and the password rules checked before submit.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { UNLATCH_EXTENSION_ID, UNLATCH_GECKO_ID } from '../../agent/policy.ts';
import { describeError, toErrorInfo } from '../../extension/lib/errors.ts';
import { extensionIdFromKey } from '../../extension/lib/extension-id.ts';
import { displayHint, maskEmail, maskPhone } from '../../extension/lib/mask.ts';
import { parseBackgroundMessage, parseResetPageQuery, resetPageQuery } from '../../extension/lib/messages.ts';
import { accountName, categoryCount, checkPassword } from '../../extension/lib/password-rules.ts';
import { UnlatchError } from '../../protocol/errors.ts';
import type { PasswordPolicyView } from '../../protocol/messages.ts';

const manifest = JSON.parse(readFileSync(new URL('../../manifest.json', import.meta.url), 'utf8')) as {
  key: string;
  permissions: string[];
  host_permissions?: string[];
  browser_specific_settings: { gecko: { id: string } };
  content_security_policy: { extension_pages: string };
};

describe('Extension', () => {
  describe('extensionIdFromKey()', () => {
    it('derives the id Chromium gives the manifest key, and agent/policy.ts names the same', async () => {
      const id = await extensionIdFromKey(manifest.key);
      assert.match(id, /^[a-p]{32}$/);
      assert.equal(id, UNLATCH_EXTENSION_ID);
      assert.equal(manifest.browser_specific_settings.gecko.id, UNLATCH_GECKO_ID);
    });
  });

  describe('manifest.json', () => {
    it('asks for storage only, no host permissions, and a CSP that allows only its own scripts', () => {
      assert.deepEqual(manifest.permissions, ['storage']);
      assert.equal(manifest.host_permissions, undefined);
      const csp = manifest.content_security_policy.extension_pages;
      assert.match(csp, /script-src 'self';/);
      assert.match(csp, /object-src 'none'/);
      assert.doesNotMatch(csp, /unsafe-(inline|eval)/);
    });
  });

  describe('parseBackgroundMessage()', () => {
    it('accepts the contract and cleans the user name', () => {
      assert.deepEqual(parseBackgroundMessage({ type: 'content:open-reset', outcome: 'locked', user: ' alice\u0000 ' }), {
        type: 'content:open-reset',
        outcome: 'locked',
        user: 'alice',
      });
      assert.deepEqual(parseBackgroundMessage({ type: 'page:reload-policy' }), { type: 'page:reload-policy' });
      assert.deepEqual(parseBackgroundMessage({ type: 'content:signin', user: ' bob ', password: 'x' }), { type: 'content:signin', user: 'bob' });
      assert.deepEqual(parseBackgroundMessage({ type: 'content:signed-in' }), { type: 'content:signed-in' });
      assert.deepEqual(parseBackgroundMessage({ type: 'content:open-register', user: 'bob' }), { type: 'content:open-register', user: 'bob' });
    });
    it('refuses anything else', () => {
      for (const m of [null, 'x', {}, { type: 'content:open-reset', outcome: 'owned' }, { type: 'eval', code: '1' }, { type: 'content:signin' }, { type: 'content:signin', user: ' ' }]) {
        assert.equal(parseBackgroundMessage(m), undefined);
      }
    });
  });

  describe('reset page query', () => {
    it('round-trips and drops what is invalid', () => {
      const q = resetPageQuery({ outcome: 'expired', user: 'CORP\\alice', tab: 7 });
      assert.deepEqual(parseResetPageQuery(q), { outcome: 'expired', user: 'CORP\\alice', tab: 7 });
      assert.deepEqual(parseResetPageQuery('?outcome=pwned&tab=-1&user='), {});
    });
  });

  describe('masking', () => {
    it('shows only what a person needs to recognise their own contact data', () => {
      assert.equal(maskEmail('alice@corp.example'), 'a•••@corp.example');
      assert.equal(maskPhone('+49 170 1234589'), '•••••89');
    });
    it('passes already-masked hints through and masks full ones', () => {
      assert.equal(displayHint('email', 'a•••@corp.example'), 'a•••@corp.example');
      assert.equal(displayHint('email', 'alice@corp.example'), 'a•••@corp.example');
      assert.equal(displayHint('sms', '•••••89'), '•••••89');
      assert.equal(displayHint('sms', '+1 555 0100 89'), '•••••89');
    });
  });

  describe('describeError()', () => {
    it('keeps the policy reason and separates what a person can fix from what an admin must', () => {
      const v = describeError({ code: 'POLICY_VIOLATION', reason: 'history' });
      assert.equal(v.reasonKey, 'reason_history');
      assert.equal(v.recoverable, true);
      assert.equal(describeError({ code: 'KEY_PIN_MISMATCH' }).audience, 'admin');
      assert.equal(describeError({ code: 'AGENT_OFFLINE' }).recoverable, false);
    });
    it('maps thrown errors to codes', () => {
      assert.deepEqual(toErrorInfo(new UnlatchError('AGENT_OFFLINE')), { code: 'AGENT_OFFLINE' });
      assert.deepEqual(toErrorInfo(new UnlatchError('POLICY_VIOLATION', 'x', 'too_short')), { code: 'POLICY_VIOLATION', reason: 'too_short' });
      assert.deepEqual(toErrorInfo({ code: 'CRYPTO_FAILED' }), { code: 'PROTOCOL_ERROR' });
      assert.deepEqual(toErrorInfo(new Error('boom')), { code: 'INTERNAL' });
    });
  });

  describe('checkPassword()', () => {
    const policy: PasswordPolicyView = { minLength: 8, complexity: true, historyLength: 24, minAgeSeconds: 0, maxAgeSeconds: 0 };
    it('names the first broken rule the way the directory would', () => {
      assert.equal(checkPassword('Ab1!', policy, 'alice').violation, 'too_short');
      assert.equal(checkPassword('abcdefgh1', policy, 'alice').violation, 'complexity');
      assert.equal(checkPassword('xAlice#2024', policy, 'alice@corp.example').violation, 'complexity');
      assert.equal(checkPassword('Correct-Horse-7', policy, 'alice').violation, undefined);
    });
    it('follows AD: names of two letters or fewer are not checked, five character categories count', () => {
      assert.equal(checkPassword('Jo#123456', policy, 'jo').violation, undefined);
      assert.equal(categoryCount('aB1!'), 4);
      assert.equal(categoryCount('漢字abc1'), 3);
      assert.equal(accountName('CORP\\alice'), 'alice');
      assert.equal(accountName('alice@corp.example'), 'alice');
    });
    it('checks nothing the policy does not ask for, except the protocol maximum', () => {
      const none: PasswordPolicyView = { minLength: 0, complexity: false, historyLength: 0, minAgeSeconds: 0, maxAgeSeconds: 0 };
      assert.equal(checkPassword('a', none, 'alice').violation, undefined);
      assert.equal(checkPassword('é'.repeat(200), none, 'alice').violation, 'too_long');
    });
  });
});
