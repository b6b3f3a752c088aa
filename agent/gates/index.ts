/**
 * The gates: the only code that decides whether a person has proven who they are. It offers
 * each person their checks (from directory attributes the admin maps, and from their own
 * registration), sends codes only to contact data on file, checks codes, authenticator codes
 * and answers under the throttles, and answers people we can't help with decoys that cost the
 * same work and look the same.
 *
 * The session flow (agent/session/flow.ts) holds the per-session state (which gates were
 * offered, sent, passed) and asks this module every question about identity.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { UnlatchError } from '../../protocol/errors.ts';
import type { GateMethod } from '../../protocol/messages.ts';
import type { EventFields, EventName } from '../events.ts';
import type { AgentStore, Registration } from '../store/index.ts';
import type { StoreKeys } from '../store/keys.ts';
import type { OneTimeCodes } from './codes.ts';
import { decoyBytes, decoyEmailHint } from './decoy.ts';
import { maskEmail, maskPhone } from './mask.ts';
import { countryAllowed, parsePhone } from './phone.ts';
import { kindOf, policyFor, satisfiable, type GateKind, type PolicySettings, type UserPolicy } from './policy.ts';
import { answerMatches, normaliseAnswer, questionCatalogue, questionText, type QuestionDef } from './questions.ts';
import type { Throttle } from './throttle.ts';
import { newTotpSecret, totpStep, type TotpSettings } from './totp.ts';

export interface CodeMethodSettings {
  enabled: boolean;
  codeDigits: number;
  ttlMs: number;
  resendAfterSeconds: number;
  /** Directory attributes whose values are this method's contact data. */
  attributes: string[];
  /** People may register their own contact data for it. */
  registration: boolean;
}

export interface GateSettings extends PolicySettings {
  email: CodeMethodSettings;
  sms: CodeMethodSettings;
  voice: CodeMethodSettings;
  totp: TotpSettings & { enabled: boolean };
  questions: {
    enabled: boolean;
    /** How many a person registers. */
    register: number;
    /** How many they answer at a reset. */
    answer: number;
    minAnswerLength: number;
    /** log2 of scrypt's N. */
    cost: number;
    builtIn: boolean;
    custom: QuestionDef[];
  };
  phone: { countries: string[]; defaultCountry: string | undefined; dailyCap: number };
  /** Domain of decoy e-mail hints. */
  mailDomain: string;
  /** Sealed values a person may have (registered methods); the offer opens this many for everyone. */
  maxSealed: number;
}

/** What the gates need to know about a person from the directory. */
export interface ContactSource {
  mail: string[];
  mobile?: string | undefined;
  telephoneNumber?: string | undefined;
  otherMailbox?: string[] | undefined;
  /** Extra attributes read for the admin's mapping. */
  attributes?: Record<string, string[]> | undefined;
  privileged?: boolean | undefined;
}

/** One offered check, as the session keeps it. Only id, method and hint ever reach the client. */
export interface Gate {
  id: string;
  method: GateMethod;
  kind: GateKind;
  hint: string;
  /** Address or E.164 number for code methods; undefined for decoys. */
  contact?: string;
  /** Where the code's digest is kept. */
  slot: string;
  totp?: { id: string; secret: Buffer };
  /** Question ids asked (questions gate), fixed per person. */
  questions?: string[];
  /** Stored answer hashes by question id (real questions gates). */
  answers?: Map<string, Buffer>;
  decoy: boolean;
  sent: boolean;
  lastSent: number;
}

export interface Offer {
  gates: Gate[];
  policy: UserPolicy;
  /** Nothing here can ever be passed: the person is unknown, out of scope or not registered enough. */
  decoy: boolean;
}

export interface SendResult {
  resendAfter: number;
  questions?: Array<{ id: string; text: string }>;
  /** Hands the code to SMTP or the SMS gateway; the caller runs it after answering. */
  deliver?: () => Promise<void>;
}

export type CheckResult = 'ok' | 'wrong' | 'expired' | 'replayed';

