/**
 * A person's own registration: phone numbers and alternate addresses (verified with a code
 * before they are kept), an authenticator app (verified with its first code), security answers
 * (kept only as memory-hard hashes). Contact data and TOTP secrets are sealed with the store key
 * before they reach the store.
 *
 * The session flow opens a registration only after the person proved their current password.
 */
import { createHash, randomBytes } from 'node:crypto';
import { UnlatchError } from '../../protocol/errors.ts';
import type { GateMethod, RegisteredMethodView } from '../../protocol/messages.ts';
import type { AgentStore } from '../store/index.ts';
import type { StoreKeys } from '../store/keys.ts';
import type { OneTimeCodes } from './codes.ts';
import { decoyBytes } from './decoy.ts';
import { contactContext, normaliseEmail, secretContext, type CheckResult, type ContactSource, type Gates } from './index.ts';
import { maskEmail, maskPhone } from './mask.ts';
import { countryAllowed, parsePhone } from './phone.ts';
import { satisfiable, type UserPolicy } from './policy.ts';
import { hashAnswer, normaliseAnswer, questionText } from './questions.ts';
import type { Throttle } from './throttle.ts';
import { totpStep, totpUri } from './totp.ts';

/** A method being registered, waiting for its verification code (kept in the session only). */
export interface Pending {
  id: string;
  method: 'email' | 'sms' | 'voice' | 'totp';
  hint: string;
  contact?: string;
  secret?: Buffer;
  slot: string;
  lastSent: number;
}

export interface RegistrationState {
  methods: RegisteredMethodView[];
  enabled: GateMethod[];
  required: number;
  complete: boolean;
  reconfirmDue: boolean;
  questionsRegistered: number;
  questionsToRegister: number;
  questionsToAnswer: number;
  questions: Array<{ id: string; text: string }>;
}

export interface RegistrationDeps {
  gates: Gates;
  store: AgentStore;
  keys: StoreKeys;
  codes: OneTimeCodes;
  throttle: Throttle;
  now: () => number;
  /** 0: never ask people to re-confirm. */
  reconfirmDays: number;
  /** Most methods a person may register. */
  maxMethods: number;
}

const DAY_MS = 86_400_000;

export class Registrations {
  constructor(private readonly deps: RegistrationDeps) {}

  /** What the person has on file and what the policy asks of them. */
  async state(subject: string, user: ContactSource, policy: UserPolicy, locale: string | undefined): Promise<RegistrationState> {
    const { gates, store } = this.deps;
    const s = gates.settings;
    const registration = await store.registration(subject);
    const methods: RegisteredMethodView[] = [];
    const registeredContacts = new Set<string>();
    for (const m of registration.methods) {
      let hint = 'authenticator app';
      if (m.contact) {
        const contact = this.deps.keys.open(m.contact, contactContext(subject, m.id)).toString('utf8');
        registeredContacts.add(contact.toLowerCase());
        hint = m.method === 'email' ? maskEmail(contact) : maskPhone(contact);
      }
      methods.push({ id: m.id, method: m.method, hint, source: 'registered' });
    }
    const empty = { ...registration, methods: [], answers: [] };
    for (const method of ['email', 'sms', 'voice'] as const) {
      if (!s[method].enabled) continue;
      for (const contact of gates.contacts(user, empty, subject, method)) {
        if (registeredContacts.has(contact.toLowerCase())) continue;
        const hint = method === 'email' ? maskEmail(contact) : maskPhone(contact);
        methods.push({ id: `d${digest(`${method}|${contact}`)}`, method, hint, source: 'directory' });
      }
    }
    const questionsAllowed = s.questions.enabled && policy.questionsAllowed;
    const kinds = gates.kindsOnFile(subject, user, registration, policy);
    const answered = registration.answers.length;
    const selfRegistered = registration.methods.length > 0 || answered > 0;
    const confirmedAt = registration.confirmedAt ?? 0;
    return {
      methods,
      enabled: this.registrable(policy),
      required: policy.required,
      complete: satisfiable(policy.required, kinds),
      reconfirmDue: selfRegistered && this.deps.reconfirmDays > 0 && confirmedAt + this.deps.reconfirmDays * DAY_MS <= this.deps.now(),
      questionsRegistered: questionsAllowed ? answered : 0,
      questionsToRegister: questionsAllowed ? s.questions.register : 0,
      questionsToAnswer: questionsAllowed ? s.questions.answer : 0,
      questions: questionsAllowed ? gates.catalogue.map((q) => ({ id: q.id, text: questionText(q, locale) })) : [],
    };
  }

