/**
 * The whole of Unlatch on loopback, from real parts: the shared Samba AD DC, an SMTP server,
 * the relay (over real TLS with a test CA) and an agent set up by `initAgent` exactly as an
 * admin would. Tests, the demo and the benchmarks build on it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { stringify as stringifyYaml } from 'yaml';
import { startAgent, type RunningAgent } from '../../agent/agent.ts';
import { loadAgentConfig, parseAgentConfig, type AgentConfig } from '../../agent/config.ts';
import { initAgent, secretHash } from '../../agent/init.ts';
import { createLogger } from '../../agent/log.ts';
import { ClientSession, type WebSocketLike } from '../../protocol/client.ts';
import { startRelay, type FrameHook, type Relay, type RelayOptions } from '../../relay/index.ts';
import { sharedDirectory } from './hooks.ts';
import type { TestDirectory } from './directory.ts';
import { startMailCatcher, type MailCatcher } from './mail.ts';
import { testPki } from './pki.ts';
import { startSmsCatcher, type SmsCatcher } from './sms.ts';

type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** Plain objects merge key by key; anything else (arrays included) is replaced. */
function deepMerge(base: unknown, patch: unknown): unknown {
  const plain = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!plain(base) || !plain(patch)) return patch === undefined ? base : patch;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = deepMerge(base[k], v);
  return out;
}

export interface StackOptions {
  /** Default: the test run's shared Samba DC. */
  directory?: TestDirectory;
  /** Changes to the agent config made by `init` (merged deeply; arrays replaced), validated again with its defaults. */
  agent?: DeepPartial<AgentConfig>;
  relay?: Partial<RelayOptions>;
  onFrame?: FrameHook;
  /** Relay over TLS (default) or plain ws (browser tests, which can't trust a test CA). */
  tls?: boolean;
  now?: () => number;
  /** Chromium extension ids whose origin the relay accepts. */
  extensionIds?: string[];
  /** The agent's housekeeping period (default 30 s): short, for tests that watch key files change. */
  housekeepingMs?: number;
}

export interface Stack {
  directory: TestDirectory;
  mail: MailCatcher;
  /** The SMS/voice gateway the agent's `gates.phone.gateway` points at. */
  sms: SmsCatcher;
  relay: Relay;
  relayUrl: string;
  tenant: string;
  pin: string;
  agent: RunningAgent | undefined;
  agentConfig: AgentConfig;
  /** Folder made by `unlatch-agent init` (config, keys, tenant.secret). */
  agentDir: string;
  /**
   * Writes the running agent's config (with `patch` merged in) as the admin's agent.yaml would
   * hold it, for the `unlatch-agent` commands a test runs beside the agent; returns the path.
   */
  writeAgentConfig(path: string, patch?: DeepPartial<AgentConfig>): string;
  /** Every line the agent logged, for tests that prove no secret was logged. */
  agentLogs: string[];
  /** Opens a client session the way the extension does. */
  openSession(options?: { pin?: string | readonly string[] | undefined; timeoutMs?: number }): Promise<ClientSession>;
  startAgent(): Promise<void>;
  stopAgent(): Promise<void>;
  restartRelay(): Promise<void>;
  stop(): Promise<void>;
}

