/** The registration page's pure helpers (extension/lib/register.ts). */
import assert from 'node:assert/strict';
import { addForms, groupSecret, questionAnswers, totpSecretOf } from '../../extension/lib/register.ts';

describe('Registration page helpers', () => {
  it('reads the Base32 secret of an otpauth URI and groups it for typing', () => {
    const uri = 'otpauth://totp/Acme:alice%40corp.example?secret=jbswy3dpehpk3pxp&issuer=Acme&algorithm=SHA1&digits=6&period=30';
    assert.equal(totpSecretOf(uri), 'JBSWY3DPEHPK3PXP');
    assert.equal(groupSecret('JBSWY3DPEHPK3PXPAB'), 'JBSW Y3DP EHPK 3PXP AB');
    assert.equal(totpSecretOf('otpauth://totp/x?secret=not+base32!'), undefined);
    assert.equal(totpSecretOf('otpauth://totp/x'), undefined);
    assert.equal(totpSecretOf('::'), undefined);
  });

  it('offers one form per enabled kind: sms and voice share the phone form; questions only with questions to choose', () => {
    assert.deepEqual(addForms({ enabled: ['email', 'sms', 'voice', 'totp', 'questions'], questions: [{ id: 'pet', text: 'Pet?' }] }), ['phone', 'email', 'totp', 'questions']);
    assert.deepEqual(addForms({ enabled: ['voice', 'questions'], questions: [] }), ['phone']);
    assert.deepEqual(addForms({ enabled: [], questions: [] }), []);
  });

  it('checks question answers before sending: enough, none blank, no question twice', () => {
    assert.deepEqual(questionAnswers([{ question: 'a', answer: ' x ' }, { question: 'b', answer: 'y' }], 2), {
      ok: true,
      answers: [{ question: 'a', answer: 'x' }, { question: 'b', answer: 'y' }],
    });
    assert.deepEqual(questionAnswers([{ question: 'a', answer: 'x' }], 2), { ok: false, problem: 'missing' });
    assert.deepEqual(questionAnswers([{ question: 'a', answer: 'x' }, { question: 'b', answer: '  ' }], 2), { ok: false, problem: 'missing' });
    assert.deepEqual(questionAnswers([{ question: 'a', answer: 'x' }, { question: 'a', answer: 'y' }], 2), { ok: false, problem: 'duplicate' });
  });
});
