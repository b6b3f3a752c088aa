/**
 * Wires one running agent together: key ring, directory, gates, sessions and the relay link.
 * `unlatch-agent run` calls startAgent; tests and benchmarks call it too, in-process.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { auditSink } from './audit/events.ts';
import { AuditLog } from './audit/log.ts';
import type { AgentConfig } from './config.ts';
import { readSecret } from './config.ts';
import { Directory } from './directory/index.ts';
import { directoryPort } from './directory/port.ts';
import { EventLog } from './events.ts';
import { OneTimeCodes } from './gates/codes.ts';
import { domainFromBaseDN, mailDomainOf } from './gates/decoy.ts';
import { Throttle } from './gates/throttle.ts';
import { KeyRing } from './keys.ts';
import { RelayLink } from './link.ts';
import { createLogger, type Logger } from './log.ts';
import { createMailer } from './mailer.ts';
import { AgentMetrics, startMetricsServer } from './metrics.ts';
import { SessionManager } from './session/manager.ts';

export interface RunningAgent {
  link: RelayLink;
  keys: KeyRing;
  sessions: SessionManager;
  metrics: AgentMetrics;
  /** http://host:port/metrics when `metrics.listen` is configured. */
  metricsUrl: string | undefined;
  audit: AuditLog;
  /** Rolls the encryption key now and publishes the new bundle. */
  rotateKeys(): Promise<string>;
  stop(): Promise<void>;
}

export interface StartAgentOptions {
  logger?: Logger;
  now?: () => number;
}

const HOUR_MS = 3_600_000;

export async function startAgent(config: AgentConfig, options: StartAgentOptions = {}): Promise<RunningAgent> {
  const log = options.logger ?? createLogger(config.log.level);
  // The gauges read sessions and link (made below) only when scraped.
  const metrics = new AgentMetrics({ sessions: () => sessions.size, relayConnected: () => link?.isOpen ?? false });
  const audit = AuditLog.open(config.audit?.file ?? resolve(config.keys.dir, '..', 'audit.log'), {
    ...(options.now ? { now: options.now } : {}),
    onRecovered: (r) => log.warn({ path: r.path, bytes: r.bytes, text: r.text }, 'audit log: removed an incomplete last record left by a crash'),
  });
  const toAudit = auditSink(audit);
  const events = new EventLog(log, (name, fields) => {
    metrics.onEvent(name, fields);
    try {
      toAudit(name, fields);
    } catch (err) {
      metrics.auditWriteFailed();
      throw err;
    }
  });
  const now = options.now ?? Date.now;
  const keys = await KeyRing.load({ dir: config.keys.dir, tenant: config.tenant, rotateDays: config.keys.rotateDays, graceDays: config.keys.graceDays, now });
  const directory = new Directory({
    urls: config.directory.urls,
    baseDN: config.directory.baseDN,
    bindDN: config.directory.bindDN,
    bindPassword: readSecret(config.directory.bindPassword, 'directory.bindPassword'),
    ...(config.directory.caFile ? { caPem: readFileSync(config.directory.caFile, 'utf8') } : {}),
    ...(config.directory.tlsServername ? { tlsServername: config.directory.tlsServername } : {}),
    ...(config.directory.scopeGroupDN ? { scopeGroupDN: config.directory.scopeGroupDN } : {}),
    timeoutMs: config.directory.timeoutMs,
  });
  const mailer = createMailer(config.smtp, config.smtp.password ? readSecret(config.smtp.password, 'smtp.password') : undefined);
  const gates = config.gates;

  let link: RelayLink | undefined;
  const sessions = new SessionManager({
    tenant: config.tenant,
    keys,
    events,
    send: (frame) => link?.send(frame),
    lifetimeMs: config.sessions.lifetimeSeconds * 1000,
    max: config.sessions.max,
    now,
    flow: {
      directory: metrics.timeDirectory(directoryPort(directory)),
      codes: new OneTimeCodes(gates.email.codeDigits, gates.email.ttlSeconds * 1000, now),
      throttle: new Throttle(
        { maxFailuresPerHour: gates.maxFailuresPerHour, maxResetsPerHour: gates.maxResetsPerHour, blockMs: gates.blockHours * HOUR_MS },
        now,
      ),
      sendCode: (to, code, minutes) => mailer.sendCode(to, code, minutes),
      events,
      decoyKey: randomBytes(32),
      now,
      settings: {
        actions: config.actions,
        requiredGates: gates.required,
        codeTtlMinutes: Math.round(gates.email.ttlSeconds / 60),
        resendAfterSeconds: gates.email.resendAfterSeconds,
        mailDomain: config.smtp.mailDomain ?? mailDomainOf(config.smtp.from) ?? domainFromBaseDN(config.directory.baseDN),
      },
    },
  });

  link = new RelayLink({
    url: config.relay.url,
    tenant: config.tenant,
    agentId: config.agentId ?? hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64),
    secret: readSecret(config.relay.secret, 'relay.secret'),
    ca: config.relay.caFile ? readFileSync(config.relay.caFile, 'utf8') : undefined,
    bundle: () => keys.bundle(),
    onFrame: (frame) => void sessions.onFrame(frame),
    // Sessions live in the agent that opened them; a new connection starts clean.
    onDisconnect: () => sessions.closeAll(),
    events,
    reconnectMaxMs: config.relay.reconnectMaxSeconds * 1000,
  });

  const metricsServer = config.metrics ? await startMetricsServer(metrics, config.metrics.listen) : undefined;

  const rotateKeys = async (): Promise<string> => {
    const kid = await keys.rotate();
    events.emit('KeysRotated', { kid });
    await link?.publishBundle();
    return kid;
  };
  const housekeeping = setInterval(() => {
    sessions.sweep();
    if (keys.rotationDue()) void rotateKeys();
    else
      void keys.reloadIfChanged().then(async (changed) => {
        if (changed) await link?.publishBundle();
      });
  }, 30_000);
  housekeeping.unref();

  link.start();
  events.emit('AgentStarted', { tenant: config.tenant, relay: config.relay.url });
  return {
    link,
    keys,
    sessions,
    metrics,
    metricsUrl: metricsServer?.url,
    audit,
    rotateKeys,
    async stop() {
      clearInterval(housekeeping);
      link?.stop();
      sessions.closeAll();
      mailer.close();
      await directory.close();
      events.emit('AgentStopped', { tenant: config.tenant });
      await metricsServer?.close();
      audit.close();
    },
  };
}
