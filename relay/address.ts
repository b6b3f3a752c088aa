/**
 * Which address a connection comes from, for limits and logs: the socket's peer, or — behind
 * trusted reverse proxies — the hop they report in X-Forwarded-For. IPv6 addresses are grouped
 * by /64, since one host can hold a whole /64.
 */
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

/**
 * The client's address. With `trustProxy` = N, the last N hops of X-Forwarded-For were added by
 * our own proxies, so the client is the entry just before them; anything further left was
 * written by the client and is not believed.
 */
export function remoteAddress(req: IncomingMessage, trustProxy: number): string {
  const peer = normalize(req.socket.remoteAddress ?? 'unknown');
  if (trustProxy <= 0) return peer;
  const header = req.headers['x-forwarded-for'];
  const raw = Array.isArray(header) ? header.join(',') : (header ?? '');
  const chain = [
    ...raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    peer,
  ];
  const candidate = chain[Math.max(0, chain.length - 1 - trustProxy)];
  return candidate !== undefined && isIP(normalize(candidate)) ? normalize(candidate) : peer;
}

function normalize(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

/** The key limits are counted under: an IPv4 address, or the /64 of an IPv6 address. */
export function addressKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const bare = address.split('%')[0] ?? address;
  const [head = '', tail] = bare.split('::');
  const groups = (s: string | undefined): string[] =>
    s ? s.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : [];
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${all
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
