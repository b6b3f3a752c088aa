/**
 * Events to syslog: with `log.syslog`, every log line and event also goes out as an RFC 5424
 * message (UDP or TCP) to a syslog server — here a real socket on loopback — with secrets
 * redacted before the line leaves the process.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { parseAgentConfig } from '../../agent/config.ts';
import { EventLog } from '../../agent/events.ts';
import { createLogger } from '../../agent/log.ts';
import { syslogCheck } from '../../agent/doctor/syslog.ts';
import { waitFor } from '../support/wait.ts';

const quiet = { write: () => undefined };

describe('Events to syslog', function () {
  this.timeout(30_000);
  let udp: Socket | undefined;
  let tcp: Server | undefined;
  after(() => {
    udp?.close();
    tcp?.close();
  });

  it('sends each event as RFC 5424 over UDP with the configured facility, secrets redacted', async () => {
    const received: string[] = [];
    udp = createSocket('udp4');
    udp.on('message', (m) => received.push(m.toString('utf8')));
    udp.bind(0, '127.0.0.1');
    await once(udp, 'listening');
    const port = (udp.address() as AddressInfo).port;
    const config = parseAgentConfig(MINIMAL(port, 'udp', 10));
    const log = createLogger('info', quiet, config.log.syslog);
    new EventLog(log).emit('PasswordResetSuccess', { sid: 'sid-1', user: 'CN=Alice,DC=corp,DC=example', password: 'Hunter2!secret' });

    const line = await waitFor(() => received.find((m) => m.includes('"event":31002')), 10_000);
    // <PRI>1 TIMESTAMP HOST APP-NAME PROCID …: authpriv (10) × 8 + info (6) = 86.
    assert.match(line, /^<86>1 \d{4}-\d{2}-\d{2}T\S+ \S+ unlatch-agent \d+ /);
    assert.ok(line.includes('"eventName":"PasswordResetSuccess"'));
    assert.ok(line.includes('CN=Alice'));
    assert.ok(!line.includes('Hunter2!secret'), 'a secret reached syslog');
  });

  it('sends over TCP too', async () => {
    let text = '';
    tcp = createServer((socket) => socket.on('data', (d: Buffer) => (text += d.toString('utf8'))));
    tcp.listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    const config = parseAgentConfig(MINIMAL((tcp.address() as AddressInfo).port, 'tcp', 16));
    new EventLog(createLogger('info', quiet, config.log.syslog)).emit('KeysRotated', { kid: 'k-2' });
    const line = await waitFor(() => text.split('\n').find((l) => l.includes('"event":31040')), 10_000);
    assert.match(line, /^<134>1 /); // local0 (16) × 8 + info (6)
  });

  it('unlatch-agent doctor checks the syslog server: TCP accepts, refused, UDP unconfirmable, unresolvable, not configured', async () => {
    const listening = (tcp as Server).address() as AddressInfo;
    const target = (port: number, protocol: 'udp' | 'tcp', host = '127.0.0.1') => ({ host, port, protocol, facility: 16 });
    const ok = await syslogCheck(target(listening.port, 'tcp'), 2000);
    assert.equal(ok.level, 'ok', ok.detail);
    assert.match(ok.detail, new RegExp(`TCP 127\\.0\\.0\\.1:${listening.port} accepts connections`));
    // A port nobody listens on: named, with the fix.
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const closedPort = (closed.address() as AddressInfo).port;
    closed.close();
    const refused = await syslogCheck(target(closedPort, 'tcp'), 2000);
    assert.equal(refused.ok, false);
    assert.match(refused.detail, /connection refused/);
    assert.match(refused.fix ?? '', /syslog server/);
    const udpCheck = await syslogCheck(target(514, 'udp'), 2000);
    assert.equal(udpCheck.level, 'warn');
    assert.ok(udpCheck.ok);
    const unresolvable = await syslogCheck(target(514, 'udp', 'no-such-host.invalid'), 2000);
    assert.equal(unresolvable.ok, false);
    assert.match(unresolvable.detail, /does not resolve/);
    const off = await syslogCheck(undefined, 2000);
    assert.equal(off.level, 'skip');
    assert.ok(off.ok);
  });

  it('refuses a syslog setting it cannot use, naming the key', () => {
    assert.throws(() => parseAgentConfig({ ...MINIMAL(514, 'udp', 16), log: { syslog: { host: 'siem', protocol: 'tls' } } }), /log\.syslog\.protocol/);
    assert.throws(() => parseAgentConfig({ ...MINIMAL(514, 'udp', 16), log: { syslog: { host: 'siem', facility: 24 } } }), /log\.syslog\.facility/);
  });
});

function MINIMAL(port: number, protocol: 'udp' | 'tcp', facility: number): Record<string, unknown> {
  return {
    tenant: 'acme',
    relay: { url: 'wss://relay.example.com', secret: { env: 'UNLATCH_TEST_SECRET' } },
    keys: { dir: '/tmp/unlatch-syslog-test-keys' },
    directory: { urls: ['ldaps://dc.corp.example'], baseDN: 'DC=corp,DC=example', bindDN: 'CN=svc,DC=corp,DC=example', bindPassword: { env: 'UNLATCH_TEST_BIND' } },
    smtp: { host: 'mail.corp.example', from: 'it@corp.example' },
    log: { level: 'info', syslog: { host: '127.0.0.1', port, protocol, facility } },
  };
}