  /** Methods a person may register for themselves under the policy. */
  registrable(policy: UserPolicy): GateMethod[] {
    const s = this.deps.gates.settings;
    return this.deps.gates.enabledMethods(policy).filter((m) => (m === 'email' || m === 'sms' || m === 'voice' ? s[m].registration : true));
  }

  /**
   * Whether to nudge someone after they signed in. For ids we can't help the answer is a keyed
   * coin toss, fixed per id, so it tells nobody whether an account exists or has registered.
   */
  async nudge(subject: string, user: ContactSource | null, typedId: string): Promise<{ nudge: boolean; reason?: 'register' | 'reconfirm' }> {
    if (!user) {
      // The same store read as for a real person, so the answer takes the same time.
      await this.deps.store.registration(subject);
      return decoyBytes(this.deps.keys.key('decoy'), typedId, 'nudge')[0]! % 2 === 0 ? { nudge: true, reason: 'register' } : { nudge: false };
    }
    const policy = this.deps.gates.policy(user.privileged === true);
    const st = await this.state(subject, user, policy, undefined);
    if (!st.complete) return { nudge: true, reason: 'register' };
    if (st.reconfirmDue) return { nudge: true, reason: 'reconfirm' };
    return { nudge: false };
  }

  /** Starts registering a phone number: checks it and sends a code to it by `channel`. */
  async beginPhone(subject: string, user: ContactSource, channel: 'sms' | 'voice', raw: string): Promise<Pending> {
    const { gates } = this.deps;
    const s = gates.settings;
    const parsed = parsePhone(raw, s.phone.defaultCountry);
    if (!parsed) throw new UnlatchError('CONTACT_REFUSED', 'That is not a valid phone number. Include the country code, e.g. +49 151 1234567.');
    if (!countryAllowed(parsed, s.phone.countries)) throw new UnlatchError('CONTACT_REFUSED', 'Codes cannot be sent to phone numbers in that country.');
    await this.assertNew(subject, user, channel, parsed.e164);
    return { id: newId(), method: channel, hint: maskPhone(parsed.e164), contact: parsed.e164, slot: `reg|${subject}|${channel}|${digest(parsed.e164)}`, lastSent: 0 };
  }

  async beginEmail(subject: string, user: ContactSource, raw: string): Promise<Pending> {
    const address = normaliseEmail(raw);
    if (!address) throw new UnlatchError('CONTACT_REFUSED', 'That is not a valid e-mail address.');
    await this.assertNew(subject, user, 'email', address);
    return { id: newId(), method: 'email', hint: maskEmail(address), contact: address, slot: `reg|${subject}|email|${digest(address)}`, lastSent: 0 };
  }

  beginTotp(subject: string): Pending {
    return { id: newId(), method: 'totp', hint: 'authenticator app', secret: this.deps.gates.newTotpSecret(), slot: `reg|${subject}|totp`, lastSent: 0 };
  }

  /** The otpauth:// URI the person scans as a QR code. */
  totpUri(pending: Pending, label: string): string {
    return totpUri(pending.secret as Buffer, this.deps.gates.settings.totp, label);
  }

  /** Sends (again) the code of a pending phone or e-mail registration. */
  async sendCode(subject: string, pending: Pending): Promise<{ code: string; ttlMinutes: number; resendAfter: number }> {
    const s = this.deps.gates.settings[pending.method as 'email' | 'sms' | 'voice'];
    const now = this.deps.now();
    const wait = pending.lastSent + s.resendAfterSeconds * 1000 - now;
    if (wait > 0) throw new UnlatchError('RATE_LIMITED', `Please wait ${Math.ceil(wait / 1000)} seconds before asking for a new code.`);
    if (!(await this.deps.throttle.allowSend(subject))) throw new UnlatchError('RATE_LIMITED', 'Too many codes were sent this hour. Please try again later.');
    if (pending.method !== 'email') await this.deps.gates.takeFromDailyCap(false, pending.method as 'sms' | 'voice');
    pending.lastSent = now;
    const code = await this.deps.codes.issue(pending.slot, s.codeDigits, s.ttlMs);
    return { code, ttlMinutes: Math.round(s.ttlMs / 60_000), resendAfter: s.resendAfterSeconds };
  }

