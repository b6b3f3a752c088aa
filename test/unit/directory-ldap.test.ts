import assert from 'node:assert/strict';
import { AndFilter, BerWriter, EqualityFilter, OrFilter, type Entry } from 'ldapts';
import {
  assertPasswordShape,
  changeChanges,
  encodeUnicodePwd,
  MAX_PASSWORD_LENGTH,
  POLICY_HINTS_DEPRECATED_OID,
  POLICY_HINTS_OID,
  PolicyHintsControl,
  policyHintsFor,
  resetChanges,
} from '../../agent/directory/password.ts';
import { intervalSeconds, parseDomainPolicy, parsePso } from '../../agent/directory/policy.ts';
import { checkPasswordRules, characterGroups, containsOwnerName, meetsComplexity } from '../../agent/directory/rules.ts';
import { DirectoryError } from '../../agent/directory/errors.ts';
import { fileTime, normaliseUserId, scopeFilter, toDirectoryUser, userFilter } from '../../agent/directory/users.ts';
import { parseKinit, principalFor } from '../support/samba/kerberos.ts';
import { adBindCode } from '../support/directory.ts';

function ber(write: (w: BerWriter) => void): string {
  const w = new BerWriter();
  write(w);
  return w.buffer.toString('hex');
}

describe('directory: LDAP building blocks (no server)', () => {
  describe('user search filters', () => {
    it('puts the identifier in as a value, escaped when shown as a string', () => {
      const f = userFilter('*)(sAMAccountName=*');
      assert.equal(
        f.toString(),
        '(&(objectCategory=person)(objectClass=user)(|(sAMAccountName=\\2a\\29\\28sAMAccountName=\\2a)(userPrincipalName=\\2a\\29\\28sAMAccountName=\\2a)(mail=\\2a\\29\\28sAMAccountName=\\2a)))',
      );
      // On the wire each is an equalityMatch with the raw octets: no substring or presence filter.
      const or = (f as AndFilter).filters[2] as OrFilter;
      for (const child of or.filters) {
        assert.ok(child instanceof EqualityFilter);
        assert.equal(child.value, '*)(sAMAccountName=*');
      }
      assert.ok(ber((w) => f.write(w)).includes(Buffer.from('*)(sAMAccountName=*').toString('hex')));
    });

    it('checks scope with LDAP_MATCHING_RULE_IN_CHAIN', () => {
      assert.equal(scopeFilter('CN=Unlatch Users,OU=Groups,DC=corp').toString(), '(memberOf:1.2.840.113556.1.4.1941:=CN=Unlatch Users,OU=Groups,DC=corp)');
    });

    it('normalises identifiers and refuses ones that can name nobody', () => {
      assert.equal(normaliseUserId('  alice '), 'alice');
      assert.equal(normaliseUserId('CORP\\alice'), 'alice');
      assert.equal(normaliseUserId('alice@corp.example'), 'alice@corp.example');
      assert.equal(normaliseUserId('a\\b\\c'), 'a\\b\\c');
      for (const bad of ['', '   ', 'a\u0000b', 'a\nb', 'x'.repeat(257)]) assert.equal(normaliseUserId(bad), null);
    });
  });

  describe('user attributes', () => {
    const entry = (over: Record<string, string | string[]> = {}): Entry => ({
      dn: 'CN=alice,OU=People,DC=corp',
      sAMAccountName: 'alice',
      userPrincipalName: 'alice@corp.example',
      mail: ['alice@corp.example'],
      userAccountControl: '512',
      pwdLastSet: '134399351266578300',
      lockoutTime: '0',
      adminCount: [],
      mobile: [],
      'msDS-User-Account-Control-Computed': '0',
      ...over,
    });

    it('decodes flags from userAccountControl, the computed flags, pwdLastSet and adminCount', () => {
      const u = toDirectoryUser(entry(), true);
      assert.equal(u.sam, 'alice');
      assert.deepEqual(u.mail, ['alice@corp.example']);
      assert.equal(u.mobile, undefined);
      assert.deepEqual([u.disabled, u.locked, u.mustChange, u.passwordExpired, u.protected, u.inScope], [false, false, false, false, false, true]);
      assert.equal(u.lockoutTime, null);
      assert.equal(u.pwdLastSet?.toISOString().slice(0, 4), '2026');
      const v = toDirectoryUser(
        entry({ userAccountControl: '514', pwdLastSet: '0', adminCount: '1', lockoutTime: '134399351266578300', 'msDS-User-Account-Control-Computed': String(0x10 | 0x800000) }),
        false,
      );
      assert.deepEqual([v.disabled, v.locked, v.mustChange, v.passwordExpired, v.protected, v.inScope], [true, true, true, true, true, false]);
      // Without the computed attribute a non-zero lockoutTime counts as locked.
      assert.equal(toDirectoryUser(entry({ lockoutTime: '134399351266578300', 'msDS-User-Account-Control-Computed': [] }), true).locked, true);
    });

    it('converts FILETIME, treating 0 and "never" as null', () => {
      assert.equal(fileTime('0'), null);
      assert.equal(fileTime(undefined), null);
      assert.equal(fileTime('9223372036854775807'), null);
      assert.equal(fileTime('116444736000000000')?.getTime(), 0);
    });
  });

  describe('password writes', () => {
    it('encodes unicodePwd as the quoted password in UTF-16LE', () => {
      assert.deepEqual(encodeUnicodePwd('Pa$s'), Buffer.from([0x22, 0, 0x50, 0, 0x61, 0, 0x24, 0, 0x73, 0, 0x22, 0]));
      assert.equal(encodeUnicodePwd('Ünï€').toString('utf16le'), '"Ünï€"');
    });

    it('resets with ONE modify of three replaces: unicodePwd, lockoutTime=0, pwdLastSet=-1', () => {
      const changes = resetChanges('New-Passw0rd!');
      assert.deepEqual(
        changes.map((c) => [c.operation, c.modification.type]),
        [
          ['replace', 'unicodePwd'],
          ['replace', 'lockoutTime'],
          ['replace', 'pwdLastSet'],
        ],
      );
      assert.deepEqual(changes[1]!.modification.values, ['0']);
      assert.deepEqual(changes[2]!.modification.values, ['-1']);
    });

    it('changes with delete old + add new unicodePwd', () => {
      const changes = changeChanges('Old-Passw0rd!', 'New-Passw0rd!');
      assert.deepEqual(changes.map((c) => [c.operation, c.modification.type]), [
        ['delete', 'unicodePwd'],
        ['add', 'unicodePwd'],
      ]);
      assert.equal((changes[0]!.modification.values[0] as Buffer).toString('utf16le'), '"Old-Passw0rd!"');
      assert.equal((changes[1]!.modification.values[0] as Buffer).toString('utf16le'), '"New-Passw0rd!"');
    });

    it('refuses impossible passwords before sending anything, without echoing them', () => {
      assert.throws(() => assertPasswordShape('', 'newPassword'), (e: unknown) => e instanceof DirectoryError && e.code === 'POLICY_VIOLATION' && e.reason === 'too_short');
      assert.throws(() => assertPasswordShape('x'.repeat(MAX_PASSWORD_LENGTH + 1), 'newPassword'), (e: unknown) => e instanceof DirectoryError && e.code === 'POLICY_VIOLATION');
      assert.throws(() => assertPasswordShape('a\u0000b', 'oldPassword'), (e: unknown) => e instanceof DirectoryError && e.code === 'INVALID_CREDENTIALS' && !e.detail.includes('a\u0000b'));
      assert.doesNotThrow(() => assertPasswordShape('x'.repeat(MAX_PASSWORD_LENGTH), 'newPassword'));
    });

    it('encodes the policy-hints control as SEQUENCE { INTEGER 1 }, critical', () => {
      const oid = Buffer.from(POLICY_HINTS_OID).toString('hex');
      const hex = ber((w) => new PolicyHintsControl().write(w));
      // Control ::= SEQUENCE { controlType OCTET STRING, criticality TRUE, controlValue OCTET STRING (30 03 02 01 01) }
      assert.equal(hex, `30${(2 + 23 + 3 + 7).toString(16)}0417${oid}0101ff${'0405'}${'3003020101'}`);
    });

    it('uses the newest policy-hints control the DC advertises, or none', () => {
      assert.equal(policyHintsFor([POLICY_HINTS_DEPRECATED_OID, POLICY_HINTS_OID])?.type, POLICY_HINTS_OID);
      assert.equal(policyHintsFor(['1.2.840.113556.1.4.319', POLICY_HINTS_DEPRECATED_OID])?.type, POLICY_HINTS_DEPRECATED_OID);
      assert.equal(policyHintsFor(['1.2.840.113556.1.4.319']), undefined);
    });
  });

  describe('policy parsing', () => {
    it('turns AD intervals into seconds (0 and "never" are 0)', () => {
      assert.equal(intervalSeconds('-36288000000000'), 42 * 86400);
      assert.equal(intervalSeconds('-18000000000'), 1800);
      assert.equal(intervalSeconds('0'), 0);
      assert.equal(intervalSeconds('-9223372036854775808'), 0);
      assert.equal(intervalSeconds(undefined), 0);
    });

    it('reads the domain object and a PSO', () => {
      const domain = parseDomainPolicy({
        dn: 'DC=corp',
        minPwdLength: '8',
        pwdProperties: '1',
        pwdHistoryLength: '24',
        minPwdAge: '-864000000000',
        maxPwdAge: '-36288000000000',
        lockoutThreshold: '3',
        lockoutDuration: '-18000000000',
        lockOutObservationWindow: '-18000000000',
      });
      assert.deepEqual(domain, {
        minLength: 8,
        complexity: true,
        historyLength: 24,
        minAgeSeconds: 86400,
        maxAgeSeconds: 42 * 86400,
        lockoutThreshold: 3,
        lockoutDurationSeconds: 1800,
        lockoutWindowSeconds: 1800,
        source: 'domain',
      });
      assert.equal(parseDomainPolicy({ dn: 'DC=corp', pwdProperties: '16' }).complexity, false);
      const pso = parsePso({
        dn: 'CN=Strict,CN=Password Settings Container,CN=System,DC=corp',
        'msDS-MinimumPasswordLength': '12',
        'msDS-PasswordComplexityEnabled': 'TRUE',
        'msDS-PasswordHistoryLength': '5',
        'msDS-MinimumPasswordAge': '0',
        'msDS-MaximumPasswordAge': '-77760000000000',
        'msDS-LockoutThreshold': '5',
        'msDS-LockoutDuration': '-9223372036854775808',
        'msDS-LockoutObservationWindow': '-18000000000',
      });
      assert.equal(pso.source, 'pso');
      assert.equal(pso.psoDN, 'CN=Strict,CN=Password Settings Container,CN=System,DC=corp');
      assert.deepEqual([pso.minLength, pso.complexity, pso.historyLength, pso.maxAgeSeconds, pso.lockoutDurationSeconds], [12, true, 5, 90 * 86400, 0]);
    });
  });

  describe('password rules (AD complexity)', () => {
    it('counts character groups, Unicode included', () => {
      assert.equal(characterGroups('abc'), 1);
      assert.equal(characterGroups('aB3'), 3);
      assert.equal(characterGroups('aB3!'), 4);
      assert.equal(characterGroups('日本語a1'), 3);
      assert.equal(characterGroups('Éé'), 2);
    });

    it('refuses the account name and display-name tokens of 3+ characters', () => {
      assert.equal(containsOwnerName('xxALICExx', { sam: 'alice' }), true);
      assert.equal(containsOwnerName('xxbobxx', { sam: 'bo' }), false);
      assert.equal(containsOwnerName('My-Smith-1', { displayName: 'Jo Smith-Jones' }), true);
      assert.equal(containsOwnerName('My-Jo-1', { displayName: 'Jo Smith-Jones' }), false);
      assert.equal(meetsComplexity('Str0ng!pass', { sam: 'alice' }), true);
      assert.equal(meetsComplexity('Str0ng!alice', { sam: 'alice' }), false);
    });

    it('lists the rules a password breaks', () => {
      const rules = { minLength: 8, complexity: true };
      assert.deepEqual(checkPasswordRules(rules, 'Ab1!'), ['too_short']);
      assert.deepEqual(checkPasswordRules(rules, 'abc'), ['too_short', 'complexity']);
      assert.deepEqual(checkPasswordRules(rules, 'alllowercase'), ['complexity']);
      assert.deepEqual(checkPasswordRules(rules, 'Perfectly-Fine-1'), []);
      assert.deepEqual(checkPasswordRules({ minLength: 0, complexity: false }, 'a'), []);
    });
  });

  describe('test directory helpers', () => {
    it('reads bind data codes', () => {
      assert.equal(adBindCode('80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 773, v1db1'), '773');
      assert.equal(adBindCode('nope'), null);
    });

    it('maps principals to the realm and normalises kinit output', () => {
      assert.equal(principalFor('alice', 'UNLATCH.TEST'), 'alice@UNLATCH.TEST');
      assert.equal(principalFor('alice@unlatch.test', 'UNLATCH.TEST'), 'alice@UNLATCH.TEST');
      assert.equal(principalFor('alice@OTHER.REALM', 'UNLATCH.TEST'), 'alice@OTHER.REALM');
      assert.deepEqual(parseKinit(0, 'Password for a@R: \nWarning: Your password will expire in 41 days', ''), { ok: true });
      assert.deepEqual(parseKinit(1, 'Password for a@R: ', 'kinit: Password incorrect while getting initial credentials\n'), {
        ok: false,
        error: 'Password incorrect',
      });
      assert.deepEqual(
        parseKinit(1, 'Password for a@R: \nPassword expired.  You must change it now.\nEnter new password: ', 'kinit: Cannot read password while getting initial credentials'),
        { ok: false, error: 'Password has expired' },
      );
      assert.deepEqual(parseKinit(1, '', "kinit: Client's credentials have been revoked while getting initial credentials"), {
        ok: false,
        error: "Client's credentials have been revoked",
      });
    });
  });
});
