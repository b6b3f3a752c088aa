/**
 * The envelope: every frame that crosses a WebSocket between client, relay and agent
 * (docs/protocol.md). Types plus hand-written validators, shared by the relay, the agent, the
 * terminal client and the browser extension, so: no Node APIs, no dependencies.
 *
 * The validators sit on the relay's hot path, so they are JSON.parse plus direct checks, no
 * schema library. Each returns a *fresh* object holding only the known fields (never the parsed
 * object itself), so a `__proto__` or any other extra key can never travel further.
 */

/** Relay-level error codes a client may receive in an `error` frame. */
export const RELAY_ERROR_CODES = [
  'AGENT_OFFLINE',
  'POW_INVALID',
  'RATE_LIMITED',
  'SESSION_EXPIRED',
  'BAD_FRAME',
  'UNKNOWN_TENANT',
] as const;
export type RelayErrorCode = (typeof RELAY_ERROR_CODES)[number];

/** Tenant ids, as in `?tenant=` and the relay's config. */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Agent ids, as in the agent's `hello`. */
export const AGENT_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** Envelope limits, in characters of the JSON string value. */
export const ENVELOPE_LIMITS = {
  /** Whole frame text; the relay's ws `maxPayload` (64 KiB) bounds it earlier in bytes. */
  frame: 65_536,
  /** Sealed data: 48 KiB of base64url. */
  data: 49_152,
  /** 16 random bytes in base64url. */
  sid: 22,
  kid: 64,
  /** An RSA-OAEP-3072 wrapped key is 384 bytes = 512 characters; room for larger keys. */
  wk: 1024,
  /** PoW challenge (the relay's is 67 characters). */
  challenge: 128,
  /** PoW nonce: at most 32 bytes. */
  nonce: 43,
  agent: 64,
  message: 512,
  /** Key bundle parts. */
  bundlePayload: 32_768,
  bundleSig: 256,
  bundleSigningKey: 512,
  /** PoW difficulty in leading zero bits. */
  difficulty: 64,
  /** A client address (IPv4 or IPv6 literal) in a relay→agent `msg`. */
  from: 45,
} as const;

/** `{payload, sig, signingKey}`: see "Key bundle" in docs/protocol.md. All base64url. */
export interface SignedBundle {
  payload: string;
  sig: string;
  signingKey: string;
}

// ---- client ⇄ relay -------------------------------------------------------------------------

/** C→R: the proof-of-work solution; opens the session. */
export interface OpenFrame {
  t: 'open';
  challenge: string;
  nonce: string;
}
/** C→R: sealed data; the first one carries `kid` and `wk`. */
export interface ClientMsgFrame {
  t: 'msg';
  data: string;
  kid?: string;
  wk?: string;
}
export type ClientFrame = OpenFrame | ClientMsgFrame;

/** R→C: sent right after the WebSocket opens. */
export interface PowFrame {
  t: 'pow';
  challenge: string;
  difficulty: number;
}
/** R→C: the session is open. */
export interface OpenedFrame {
  t: 'opened';
  sid: string;
  bundle: SignedBundle;
}
/** R→C: an agent answer. */
export interface RelayMsgFrame {
  t: 'msg';
  data: string;
}
/** R→C: a relay-level failure; the relay closes the connection after it. */
export interface ErrorFrame {
  t: 'error';
  code: RelayErrorCode;
  message: string;
}
export type RelayToClientFrame = PowFrame | OpenedFrame | RelayMsgFrame | ErrorFrame;

// ---- agent ⇄ relay --------------------------------------------------------------------------

/** A→R: first frame of an agent connection. */
export interface HelloFrame {
  t: 'hello';
  agent: string;
  bundle: SignedBundle;
}
/** A→R: a new bundle after key rollover. */
export interface BundleFrame {
  t: 'bundle';
  bundle: SignedBundle;
}
/** A→R: an answer to one session. */
export interface AgentMsgFrame {
  t: 'msg';
  sid: string;
  data: string;
}
/** A→R (the agent ends a session) and R→A (the client went away or the session expired). */
export interface CloseFrame {
  t: 'close';
  sid: string;
}
export type AgentFrame = HelloFrame | BundleFrame | AgentMsgFrame | CloseFrame;

/** R→A: a client message, as sent, plus `sid`. */
export interface RelayToAgentMsgFrame {
  t: 'msg';
  sid: string;
  data: string;
  kid?: string;
  wk?: string;
  /**
   * The client's address as the relay saw it (after `trustProxy`), on a session's first message
   * only, and only to agents that asked for it (`from=1` on /v1/agent). Relay-asserted: the
   * agent uses it for notices, never to decide anything.
   */
  from?: string;
}
export type RelayToAgentFrame = RelayToAgentMsgFrame | CloseFrame;