  /** Checks the code of a pending registration (counted like any check); on success keeps the method. */
  async verify(subject: string, pending: Pending, code: string): Promise<{ result: CheckResult; blocked: boolean }> {
    const { throttle, store, keys } = this.deps;
    const attempt = await throttle.attempt(subject, pending.method);
    if (attempt.refused || (await throttle.isBlocked(subject))) throw new UnlatchError('TOO_MANY_ATTEMPTS');
    const now = this.deps.now();
    let result: CheckResult;
    let lastStep = 0;
    if (pending.method === 'totp') {
      const step = totpStep(pending.secret as Buffer, code, now, this.deps.gates.settings.totp);
      result = step === null ? 'wrong' : 'ok';
      lastStep = step ?? 0;
    } else {
      result = await this.deps.codes.check(pending.slot, code);
    }
    if (result !== 'ok') return { result, blocked: await throttle.failed(subject, attempt) };
    await throttle.succeeded(attempt);
    await store.addMethod(
      subject,
      {
        id: pending.id,
        method: pending.method,
        ...(pending.contact ? { contact: keys.seal(pending.contact, contactContext(subject, pending.id)) } : {}),
        ...(pending.secret ? { secret: keys.seal(pending.secret, secretContext(subject, pending.id)) } : {}),
        lastStep,
        created: now,
      },
      now,
    );
    return { result, blocked: false };
  }

  /** Replaces the person's answers: exactly `questions.register`, distinct questions and answers. */
  async setAnswers(subject: string, policy: UserPolicy, answers: Array<{ question: string; answer: string }>): Promise<void> {
    const s = this.deps.gates.settings.questions;
    if (!s.enabled || !policy.questionsAllowed) throw new UnlatchError('NOT_ALLOWED');
    const known = new Set(this.deps.gates.catalogue.map((q) => q.id));
    if (answers.length !== s.register) throw new UnlatchError('REGISTRATION_INVALID', `Answer exactly ${s.register} different questions.`);
    const questions = new Set(answers.map((a) => a.question));
    if (questions.size !== answers.length || ![...questions].every((q) => known.has(q))) {
      throw new UnlatchError('REGISTRATION_INVALID', `Answer exactly ${s.register} different questions from the list.`);
    }
    const normalised = answers.map((a) => normaliseAnswer(a.answer));
    if (normalised.some((a) => [...a].length < s.minAnswerLength)) {
      throw new UnlatchError('REGISTRATION_INVALID', `Each answer needs at least ${s.minAnswerLength} letters or digits.`);
    }
    if (new Set(normalised).size !== normalised.length) throw new UnlatchError('REGISTRATION_INVALID', 'Give a different answer to each question.');
    const pepper = this.deps.keys.key('answers');
    const hashed = await Promise.all(answers.map(async (a, i) => ({ question: a.question, hash: await hashAnswer(pepper, a.question, normalised[i] as string, s.cost) })));
    await this.deps.store.setAnswers(subject, hashed, this.deps.now());
  }

  /** Removes a registered method, or the answers (`id` "questions"). */
  async remove(subject: string, id: string): Promise<'method' | 'questions'> {
    const now = this.deps.now();
    if (id === 'questions') {
      if ((await this.deps.store.registration(subject)).answers.length === 0) throw new UnlatchError('BAD_REQUEST', 'Nothing to remove.');
      await this.deps.store.setAnswers(subject, [], now);
      return 'questions';
    }
    if (!(await this.deps.store.removeMethod(subject, id, now))) {
      throw new UnlatchError('BAD_REQUEST', id.startsWith('d') ? 'Contact data from the directory can only be changed by your help desk.' : 'Nothing to remove.');
    }
    return 'method';
  }

  confirm(subject: string): Promise<void> {
    return this.deps.store.confirm(subject, this.deps.now());
  }

  private async assertNew(subject: string, user: ContactSource, method: 'email' | 'sms' | 'voice', contact: string): Promise<void> {
    const registration = await this.deps.store.registration(subject);
    if (registration.methods.length >= this.deps.maxMethods) throw new UnlatchError('REGISTRATION_INVALID', 'You have registered as many methods as allowed. Remove one first.');
    const existing = this.deps.gates.contacts(user, registration, subject, method).map((c) => c.toLowerCase());
    if (existing.includes(contact.toLowerCase())) throw new UnlatchError('REGISTRATION_INVALID', 'That is already on file.');
  }
}

function newId(): string {
  return `r${randomBytes(9).toString('base64url')}`;
}

function digest(value: string): string {
  return createHash('sha256').update(value.toLowerCase()).digest('base64url').slice(0, 16);
}
