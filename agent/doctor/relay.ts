/**
 * Is the relay reachable, its TLS certificate trusted, and this agent's tenant secret accepted?
 *
 * Opens the agent's own connection (`/v1/agent?tenant=…` with the secret in the upgrade
 * request, as agent/link.ts does), and closes it (1000) as soon as it is open, WITHOUT sending
 * `hello`. The relay only counts, routes to, or replaces a connection once it has said hello, so
 * a running agent of the tenant is not disturbed, whatever its agent id.
 */
import WebSocket from 'ws';
import type { AgentConfig } from '../config.ts';
import { secretHash } from '../init.ts';
import { classifyNetError, explainNet, fail, pass, warn, type CheckResult } from './check.ts';

const ID = 'relay';
const TITLE = 'relay';

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

export function relayCheck(config: AgentConfig, secret: string, caPem: string | undefined, timeoutMs: number): Promise<CheckResult> {
  const base = config.relay.url.replace(/\/+$/, '');
  const u = new URL(base);
  const host = u.hostname;
  const secure = u.protocol === 'wss:';
  const port = Number(u.port || (secure ? 443 : 80));
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: CheckResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const ws = new WebSocket(`${base}/v1/agent?tenant=${encodeURIComponent(config.tenant)}`, {
      headers: { authorization: `Bearer ${secret}` },
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
      ...(caPem ? { ca: caPem } : {}),
    });
    // ws's handshakeTimeout covers the upgrade only; this covers DNS and TCP too.
    const timer = setTimeout(() => {
      ws.terminate();
      const e = explainNet('timeout', 'the relay', host, port, `${timeoutMs} ms`);
      done(fail(ID, TITLE, e.detail, `${e.fix}; if a proxy is required, the relay must be reachable through it`));
    }, timeoutMs + 500);
    ws.once('open', () => {
      ws.close(1000, 'unlatch-agent doctor');
      const detail = `${base} accepted the tenant secret of "${config.tenant}"${secure ? ' over TLS (certificate trusted)' : ''}; closed again without joining, so running agents are not disturbed`;
      if (!secure && !isLoopback(host)) {
        done(warn(ID, TITLE, `${detail}, but the connection is not encrypted (ws://)`, 'use wss:// (the relay with tls.cert/tls.key, or behind a TLS-terminating proxy)'));
      } else {
        done(pass(ID, TITLE, detail));
      }
    });
    ws.once('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      ws.terminate();
      if (status === 401 || status === 403) {
        done(
          fail(
            ID,
            TITLE,
            `the relay refused the tenant secret (HTTP ${status}) for tenant "${config.tenant}"`,
            `the relay's tenants entry "${config.tenant}" must have secretHash: "${secretHash(secret)}" (the hash of this agent's relay.secret; the secret itself never leaves the agent)`,
          ),
        );
      } else if (status === 400) {
        done(fail(ID, TITLE, `the relay rejected the request (HTTP 400): tenant "${config.tenant}" is not a valid tenant id`, 'check tenant in the agent config'));
      } else if (status === 404) {
        done(fail(ID, TITLE, `${base} answered HTTP 404: no Unlatch relay at this URL`, 'set relay.url to the relay\'s base URL (wss://host[:port], no path)'));
      } else if (status === 429) {
        done(warn(ID, TITLE, 'the relay is rate-limiting agent connections from this address (HTTP 429); try again in a minute', 'an agent reconnecting in a loop from this address uses up the budget: check the other agents\' logs'));
      } else {
        done(fail(ID, TITLE, `the relay answered HTTP ${status} to the agent's connection`, status === 503 ? 'the relay is at capacity or shutting down: check it' : 'check relay.url and the relay\'s log'));
      }
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      ws.terminate();
      const problem = classifyNetError(err.code, err.message);
      const e = explainNet(problem, 'the relay', host, port, err.message);
      const fix =
        problem === 'untrusted'
          ? config.relay.caFile
            ? `relay.caFile (${config.relay.caFile}) does not hold the CA of the relay's certificate: put that CA (PEM) in it`
            : "the relay's certificate is not from a CA this host trusts: set relay.caFile to its CA (PEM), or give the relay a publicly trusted certificate with its full chain"
          : problem === 'name_mismatch'
            ? `use the name on the relay's certificate in relay.url`
            : problem === 'not_tls'
              ? `${host}:${port} does not speak TLS: use ws:// for a plain relay in a lab, or the relay's TLS port`
              : `${e.fix}; check relay.url${problem === 'refused' || problem === 'timeout' ? ' and outbound firewall/proxy rules' : ''}`;
      done(fail(ID, TITLE, `cannot connect to ${base}: ${e.detail}`, fix));
    });
  });
}