export interface Delivery {
  email(to: string, code: string, ttlMinutes: number, locale: string | undefined): Promise<void>;
  phone(channel: 'sms' | 'voice', to: string, code: string, ttlMinutes: number, locale: string | undefined): Promise<void>;
}

export interface GatesDeps {
  store: AgentStore;
  keys: StoreKeys;
  codes: OneTimeCodes;
  throttle: Throttle;
  delivery: Delivery;
  settings: GateSettings;
  emit: (name: EventName, fields: EventFields) => void;
  now: () => number;
}

const CODE_METHODS = ['email', 'sms', 'voice'] as const;
const NOBODY: ContactSource = { mail: [] };
const PAD_IDS = Array.from({ length: 16 }, (_, i) => `pad-${i}`);
type CodeMethod = (typeof CODE_METHODS)[number];
const MAX_GATES = 16;
const DAY_MS = 86_400_000;
const TOTP_HINT = 'authenticator app';
const QUESTIONS_HINT = 'security questions';

export class Gates {
  readonly catalogue: QuestionDef[];

  constructor(private readonly deps: GatesDeps) {
    this.catalogue = questionCatalogue(deps.settings.questions.custom, deps.settings.questions.builtIn);
    this.dummySealed = deps.keys.seal(Buffer.alloc(20), 'pad');
  }

  get settings(): GateSettings {
    return this.deps.settings;
  }

  policy(privileged: boolean): UserPolicy {
    return policyFor(this.deps.settings, privileged);
  }

  /** Methods switched on, in display order. */
  enabledMethods(policy?: UserPolicy): GateMethod[] {
    const s = this.deps.settings;
    const out: GateMethod[] = [];
    for (const m of CODE_METHODS) if (s[m].enabled) out.push(m);
    if (s.totp.enabled) out.push('totp');
    if (s.questions.enabled && (policy?.questionsAllowed ?? true)) out.push('questions');
    return out;
  }

  /**
   * The checks offered to a person. `user` null (unknown or out of scope) and a person whose
   * checks can't satisfy the policy both get decoys; both paths read the store, so they cost
   * the same.
   */
  async offer(subject: string, user: ContactSource | null, typedId: string): Promise<Offer> {
    const registration = await this.deps.store.registration(subject);
    // Both offers are always built, and the work that depends on how much a person registered is
    // padded to a constant: which one is used must not show in the time the answer takes.
    const policy = this.policy(user?.privileged === true);
    const gates = this.realGates(subject, user ?? NOBODY, registration, policy);
    const decoy = this.decoyOffer(subject, typedId);
    this.padWork(registration);
    if (user && satisfiable(policy.required, new Set(gates.map((g) => g.kind)))) return { gates, policy, decoy: false };
    return { ...decoy, decoy: true };
  }

  /** Opens dummy sealed values and ranks dummy questions, up to what a fully registered person costs. */
  private padWork(registration: Registration): void {
    const sealed = registration.methods.filter((m) => m.contact || m.secret).length;
    for (let i = sealed; i < this.deps.settings.maxSealed; i++) this.deps.keys.open(this.dummySealed, 'pad');
    if (registration.answers.length < this.deps.settings.questions.register) {
      this.pick(PAD_IDS.slice(0, this.deps.settings.questions.register), this.deps.settings.questions.answer, this.deps.keys.key('decoy'));
    }
  }

  private readonly dummySealed: Buffer;

  /** The person's registration as stored. */
  registrationOf(subject: string): Promise<Registration> {
    return this.deps.store.registration(subject);
  }

  /** Contact data on file for a method: mapped directory attributes, then verified registrations. */
  contacts(user: ContactSource, registration: Registration, subject: string, method: CodeMethod): string[] {
    const s = this.deps.settings[method];
    const out: string[] = [];
    const add = (value: string | undefined) => {
      if (!value) return;
      const v = method === 'email' ? normaliseEmail(value) : this.usablePhone(value);
      if (v && !out.includes(v)) out.push(v);
    };
    for (const attribute of s.attributes) for (const value of attributeValues(user, attribute)) add(value);
    for (const m of registration.methods) {
      if (!m.contact) continue;
      const phone = m.method === 'sms' || m.method === 'voice';
      if ((method === 'email' && m.method === 'email') || (method !== 'email' && phone)) {
        add(this.deps.keys.open(m.contact, contactContext(subject, m.id)).toString('utf8'));
      }
    }
    return out;
  }