// ---- validation -----------------------------------------------------------------------------

/** An envelope that fails validation. `code` is always BAD_FRAME; the message names the field. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
  readonly code = 'BAD_FRAME' as const;
}

type Obj = Record<string, unknown>;

function fail(message: string): never {
  throw new FrameError(message);
}

function parseObject(text: unknown): Obj {
  if (typeof text !== 'string') fail('frame must be a text frame');
  if (text.length > ENVELOPE_LIMITS.frame) fail(`frame is longer than ${ENVELOPE_LIMITS.frame} characters`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    fail('frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('frame must be a JSON object');
  return value as Obj;
}

function frameType(o: Obj): string {
  const t = o['t'];
  if (typeof t !== 'string') fail('field "t" must be a string');
  return t;
}

/** Every own key must be in `allowed`; JSON.parse makes `__proto__` an own key, so it fails here. */
function onlyKeys(o: Obj, t: string, allowed: readonly string[]): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) fail(`field "${key.length > 32 ? `${key.slice(0, 32)}…` : key}" is not allowed in a "${t}" frame`);
  }
}

function isB64uChar(c: number): boolean {
  // A-Z a-z 0-9 - _
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95;
}

/** Unpadded base64url of at least `min` and at most `max` characters. */
function b64u(o: Obj, field: string, min: number, max: number): string {
  const v = o[field];
  if (typeof v !== 'string') fail(`field "${field}" must be a string`);
  if (v.length < min || v.length > max) {
    fail(min === max ? `field "${field}" must be ${min} characters` : `field "${field}" must be ${min}..${max} characters`);
  }
  // A length of 4n+1 never comes out of base64url encoding.
  if (v.length % 4 === 1) fail(`field "${field}" is not valid base64url`);
  for (let i = 0; i < v.length; i++) {
    if (!isB64uChar(v.charCodeAt(i))) fail(`field "${field}" is not valid base64url`);
  }
  return v;
}

function optionalB64u(o: Obj, field: string, max: number): string | undefined {
  return o[field] === undefined ? undefined : b64u(o, field, 1, max);
}

/** 1..max printable ASCII characters (no spaces, no control characters). */
function token(o: Obj, field: string, max: number): string {
  const v = o[field];
  if (typeof v !== 'string') fail(`field "${field}" must be a string`);
  if (v.length < 1 || v.length > max) fail(`field "${field}" must be 1..${max} characters`);
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) fail(`field "${field}" must be printable ASCII`);
  }
  return v;
}

function sid(o: Obj): string {
  return b64u(o, 'sid', ENVELOPE_LIMITS.sid, ENVELOPE_LIMITS.sid);
}

function data(o: Obj): string {
  return b64u(o, 'data', 1, ENVELOPE_LIMITS.data);
}

function bundle(o: Obj): SignedBundle {
  const v = o['bundle'];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('field "bundle" must be an object');
  const b = v as Obj;
  for (const key of Object.keys(b)) {
    if (key !== 'payload' && key !== 'sig' && key !== 'signingKey') fail('field "bundle" has keys other than payload, sig, signingKey');
  }
  return {
    payload: b64u(b, 'payload', 1, ENVELOPE_LIMITS.bundlePayload),
    sig: b64u(b, 'sig', 1, ENVELOPE_LIMITS.bundleSig),
    signingKey: b64u(b, 'signingKey', 1, ENVELOPE_LIMITS.bundleSigningKey),
  };
}

/** kid and wk travel together: both or neither. */
function wrappedKey(o: Obj): { kid: string; wk: string } | undefined {
  if (o['kid'] === undefined && o['wk'] === undefined) return undefined;
  if (o['kid'] === undefined || o['wk'] === undefined) fail('fields "kid" and "wk" must come together');
  return { kid: token(o, 'kid', ENVELOPE_LIMITS.kid), wk: b64u(o, 'wk', 1, ENVELOPE_LIMITS.wk) };
}

/** An IPv4 or IPv6 literal: hex digits, dots and colons only (so nothing else can ride along). */
function clientAddress(o: Obj): string {
  const v = o['from'];
  if (typeof v !== 'string' || v.length < 2 || v.length > ENVELOPE_LIMITS.from || !/^[0-9A-Fa-f.:]+$/.test(v) || !/[.:]/.test(v)) {
    fail('field "from" must be an IP address');
  }
  return v;
}