export const TEST_TENANT = 'acme';

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const directory = options.directory ?? (await sharedDirectory());
  const mail = await startMailCatcher();
  const sms = await startSmsCatcher('sms-token-for-tests');
  const pki = testPki();
  const tls = options.tls ?? true;
  const work = mkdtempSync(join(tmpdir(), 'unlatch-stack-'));
  writeFileSync(join(work, 'ldap-ca.pem'), directory.caPem);
  writeFileSync(join(work, 'bind.secret'), directory.service.password, { mode: 0o600 });
  writeFileSync(join(work, 'sms.secret'), sms.token, { mode: 0o600 });

  const agentDir = join(work, 'agent');
  const init = await initAgent({
    dir: agentDir,
    tenant: TEST_TENANT,
    relayUrl: 'ws://placeholder',
    ldapUrls: [directory.ldapsUrl],
    baseDN: directory.baseDN,
    bindDN: directory.service.dn,
    bindPasswordFile: join(work, 'bind.secret'),
    ldapCaFile: join(work, 'ldap-ca.pem'),
    scopeGroupDN: directory.scopeGroupDN,
    smtpHost: mail.host,
    smtpPort: mail.port,
    smtpFrom: 'Unlatch <unlatch@corp.example>',
    smtpRequireTLS: true,
    smtpCaFile: mail.caFile,
  });
  const tenantSecret = readFileSync(join(agentDir, 'tenant.secret'), 'utf8').trim();
  const relayOptions = (port: number): RelayOptions => ({
    listen: { host: '127.0.0.1', port },
    ...(tls ? { tls: { cert: pki.files.cert, key: pki.files.key } } : {}),
    log: { level: 'silent' },
    tenants: [
      {
        id: TEST_TENANT,
        secretHash: secretHash(tenantSecret),
        allowNoOrigin: true,
        allowedOrigins: (options.extensionIds ?? []).map((id) => `chrome-extension://${id}`),
      },
    ],
    // Low in tests so hundreds of sessions stay quick; the PoW tests use the real default.
    pow: { difficulty: 8 },
    ...options.relay,
    ...(options.onFrame ? { onFrame: options.onFrame } : {}),
  });
  let relay = await startRelay(relayOptions(0));
  const relayUrl = relay.url.replace('127.0.0.1', 'localhost');

  const base = loadAgentConfig(join(agentDir, 'agent.yaml'));
  // Every stack can send texts: the gateway is the loopback catcher (SMS and voice stay off unless a test turns them on).
  const phone = {
    gates: {
      phone: {
        gateway: {
          url: sms.url,
          headers: { Authorization: 'Bearer {{secret}}' },
          body: { to: '{{to}}', text: '{{message}}', channel: '{{channel}}', lang: '{{locale}}' },
          secret: { file: join(work, 'sms.secret') },
        },
        countries: ['US', 'DE', 'FR', 'GB'],
      },
    },
  };
  const agentConfig = parseAgentConfig(deepMerge(deepMerge(base, phone), options.agent ?? {}), agentDir);
  agentConfig.relay = { ...agentConfig.relay, url: relayUrl, ...(tls ? { caFile: pki.files.ca } : {}), reconnectMaxSeconds: 1 };

  const agentLogs: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void agentLogs.push(line) });
  const connect = (url: string) =>
    new WebSocket(url, { ...(tls ? { ca: pki.caPem } : {}), perMessageDeflate: false }) as unknown as WebSocketLike;

  const stack: Stack = {
    directory,
    mail,
    sms,
    relay,
    relayUrl,
    tenant: TEST_TENANT,
    pin: init.pin,
    agent: undefined,
    agentConfig,
    agentDir,
    agentLogs,
    openSession: (o = {}) =>
      ClientSession.open({ relayUrl, tenant: TEST_TENANT, pin: 'pin' in o ? o.pin : init.pin, connect, timeoutMs: o.timeoutMs ?? 15_000 }),
    writeAgentConfig(path, patch) {
      writeFileSync(path, stringifyYaml(deepMerge(agentConfig, patch ?? {})), { mode: 0o600 });
      return path;
    },
    async startAgent() {
      if (stack.agent) return;
      stack.agent = await startAgent(agentConfig, {
        logger,
        ...(options.now ? { now: options.now } : {}),
        ...(options.housekeepingMs ? { housekeepingMs: options.housekeepingMs } : {}),
      });
      await stack.agent.link.connected;
    },
    async stopAgent() {
      await stack.agent?.stop();
      stack.agent = undefined;
    },
    async restartRelay() {
      const port = relay.port;
      await relay.close();
      relay = await startRelay(relayOptions(port));
      stack.relay = relay;
    },
    async stop() {
      await stack.stopAgent();
      await relay.close();
      await mail.close();
      await sms.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
  await stack.startAgent();
  return stack;
}
