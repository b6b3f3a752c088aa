/**
 * A stand-in SMS/voice provider on loopback: a real HTTP server that receives the agent's JSON
 * webhook (agent/notify/phone.ts) and keeps each request, so tests read codes from "texts" the
 * way a person would read their phone.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedText {
  /** The parsed JSON body the agent sent. */
  body: Record<string, unknown>;
  headers: IncomingMessage['headers'];
  method: string;
  raw: string;
}

export interface SmsCatcher {
  url: string;
  /** The bearer token the stack's gateway config sends (from a secret file). */
  token: string;
  texts: ReceivedText[];
  /** HTTP status the gateway answers with (default 200). */
  status: number;
  /** The first text to `to` received after index `since`. */
  waitFor(to: string, options?: { since?: number; timeoutMs?: number }): Promise<ReceivedText>;
  /** The code in the newest text to `to` (spoken codes "1 2 3 …" are joined). */
  codeFor(to: string, options?: { since?: number; timeoutMs?: number }): Promise<string>;
  close(): Promise<void>;
}

export async function startSmsCatcher(token: string): Promise<SmsCatcher> {
  const texts: ReceivedText[] = [];
  const listeners = new Set<() => void>();
  const catcher: SmsCatcher = {
    url: '',
    token,
    texts,
    status: 200,
    waitFor(to, options = {}) {
      const since = options.since ?? 0;
      const find = () => texts.slice(since).find((t) => t.body['to'] === to);
      return new Promise((resolve, reject) => {
        const hit = find();
        if (hit) return resolve(hit);
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no text to ${to} within ${options.timeoutMs ?? 10_000} ms`));
        }, options.timeoutMs ?? 10_000);
        const check = () => {
          const t = find();
          if (!t) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve(t);
        };
        listeners.add(check);
      });
    },
    async codeFor(to, options = {}) {
      const text = await catcher.waitFor(to, options);
      const message = String(text.body['text'] ?? '');
      const code = /\b(\d(?: ?\d){7,11})\b/.exec(message)?.[1]?.replace(/ /g, '');
      if (!code) throw new Error(`text to ${to} holds no code: ${message}`);
      return code;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        // kept as raw
      }
      if (catcher.status >= 200 && catcher.status < 300) texts.push({ body, headers: req.headers, method: req.method ?? '', raw });
      res.writeHead(catcher.status, { 'content-type': 'application/json' });
      res.end('{}');
      listeners.forEach((l) => l());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  catcher.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/messages`;
  return catcher;
}
