/**
 * Detection rules (extension/lib/rules.ts, default-rules.ts): which pages get a banner. The DOM
 * half (content/scan.ts) runs in Chromium in test/browser/; this is the URL and text logic.
 */
import assert from 'node:assert/strict';
import { DEFAULT_RULES } from '../../extension/lib/default-rules.ts';
import { globMatch, ruleUrl, rulesForUrl, textRegExp, type DetectionRule } from '../../extension/lib/rules.ts';

/** The outcome the first matching default rule gives for a page with `text` at `url`. */
function outcomeFor(url: string, text: string): string | undefined {
  for (const rule of rulesForUrl(DEFAULT_RULES, url)) {
    const re = textRegExp(rule);
    if (!rule.textPattern || re?.test(text)) return rule.outcome;
  }
  return undefined;
}

describe('Detection rules', () => {
  describe('globMatch()', () => {
    it('matches * across any run of characters, everything else literally', () => {
      const g = 'https://sso.corp.example/adfs/*';
      assert.ok(globMatch(g, 'https://sso.corp.example/adfs/ls/?client-request-id=1'));
      assert.ok(!globMatch(g, 'https://sso.corp.example.evil.test/adfs/ls/'));
      assert.ok(!globMatch(g, 'https://ssoxcorp.example/adfs/ls/'), 'a dot is not a wildcard');
    });
    it('is case-insensitive and anchored at both ends', () => {
      assert.ok(globMatch('*/RDWeb/*', 'https://ts.corp.example/rdweb/Pages/en-US/login.aspx'));
      assert.ok(!globMatch('https://a.example/', 'https://a.example/x'));
      assert.ok(globMatch('https://a.example/', 'https://A.example/'));
      assert.ok(globMatch('*', 'https://anything.example/'));
    });
    it('keeps the parts in order and never lets them overlap', () => {
      assert.ok(globMatch('http://*:*/*', 'http://127.0.0.1:8080/x'));
      assert.ok(!globMatch('https://*.okta.com/*', 'https://okta.com/'));
      assert.ok(!globMatch('*abcabc*', 'xabcx'));
      assert.ok(!globMatch('ab*ba', 'aba'), 'prefix and suffix must not share characters');
      assert.ok(globMatch('a*b*c', 'aXbYc'));
      assert.ok(!globMatch('a*c*b', 'aXbYc'));
    });
    it('treats regex metacharacters in a pattern as plain text', () => {
      assert.ok(globMatch('https://x.example/a+b(c)?[d]', 'https://x.example/a+b(c)?[d]'));
      assert.ok(!globMatch('https://x.example/a.b', 'https://x.example/aXb'));
    });
  });

  describe('rulesForUrl()', () => {
    it('ignores the #fragment and skips rules whose pattern matches nothing', () => {
      assert.equal(ruleUrl('https://a.example/p?q=1#frag'), 'https://a.example/p?q=1');
      const rules: DetectionRule[] = [
        { urlPattern: 'https://a.example/p*', outcome: 'locked' },
        { urlPattern: 'https://b.example/*', outcome: 'expired' },
      ];
      assert.deepEqual(
        rulesForUrl(rules, 'https://a.example/p#https://b.example/').map((r) => r.outcome),
        ['locked'],
      );
    });
  });

  describe('textRegExp()', () => {
    it('lets a space match any run of white space, except inside a [class]', () => {
      const re = textRegExp({ urlPattern: '*', textPattern: 'password has  expired|a[ ]b', outcome: 'expired' });
      assert.ok(re?.test('Your password\n   has \t expired.'));
      assert.ok(re?.test('a b'));
      assert.ok(!re?.test('a  b'));
      assert.ok(textRegExp({ urlPattern: '*', textPattern: 'a\\ b', outcome: 'expired' })?.test('a b'));
    });
    it('is undefined for a pattern that does not compile, so the rule never matches', () => {
      assert.equal(textRegExp({ urlPattern: '*', textPattern: '(unclosed', outcome: 'locked' }), undefined);
    });
  });

  describe('built-in rules', () => {
    it('recognise AD FS expired, must-change and locked messages', () => {
      const adfs = 'https://sts.corp.example/adfs/ls/?wa=wsignin1.0';
      assert.equal(outcomeFor(adfs, 'Your password has expired.'), 'expired');
      assert.equal(outcomeFor(adfs, 'The referenced account is currently locked out and may not be logged on to.'), 'locked');
      assert.equal(outcomeFor(adfs, 'Your account has been locked. Contact your support person to unlock it.'), 'locked');
      assert.equal(outcomeFor(adfs, 'You must change your password before signing in.'), 'must_change');
    });
    it('recognise Entra ID wording and German messages', () => {
      const entra = 'https://login.microsoftonline.com/common/login';
      assert.equal(
        outcomeFor(entra, 'You need to update your password because this is the first time you are signing in, or because your password has expired.'),
        'must_change',
      );
      assert.equal(outcomeFor(entra, 'Ihr Konto wurde vorübergehend gesperrt.'), 'locked');
      assert.equal(outcomeFor(entra, 'Ihr Kennwort ist abgelaufen.'), 'expired');
    });
    it('stay silent on ordinary sign-in errors and on pages that are not sign-in pages', () => {
      assert.equal(outcomeFor('https://sts.corp.example/adfs/ls/', 'Incorrect user ID or password.'), undefined);
      assert.equal(outcomeFor('https://sts.corp.example/adfs/ls/', 'Too many failures and you will be locked out? Not yet.'), undefined);
      assert.equal(outcomeFor('https://news.example/article', 'Your password has expired'), undefined);
    });
    it('send OWA\'s expired-password page to "expired" by its URL alone', () => {
      assert.equal(outcomeFor('https://mail.corp.example/owa/auth/expiredpassword.aspx?url=/owa', ''), 'expired');
    });
    it('all compile', () => {
      for (const rule of DEFAULT_RULES) if (rule.textPattern) assert.ok(textRegExp(rule), rule.textPattern);
    });
  });
});