  /** E.164 when the number is valid and its country allowed, else undefined (never offered). */
  usablePhone(raw: string): string | undefined {
    const { countries, defaultCountry } = this.deps.settings.phone;
    const parsed = parsePhone(raw, defaultCountry);
    return parsed && countryAllowed(parsed, countries) ? parsed.e164 : undefined;
  }

  /** The kinds of check the person could pass today. */
  kindsOnFile(subject: string, user: ContactSource, registration: Registration, policy: UserPolicy): Set<GateKind> {
    return new Set(this.realGates(subject, user, registration, policy).map((g) => g.kind));
  }

  private realGates(subject: string, user: ContactSource, registration: Registration, policy: UserPolicy): Gate[] {
    const s = this.deps.settings;
    const gates: Gate[] = [];
    for (const method of CODE_METHODS) {
      if (!s[method].enabled) continue;
      for (const contact of this.contacts(user, registration, subject, method)) {
        gates.push(this.gate(method, method === 'email' ? maskEmail(contact) : maskPhone(contact), {
          contact,
          slot: `code|${subject}|${method}|${digest(contact)}`,
        }));
      }
    }
    if (s.totp.enabled) {
      for (const m of registration.methods) {
        if (m.method !== 'totp' || !m.secret) continue;
        const secret = this.deps.keys.open(m.secret, secretContext(subject, m.id));
        gates.push(this.gate('totp', TOTP_HINT, { slot: `totp|${subject}|${m.id}`, totp: { id: m.id, secret } }));
        break;
      }
    }
    if (s.questions.enabled && policy.questionsAllowed) {
      const known = new Set(this.catalogue.map((q) => q.id));
      const answers = new Map(registration.answers.filter((a) => known.has(a.question)).map((a) => [a.question, a.hash]));
      if (answers.size >= s.questions.answer) {
        const asked = this.pick([...answers.keys()].sort(), s.questions.answer, decoyBytes(this.deps.keys.key('decoy'), subject, 'questions'));
        gates.push(this.gate('questions', QUESTIONS_HINT, { slot: `questions|${subject}`, questions: asked, answers }));
      }
    }
    return gates.slice(0, MAX_GATES);
  }

  /** A plausible offer derived from the typed id: what a real person with some methods would see. */
  private decoyOffer(subject: string, typedId: string): { gates: Gate[]; policy: UserPolicy } {
    const s = this.deps.settings;
    const key = this.deps.keys.key('decoy');
    const h = decoyBytes(key, typedId, 'offer');
    const byte = (i: number) => h[i] as number;
    const privileged = s.privileged.required > s.required && byte(0) % 8 === 0;
    const policy = this.policy(privileged);
    const kinds = new Set<GateKind>();
    if (s.email.enabled) kinds.add('email');
    if ((s.sms.enabled || s.voice.enabled) && byte(1) % 2 === 0) kinds.add('phone');
    if (s.totp.enabled && byte(2) % 4 === 0) kinds.add('totp');
    if (s.questions.enabled && policy.questionsAllowed && byte(3) % 2 === 0) kinds.add('questions');
    for (const k of ['phone', 'totp', 'email'] as const) {
      if (satisfiable(policy.required, kinds)) break;
      const on = k === 'phone' ? s.sms.enabled || s.voice.enabled : k === 'totp' ? s.totp.enabled : s.email.enabled;
      if (on) kinds.add(k);
    }
    const gates: Gate[] = [];
    const slot = (method: string) => `decoy|${subject}|${method}`;
    if (kinds.has('email')) gates.push(this.gate('email', decoyEmailHint(key, typedId, s.mailDomain), { slot: slot('email'), decoy: true }));
    const phoneHint = `•••••${String(byte(4) % 100).padStart(2, '0')}`;
    if (kinds.has('phone')) {
      if (s.sms.enabled) gates.push(this.gate('sms', phoneHint, { slot: slot('sms'), decoy: true }));
      if (s.voice.enabled) gates.push(this.gate('voice', phoneHint, { slot: slot('voice'), decoy: true }));
    }
    if (kinds.has('totp')) {
      gates.push(this.gate('totp', TOTP_HINT, { slot: slot('totp'), decoy: true, totp: { id: 'decoy', secret: h.subarray(8, 28) } }));
    }
    if (kinds.has('questions')) {
      const ids = this.pick(this.catalogue.map((q) => q.id).sort(), s.questions.answer, decoyBytes(key, typedId, 'questions'));
      gates.push(this.gate('questions', QUESTIONS_HINT, { slot: slot('questions'), decoy: true, questions: ids, answers: new Map() }));
    }
    return { gates, policy };
  }

