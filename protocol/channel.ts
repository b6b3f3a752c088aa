/**
 * A sealed, ordered, two-way channel between one client and one agent, over a relay that must
 * learn nothing and change nothing.
 *
 * Nonce = direction (1 byte) ‖ 3 zero bytes ‖ seq (uint64 BE); AAD binds tenant, session id,
 * direction and seq. Each side counts per direction and accepts only the next number, so a
 * replayed, reordered, dropped or altered frame fails to open with the one generic CryptoError.
 * A channel that failed once stays failed: the session is over.
 */
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from './bytes.ts';
import { aesGcmOpen, aesGcmSeal, CryptoError, GCM_NONCE_BYTES } from './crypto.ts';

export type Role = 'client' | 'agent';
const CLIENT_TO_AGENT = 1;
const AGENT_TO_CLIENT = 2;

/** Plaintexts are padded to a multiple of this, so frame sizes say little about the content. */
export const PAD_BLOCK = 256;

export class SealedChannel {
  private sendSeq = 0n;
  private recvSeq = 0n;
  private broken = false;
  /** Seals run strictly in call order, so frames leave in sequence order. */
  private sendChain: Promise<unknown> = Promise.resolve();
  private recvChain: Promise<unknown> = Promise.resolve();
  private readonly sendDirection: number;
  private readonly recvDirection: number;

  constructor(
    private readonly key: CryptoKey,
    private readonly tenant: string,
    private readonly sid: string,
    role: Role,
  ) {
    this.sendDirection = role === 'client' ? CLIENT_TO_AGENT : AGENT_TO_CLIENT;
    this.recvDirection = role === 'client' ? AGENT_TO_CLIENT : CLIENT_TO_AGENT;
  }

  /** Seals a JSON value; resolves to the base64url `data` of a `msg` frame. */
  seal(message: unknown): Promise<string> {
    const seq = this.sendSeq++;
    const run = this.sendChain.then(async () => {
      const plain = pad(utf8(JSON.stringify(message)));
      const sealed = await aesGcmSeal(this.key, nonce(this.sendDirection, seq), plain, this.aad(this.sendDirection, seq));
      return toBase64Url(sealed);
    });
    this.sendChain = run.catch(() => undefined);
    return run;
  }

  /** Opens the next frame from the peer. Any failure is a CryptoError and ends the channel. */
  open(data: string): Promise<unknown> {
    const seq = this.recvSeq++;
    const run = this.recvChain.then(async () => {
      if (this.broken) throw new CryptoError();
      try {
        const sealed = fromBase64Url(data);
        const plain = await aesGcmOpen(this.key, nonce(this.recvDirection, seq), sealed, this.aad(this.recvDirection, seq));
        return JSON.parse(fromUtf8(plain)) as unknown;
      } catch {
        this.broken = true;
        throw new CryptoError();
      }
    });
    this.recvChain = run.catch(() => undefined);
    return run;
  }

  private aad(direction: number, seq: bigint): Uint8Array<ArrayBuffer> {
    return utf8(`unlatch/v1|${this.tenant}|${this.sid}|${direction}|${seq}`);
  }
}

function nonce(direction: number, seq: bigint): Uint8Array<ArrayBuffer> {
  const n = new Uint8Array(GCM_NONCE_BYTES);
  n[0] = direction;
  new DataView(n.buffer).setBigUint64(4, seq, false);
  return n;
}

/** JSON ignores trailing whitespace, so spaces pad without a length field. */
function pad(bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const size = Math.ceil((bytes.length + 1) / PAD_BLOCK) * PAD_BLOCK;
  const out = new Uint8Array(size).fill(0x20);
  out.set(bytes);
  return out;
}
