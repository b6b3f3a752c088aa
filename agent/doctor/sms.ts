/**
 * Is the SMS/voice gateway (`gates.phone.gateway.url`) reachable, its certificate trusted? One
 * HEAD request without credentials: any HTTP answer (405 and 401 included: the real send is a
 * POST with the secret) proves the network path and TLS. Nothing is sent to anybody.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AgentConfig } from '../config.ts';
import { classifyNetError, explainNet, fail, pass, skip, warn, type CheckResult } from './check.ts';

const ID = 'sms';
const TITLE = 'SMS gateway';

interface GatewaySettings {
  url: string;
  caFile?: string | undefined;
}

/** The gateway settings when the config has them (the phone gates are optional). */
export function smsGateway(config: AgentConfig): GatewaySettings | undefined {
  const gates = config.gates as { phone?: { gateway?: GatewaySettings } };
  return gates.phone?.gateway;
}

export function smsCheck(gateway: GatewaySettings | undefined, caPem: string | undefined, timeoutMs: number): Promise<CheckResult> {
  if (!gateway) return Promise.resolve(skip(ID, TITLE, 'no SMS/voice gateway configured (gates.phone.gateway): not checked', true));
  const u = new URL(gateway.url);
  const secure = u.protocol === 'https:';
  const port = Number(u.port || (secure ? 443 : 80));
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: CheckResult) => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    const req = (secure ? httpsRequest : httpRequest)(
      u,
      { method: 'HEAD', timeout: timeoutMs, ...(secure && caPem ? { ca: caPem } : {}) },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        const detail = `${u.origin} answered HTTP ${status} to HEAD${secure ? ' over TLS (certificate trusted)' : ''}`;
        if (status >= 500) done(warn(ID, TITLE, `${detail}: the gateway reports a server error`, 'check the gateway\'s status page or its operator'));
        else done(pass(ID, TITLE, `${detail}: reachable`));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const problem = classifyNetError(err.code, err.message);
      const e = explainNet(problem, 'the SMS gateway', u.hostname, port, err.message);
      const fix = problem === 'untrusted' ? "set gates.phone.gateway.caFile to the CA (PEM) of the gateway's certificate, if it is a private one" : `${e.fix} (gates.phone.gateway.url)`;
      done(fail(ID, TITLE, e.detail, fix));
    });
    req.end();
  });
}