  private gate(method: GateMethod, hint: string, extra: Partial<Gate> & { slot: string }): Gate {
    return { id: randomBytes(9).toString('base64url'), method, kind: kindOf(method), hint, decoy: false, sent: false, lastSent: 0, ...extra };
  }

  /** `count` of `ids`, in an order fixed by `seed` (the same questions every time for one person). */
  private pick(ids: string[], count: number, seed: Buffer): string[] {
    return ids
      .map((id) => ({ id, rank: createHmac('sha256', seed).update(id).digest().readUInt32BE(0) }))
      .sort((a, b) => a.rank - b.rank)
      .slice(0, count)
      .map((x) => x.id);
  }

  /** Starts a check: sends a code (or, for questions, returns them). */
  async send(subject: string, gate: Gate, locale: string | undefined): Promise<SendResult> {
    const now = this.deps.now();
    if (gate.method === 'questions' || gate.method === 'totp') {
      gate.sent = true;
      if (gate.method === 'totp') return { resendAfter: 0 };
      const byId = new Map(this.catalogue.map((q) => [q.id, q]));
      const questions = (gate.questions ?? []).map((id) => ({ id, text: byId.get(id) ? questionText(byId.get(id) as QuestionDef, locale) : id }));
      return { resendAfter: 0, questions };
    }
    const method = gate.method;
    const s = this.deps.settings[method];
    const wait = gate.lastSent + s.resendAfterSeconds * 1000 - now;
    if (wait > 0) throw new UnlatchError('RATE_LIMITED', `Please wait ${Math.ceil(wait / 1000)} seconds before asking for a new code.`);
    if (!(await this.deps.throttle.allowSend(subject))) throw new UnlatchError('RATE_LIMITED', 'Too many codes were sent this hour. Please try again later.');
    if (method !== 'email') await this.takeFromDailyCap(gate.decoy, method);
    gate.lastSent = now;
    gate.sent = true;
    const code = await this.deps.codes.issue(gate.slot, s.codeDigits, s.ttlMs);
    const ttlMinutes = Math.round(s.ttlMs / 60_000);
    const to = gate.contact;
    const result: SendResult = { resendAfter: s.resendAfterSeconds };
    if (!gate.decoy && to) {
      result.deliver = () =>
        method === 'email' ? this.deps.delivery.email(to, code, ttlMinutes, locale) : this.deps.delivery.phone(method, to, code, ttlMinutes, locale);
    }
    return result;
  }

  /** SMS and calls cost money: at most `phone.dailyCap` per tenant per UTC day. Decoys are refused alike once it is reached. */
  async takeFromDailyCap(decoy: boolean, method: 'sms' | 'voice'): Promise<void> {
    const now = this.deps.now();
    const cap = this.deps.settings.phone.dailyCap;
    const name = `phone-day:${Math.floor(now / DAY_MS)}`;
    const ok = decoy ? (await this.deps.store.counterValue(name, now)) < cap : cap > 0 && (await this.deps.store.addToCounter(name, cap, now, (Math.floor(now / DAY_MS) + 1) * DAY_MS));
    if (ok) return;
    if (!decoy) this.deps.emit('GateSendRefused', { method, why: 'daily_cap' });
    throw new UnlatchError('SEND_UNAVAILABLE');
  }

