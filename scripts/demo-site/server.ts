/**
 * The demo sign-in site: a small corporate sign-in page that really binds to Active Directory
 * (LDAPS simple bind with what the person typed) and, like Windows and AD FS, tells expired,
 * must-change, locked, disabled and wrong-password accounts apart by the `data NNN` code in
 * AD's bind error (80090308: LdapErr: … AcceptSecurityContext error, data 775, v…).
 *
 * It exists to show the extension at work: the banner appears over these messages. Passwords
 * are used for the bind only; nothing is logged, ever (there is no logger here at all).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, EqualityFilter, InvalidCredentialsError } from 'ldapts';

export interface DemoSiteOptions {
  /** Port on 127.0.0.1; 0 picks a free one. */
  port?: number;
  /** ldaps://host:port of a domain controller. */
  ldapsUrl: string;
  /** PEM of the CA that issued the DC's certificate. */
  caPem: string;
  /** e.g. DC=corp,DC=example — where the signed-in user's display name is looked up. */
  baseDN: string;
  /** Appended to a bare user name to form the UPN, e.g. corp.example. */
  upnSuffix: string;
  /** Shown in the header. Default "Corp". */
  companyName?: string;
}

export interface DemoSite {
  url: string;
  close(): Promise<void>;
}

/** What the page says for each AD sub-code, as Windows sign-in and AD FS word it. */
export const AD_MESSAGES: Record<string, { text: string; outcome?: 'expired' | 'must_change' | 'locked' }> = {
  '52e': { text: 'The user name or password is incorrect.' },
  '525': { text: 'The user name or password is incorrect.' },
  '530': { text: 'You cannot sign in at this time of day. Contact your administrator.' },
  '531': { text: 'You cannot sign in from this device. Contact your administrator.' },
  '532': { text: 'Your password has expired. You must change it before you can sign in.', outcome: 'expired' },
  '533': { text: 'Your account has been disabled. Contact your administrator.' },
  '701': { text: 'Your account has expired. Contact your administrator.' },
  '773': { text: 'You must change your password before signing in for the first time.', outcome: 'must_change' },
  '775': { text: 'Your account is locked. Contact your administrator, or try again later.', outcome: 'locked' },
};

/** The AD sub-code (52e, 532, 773, 775, …) in a bind error message, lower case. */
export function adSubCode(message: string): string | undefined {
  return /\bdata ([0-9a-f]{3,8})\b/i.exec(message)?.[1]?.toLowerCase();
}

const MAX_BODY = 8 * 1024;

export async function startDemoSite(options: DemoSiteOptions): Promise<DemoSite> {
  const company = options.companyName ?? 'Corp';
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, page(company, { error: { text: 'The sign-in service is not available right now.' } }));
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://demo').pathname;
    if (req.method === 'GET' && path === '/') return send(res, 200, page(company, {}));
    if (req.method === 'POST' && path === '/') {
      const form = new URLSearchParams(await body(req));
      const user = (form.get('username') ?? '').trim().slice(0, 256);
      const password = form.get('password') ?? '';
      if (!user || !password) return send(res, 400, page(company, { user, error: { text: 'Enter your user name and password.' } }));
      const result = await signIn(options, user, password);
      if ('name' in result) return send(res, 200, welcome(company, result.name, result.upn));
      return send(res, 200, page(company, { user, error: result }));
    }
    send(res, 404, page(company, { error: { text: 'Not found.' } }));
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type SignInResult = { name: string; upn: string } | { text: string; code?: string; outcome?: string };

/** Binds as the person; on success reads their display name with their own rights. */
async function signIn(options: DemoSiteOptions, user: string, password: string): Promise<SignInResult> {
  // alice → alice@corp.example; alice@corp.example and CORP\alice go to AD as typed.
  const bindName = user.includes('@') || user.includes('\\') ? user : `${user}@${options.upnSuffix}`;
  const client = new Client({ url: options.ldapsUrl, tlsOptions: { ca: [options.caPem] }, timeout: 10_000, connectTimeout: 5_000 });
  try {
    await client.bind(bindName, password);
    const filter = bindName.includes('@')
      ? new EqualityFilter({ attribute: 'userPrincipalName', value: bindName })
      : new EqualityFilter({ attribute: 'sAMAccountName', value: bindName.slice(bindName.indexOf('\\') + 1) });
    const { searchEntries } = await client.search(options.baseDN, { scope: 'sub', filter, attributes: ['displayName', 'userPrincipalName'], sizeLimit: 1 });
    const entry = searchEntries[0];
    return { name: String(entry?.['displayName'] ?? user), upn: String(entry?.['userPrincipalName'] ?? bindName) };
  } catch (err) {
    if (!(err instanceof InvalidCredentialsError)) return { text: 'The sign-in service is not available right now. Try again later.' };
    const code = adSubCode(err.message) ?? '52e';
    const known = AD_MESSAGES[code] ?? AD_MESSAGES['52e'];
    return { ...known, code } as SignInResult;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(html);
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body{margin:0;font:16px/1.5 "Segoe UI",system-ui,sans-serif;background:#eef1f5;color:#1b1f24}
header{background:#23395d;color:#fff;padding:14px 24px;font-weight:600;font-size:18px}
main{max-width:380px;margin:48px auto;background:#fff;padding:28px 32px;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:22px;margin:0 0 18px}
label{display:block;font-weight:600;margin:14px 0 4px}
input{box-sizing:border-box;width:100%;padding:8px 10px;font:inherit;border:1px solid #6b7580;border-radius:4px}
button{margin-top:20px;padding:9px 20px;font:inherit;font-weight:600;color:#fff;background:#23395d;border:0;border-radius:4px;cursor:pointer}
.error{margin:0 0 12px;padding:10px 12px;border-left:4px solid #a4161a;background:#fdf0f0}
.detail{font-size:13px;color:#4a5360;margin:4px 0 0}
.ok{padding:10px 12px;border-left:4px solid #1a6b2f;background:#eef8f0}
`;

function page(company: string, state: { user?: string; error?: { text: string; code?: string; outcome?: string } }): string {
  const error = state.error
    ? `<div id="error" class="error" role="alert"${state.error.code ? ` data-code="${esc(state.error.code)}"` : ''}>
<p style="margin:0">${esc(state.error.text)}</p>${state.error.code ? `<p class="detail">LDAP error 49 (invalid credentials), data ${esc(state.error.code)}</p>` : ''}</div>`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Sign in – ${esc(company)}</title><style>${STYLE}</style></head><body>
<header>${esc(company)}</header>
<main><h1>Sign in</h1>${error}
<form method="post" action="/" autocomplete="on">
<label for="username">User name</label><input id="username" name="username" autocomplete="username" value="${esc(state.user ?? '')}" placeholder="alice or alice@corp.example" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form></main></body></html>`;
}

function welcome(company: string, name: string, upn: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Welcome – ${esc(company)}</title><style>${STYLE}</style></head><body>
<header>${esc(company)}</header>
<main><h1>Welcome</h1><p id="signed-in" class="ok" role="status" data-upn="${esc(upn)}">Signed in as <strong>${esc(name)}</strong> (${esc(upn)}).</p>
<p><a href="/">Sign out</a></p></main></body></html>`;
}
