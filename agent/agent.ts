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
import { directoryPort } from './directory/port.ts';
import { EventLog } from './events.ts';
import { OneTimeCodes } from './gates/codes.ts';
import { Gates } from './gates/index.ts';
import { Registrations } from './gates/registration.ts';
import { HOUR_MS, Throttle } from './gates/throttle.ts';
import type { KeyRing } from './keys.ts';
import { RelayLink } from './link.ts';
import { createLogger, type Logger } from './log.ts';
import { Notifier } from './notify/index.ts';
import { createMailer } from './notify/mailer.ts';
import { createPhoneSender } from './notify/phone.ts';
import { AgentMetrics, startMetricsServer } from './metrics.ts';
import { ReminderScheduler } from './reminders/index.ts';
import { SessionManager } from './session/manager.ts';
import { openSqliteStore, StoreKeys, type AgentStore } from './store/index.ts';
import { directoryFromConfig, gateSettingsFromConfig, keyRingFromConfig, throttleSettingsFromConfig, mailDomainFromConfig } from './wiring.ts';

export interface RunningAgent {
  link: RelayLink;
  keys: KeyRing;
  sessions: SessionManager;
  metrics: AgentMetrics;
  /** http://host:port/metrics when `metrics.listen` is configured. */
  metricsUrl: string | undefined;
  audit: AuditLog;
  /** Registrations, codes, throttles (SQLite by default). */
  store: AgentStore;
  /** Rolls the encryption key now and publishes the new bundle. */
  rotateKeys(): Promise<string>;
  /** Password-expiry reminders (when `reminders.enabled`): `runNow()` runs them at once. */
  reminders: ReminderScheduler | undefined;
  stop(): Promise<void>;
}

export interface StartAgentOptions {
  logger?: Logger;
  now?: () => number;
  /** First look whether reminders are due, after start (default 60 s). */
  remindersFirstRunMs?: number;
  /** How often to sweep sessions and the store, roll keys when due and pick up changed key files (default 30 s). */
  housekeepingMs?: number;
}

export async function startAgent(config: AgentConfig, options: StartAgentOptions = {}): Promise<RunningAgent> {
  const log = options.logger ?? createLogger(config.log.level, undefined, config.log.syslog);
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
  const keys = await keyRingFromConfig(config, now);
  const directory = directoryFromConfig(config);
  const mailer = createMailer(config.smtp, config.smtp.password ? readSecret(config.smtp.password, 'smtp.password') : undefined);
  const g = config.gates;
  const gateway = g.phone.gateway;
  const phone = gateway
    ? createPhoneSender(
        { ...gateway, body: gateway.body, smsText: g.phone.smsText, voiceText: g.phone.voiceText },
        gateway.secret ? readSecret(gateway.secret, 'gates.phone.gateway.secret') : undefined,
      )
    : undefined;
  const mailDomain = mailDomainFromConfig(config);
  const store = openSqliteStore(config.store.file as string);
  const storeKeys = StoreKeys.loadOrCreate(config.store.keyFile as string);
  const throttle = new Throttle(
    store,
    throttleSettingsFromConfig(config),
    now,
  );
  const codes = new OneTimeCodes(store, storeKeys.key('codes'), now);
  const notifier = new Notifier({
    mailer,
    phone,
    emit: (name, fields) => events.emit(name, fields),
    settings: {
      ...config.notify,
      organisation: config.notify.organisation ?? mailDomain,
      kinds: { reset: config.notify.reset, change: config.notify.change, unlock: config.notify.unlock, registration: config.notify.registration },
    },
  });
  const gates = new Gates({
    store,
    keys: storeKeys,
    codes,
    throttle,
    now,
    emit: (name, fields) => events.emit(name, fields),
    delivery: {
      email: (to, c, minutes) => notifier.emailCode(to, c, minutes),
      phone: (channel, to, c, minutes, locale) => notifier.phoneCode(channel, to, c, minutes, locale),
    },
    settings: gateSettingsFromConfig(config),
  });
  const registrations = new Registrations({ gates, store, keys: storeKeys, codes, throttle, now, reconfirmDays: g.reconfirmDays, maxMethods: g.maxRegisteredMethods });

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
      gates,
      registrations,
      throttle,
      notifier,
      events,
      // Stable across restarts and shared by agents sharing the store: the same id keeps the same decoy.
      decoyKey: storeKeys.key('decoy'),
      now,
      settings: {
        actions: config.actions,
        decoyBindDN: `CN=unlatch-nobody-${randomBytes(6).toString('hex')},${config.directory.baseDN}`,
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
    store.sweep(now(), HOUR_MS).catch((err: Error) => log.warn({ err: err.message }, 'store sweep failed'));
    if (keys.rotationDue()) void rotateKeys();
    else
      void keys.reloadIfChanged().then(async (changed) => {
        if (changed) await link?.publishBundle();
      });
  }, options.housekeepingMs ?? 30_000);
  housekeeping.unref();

  const rc = config.reminders;
  const reminders =
    rc.enabled && rc.link
      ? new ReminderScheduler(
          { days: rc.days, link: rc.link, hour: rc.hour, stateFile: rc.stateFile as string },
          {
            expiries: () => directory.passwordExpiries(),
            send: (to, message) => mailer.sendNotice([to], message),
            emit: (name, fields) => events.emit(name, fields),
            now,
          },
          { ...(options.remindersFirstRunMs !== undefined ? { firstRunMs: options.remindersFirstRunMs } : {}), log: (m, f) => log.info(f ?? {}, m) },
        )
      : undefined;
  reminders?.start();

  link.start();
  events.emit('AgentStarted', { tenant: config.tenant, relay: config.relay.url });
  return {
    link,
    keys,
    sessions,
    metrics,
    metricsUrl: metricsServer?.url,
    audit,
    store,
    rotateKeys,
    reminders,
    async stop() {
      clearInterval(housekeeping);
      await reminders?.stop();
      link?.stop();
      sessions.closeAll();
      notifier.close();
      await directory.close();
      await store.close();
      events.emit('AgentStopped', { tenant: config.tenant });
      await metricsServer?.close();
      audit.close();
    },
  };
}