/** A frame a client sends to the relay: `open` or `msg`. */
export function parseClientFrame(text: string): ClientFrame {
  const o = parseObject(text);
  const t = frameType(o);
  switch (t) {
    case 'open':
      onlyKeys(o, t, ['t', 'challenge', 'nonce']);
      return { t, challenge: b64u(o, 'challenge', 1, ENVELOPE_LIMITS.challenge), nonce: b64u(o, 'nonce', 1, ENVELOPE_LIMITS.nonce) };
    case 'msg': {
      onlyKeys(o, t, ['t', 'data', 'kid', 'wk']);
      const frame: ClientMsgFrame = { t, data: data(o) };
      const wrapped = wrappedKey(o);
      if (wrapped) {
        frame.kid = wrapped.kid;
        frame.wk = wrapped.wk;
      }
      return frame;
    }
    default:
      return fail('field "t" must be "open" or "msg"');
  }
}

/** A frame the relay sends to a client: `pow`, `opened`, `msg` or `error`. */
export function parseRelayToClientFrame(text: string): RelayToClientFrame {
  const o = parseObject(text);
  const t = frameType(o);
  switch (t) {
    case 'pow': {
      onlyKeys(o, t, ['t', 'challenge', 'difficulty']);
      const difficulty = o['difficulty'];
      if (typeof difficulty !== 'number' || !Number.isInteger(difficulty) || difficulty < 0 || difficulty > ENVELOPE_LIMITS.difficulty) {
        fail(`field "difficulty" must be an integer 0..${ENVELOPE_LIMITS.difficulty}`);
      }
      return { t, challenge: b64u(o, 'challenge', 1, ENVELOPE_LIMITS.challenge), difficulty };
    }
    case 'opened':
      onlyKeys(o, t, ['t', 'sid', 'bundle']);
      return { t, sid: sid(o), bundle: bundle(o) };
    case 'msg':
      onlyKeys(o, t, ['t', 'data']);
      return { t, data: data(o) };
    case 'error': {
      onlyKeys(o, t, ['t', 'code', 'message']);
      const code = o['code'];
      if (typeof code !== 'string' || !(RELAY_ERROR_CODES as readonly string[]).includes(code)) {
        fail(`field "code" must be one of ${RELAY_ERROR_CODES.join(', ')}`);
      }
      const message = o['message'];
      if (typeof message !== 'string' || message.length > ENVELOPE_LIMITS.message) {
        fail(`field "message" must be a string of at most ${ENVELOPE_LIMITS.message} characters`);
      }
      return { t, code: code as RelayErrorCode, message };
    }
    default:
      return fail('field "t" must be "pow", "opened", "msg" or "error"');
  }
}

/** A frame an agent sends to the relay: `hello`, `bundle`, `msg` or `close`. */
export function parseAgentFrame(text: string): AgentFrame {
  const o = parseObject(text);
  const t = frameType(o);
  switch (t) {
    case 'hello': {
      onlyKeys(o, t, ['t', 'agent', 'bundle']);
      const agent = o['agent'];
      if (typeof agent !== 'string' || !AGENT_ID_PATTERN.test(agent)) fail('field "agent" must be 1..64 characters of A-Z a-z 0-9 . _ -');
      return { t, agent, bundle: bundle(o) };
    }
    case 'bundle':
      onlyKeys(o, t, ['t', 'bundle']);
      return { t, bundle: bundle(o) };
    case 'msg':
      onlyKeys(o, t, ['t', 'sid', 'data']);
      return { t, sid: sid(o), data: data(o) };
    case 'close':
      onlyKeys(o, t, ['t', 'sid']);
      return { t, sid: sid(o) };
    default:
      return fail('field "t" must be "hello", "bundle", "msg" or "close"');
  }
}

/** A frame the relay sends to an agent: `msg` (with `sid`, maybe `kid`/`wk`) or `close`. */
export function parseRelayToAgentFrame(text: string): RelayToAgentFrame {
  const o = parseObject(text);
  const t = frameType(o);
  switch (t) {
    case 'msg': {
      onlyKeys(o, t, ['t', 'sid', 'data', 'kid', 'wk', 'from']);
      const frame: RelayToAgentMsgFrame = { t, sid: sid(o), data: data(o) };
      const wrapped = wrappedKey(o);
      if (wrapped) {
        frame.kid = wrapped.kid;
        frame.wk = wrapped.wk;
      }
      if (o['from'] !== undefined) frame.from = clientAddress(o);
      return frame;
    }
    case 'close':
      onlyKeys(o, t, ['t', 'sid']);
      return { t, sid: sid(o) };
    default:
      return fail('field "t" must be "msg" or "close"');
  }
}