  /** Checks a code or an authenticator code, counted against the throttle before it is checked. */
  async verifyCode(subject: string, gate: Gate, code: string): Promise<{ result: CheckResult; blocked: boolean }> {
    const attempt = await this.counted(subject, gate.method);
    let result: CheckResult;
    if (gate.totp) {
      const step = totpStep(gate.totp.secret, code, this.deps.now(), this.deps.settings.totp);
      if (step === null || gate.decoy) result = 'wrong';
      else result = (await this.deps.store.advanceTotpStep(subject, gate.totp.id, step)) ? 'ok' : 'replayed';
    } else {
      result = await this.deps.codes.check(gate.slot, code);
      if (gate.decoy && result === 'ok') result = 'wrong';
    }
    return this.settle(subject, attempt, result);
  }

  /** Checks answers to the questions sent; all must match. Always one scrypt per question. */
  async verifyAnswers(subject: string, gate: Gate, answers: string[]): Promise<{ result: CheckResult; blocked: boolean }> {
    const asked = gate.questions ?? [];
    if (answers.length !== asked.length) throw new UnlatchError('BAD_REQUEST', `Answer all ${asked.length} questions.`);
    const attempt = await this.counted(subject, 'questions');
    const pepper = this.deps.keys.key('answers');
    const cost = this.deps.settings.questions.cost;
    const matches = await Promise.all(
      asked.map((q, i) => answerMatches(pepper, q, normaliseAnswer(answers[i] as string), gate.answers?.get(q), cost)),
    );
    return this.settle(subject, attempt, matches.every(Boolean) && !gate.decoy ? 'ok' : 'wrong');
  }

  /** Counts the try first (so parallel tries all count), then refuses it when over the limit or blocked. */
  private async counted(subject: string, method: string) {
    const attempt = await this.deps.throttle.attempt(subject, method);
    if (attempt.refused || (await this.deps.throttle.isBlocked(subject))) throw new UnlatchError('TOO_MANY_ATTEMPTS');
    return attempt;
  }

  private async settle(subject: string, attempt: Awaited<ReturnType<Throttle['attempt']>>, result: CheckResult) {
    if (result === 'ok') {
      await this.deps.throttle.succeeded(attempt);
      return { result, blocked: false };
    }
    return { result, blocked: await this.deps.throttle.failed(subject, attempt) };
  }

  /** A fresh TOTP secret for a registration. */
  newTotpSecret(): Buffer {
    return newTotpSecret();
  }
}

/** Values of a directory attribute (case-insensitive name) from the user the directory read. */
export function attributeValues(user: ContactSource, attribute: string): string[] {
  switch (attribute.toLowerCase()) {
    case 'mail':
      return user.mail;
    case 'mobile':
      return user.mobile ? [user.mobile] : [];
    case 'telephonenumber':
      return user.telephoneNumber ? [user.telephoneNumber] : [];
    case 'othermailbox':
      return user.otherMailbox ?? [];
    default: {
      const attrs = user.attributes ?? {};
      const key = Object.keys(attrs).find((k) => k.toLowerCase() === attribute.toLowerCase());
      return key ? (attrs[key] ?? []) : [];
    }
  }
}

export function normaliseEmail(value: string): string | undefined {
  const v = value.trim();
  return /^[^\s@<>()",;:\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/.test(v) && v.length <= 254 ? v : undefined;
}

/** AES-GCM contexts: a sealed value only opens for the person and registration it was made for. */
export function contactContext(subject: string, id: string): string {
  return `contact|${subject}|${id}`;
}
export function secretContext(subject: string, id: string): string {
  return `totp|${subject}|${id}`;
}

function digest(value: string): string {
  return createHash('sha256').update(value.toLowerCase()).digest('base64url').slice(0, 16);
}
