/** A tiny HTTP server on loopback serving hand-written sign-in pages for the banner tests. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PageServer {
  origin: string;
  close(): Promise<void>;
}

export async function servePages(pages: Record<string, string>): Promise<PageServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const html = pages[path];
    res.writeHead(html === undefined ? 404 : 200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A sign-in page with a user-name field, a password field and an error message. */
export function signInPage(message: string, user = 'alice', extra = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head><body>
<main><h1>Sign in</h1><div id="error">${message}</div>
<form><label for="username">User</label><input id="username" name="username" value="${user}">
<label for="password">Password</label><input id="password" name="password" type="password" value="secret-Pa55">
<button>Sign in</button></form>${extra}</main></body></html>`;
}
