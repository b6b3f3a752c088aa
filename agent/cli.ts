/**
 * `unlatch-agent <command>`: init, run, doctor, remind, rotate-keys, rotate-signing-key, policy, report. Exit status 0 on success,
 * 2 on wrong usage or a bad config, 1 on any other problem; the message says what to fix.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startAgent } from './agent.ts';
import { reportCommand } from './audit/report.ts';
import { ConfigError, loadAgentConfig } from './config.ts';
import { coverageFromConfig } from './coverage.ts';
import { doctorExitCode, formatDoctor, runDoctor } from './doctor/index.ts';
import { remindCommand } from './reminders/command.ts';
import { initCommand } from './init-command.ts';
import { browserPolicies } from './policy.ts';
import { policyFiles, writePolicyFiles } from './policy-files.ts';
import { EventLog } from './events.ts';
import { createLogger } from './log.ts';
import { rotateSigningKey } from './signing-rotation.ts';
import { keyRingFromConfig } from './wiring.ts';

const USAGE = `Usage: unlatch-agent <command> [options]

Commands:
  init          create keys, the tenant secret and a config (asks in a terminal); print the relay entry and the pin
  run           connect to the relay and serve sessions
  doctor        check the DCs, the service account's rights, the relay, SMTP…; explain what to fix
  remind        send the password-expiry reminders that are due now (the agent does it hourly)
  rotate-keys   roll the encryption key now (the previous one stays valid for the grace period)
  rotate-signing-key [--activate]
                make the next signing key and print its pin for policy; --activate: switch to it
  policy        print ready-to-deploy browser policy (Chrome/Edge JSON and .reg, Firefox policies.json)
  report        resets, changes, unlocks, failures, blocked users; who in scope can use self-service

Common options:
  --config FILE   agent config (default: $UNLATCH_AGENT_CONFIG or ./agent.yaml)

policy options:
  [--relay-url wss://…] (the relay's public URL, default relay.url) [--out DIR] [--extension-id ID]
  [--update-url URL] [--company NAME] [--helpdesk-url URL] [--helpdesk-text TEXT]

init options:
  --dir DIR --tenant ID --relay-url wss://… --ldap-url ldaps://… (repeatable) --base-dn DN
  --bind-dn DN --bind-password-file FILE [--ldap-ca-file FILE] [--scope-group DN]
  --smtp-host HOST [--smtp-port 587] --smtp-from ADDRESS [--smtp-ca-file FILE] [--smtp-no-tls] [--force]
  In a terminal, init asks for every value not given as a flag (the password hidden, into
  DIR/bind.password, mode 0600), shows a summary and asks before writing; without a terminal
  the flags not in [brackets] are required.
  [--interactive]   ask for the optional values too, even when every required flag is given
  [--no-input]      never ask, even in a terminal: a missing flag is an error, an existing config needs --force

doctor options:
  [--json]      an array of {check, ok, level, title, detail, fix} for monitoring
  Exit status 0 when every check passed (warnings allowed), 1 when one failed, 2 for a bad config.

remind options:
  [--dry-run]   list who would get which reminder; send and record nothing
  [--json]      the run's result as one JSON object

report options:
  [--file AUDIT_LOG] (default: audit.file of the config) [--since WHEN] [--until WHEN]
  (WHEN: 2026-01-31, 2026-01-31T08:00:00Z, or back from now: 30m, 12h, 7d, 2w)
  [--json | --csv]   output format (default: a table)
  [--no-coverage]    leave out the registration coverage (it reads the directory and the store,
                     so run the report as the agent's user; --file alone, without a config, leaves it out)
  --verify           check the hash chain instead; exit 1 naming the first bad record
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string' },
      dir: { type: 'string' },
      tenant: { type: 'string' },
      'relay-url': { type: 'string' },
      'ldap-url': { type: 'string', multiple: true },
      'base-dn': { type: 'string' },
      'bind-dn': { type: 'string' },
      'bind-password-file': { type: 'string' },
      'ldap-ca-file': { type: 'string' },
      'scope-group': { type: 'string' },
      'smtp-host': { type: 'string' },
      'smtp-port': { type: 'string' },
      'smtp-from': { type: 'string' },
      'smtp-no-tls': { type: 'boolean', default: false },
      'smtp-ca-file': { type: 'string' },
      force: { type: 'boolean', default: false },
      interactive: { type: 'boolean', default: false },
      'no-input': { type: 'boolean', default: false },
      out: { type: 'string' },
      'extension-id': { type: 'string' },
      'update-url': { type: 'string' },
      company: { type: 'string' },
      'helpdesk-url': { type: 'string' },
      'helpdesk-text': { type: 'string' },
      file: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      json: { type: 'boolean', default: false },
      csv: { type: 'boolean', default: false },
      verify: { type: 'boolean', default: false },
      activate: { type: 'boolean', default: false },
      'no-coverage': { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  const configPath = values.config ?? process.env['UNLATCH_AGENT_CONFIG'] ?? 'agent.yaml';
  switch (command) {
    case 'init':
      return initCommand(values, USAGE);
    case 'run': {
      const config = loadAgentConfig(configPath);
      const agent = await startAgent(config);
      const stop = () => void agent.stop().then(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      return await new Promise<number>(() => undefined);
    }
    case 'report': {
      if (values.json && values.csv) {
        process.stderr.write(`unlatch-agent report: give at most one of --json and --csv\n\n${USAGE}`);
        return 2;
      }
      // An audit log given on its own (say, a copy on an auditor's machine) is reported on its
      // own; with the agent's config, coverage is measured against the directory and the store.
      const standalone = values.file !== undefined && values.config === undefined && !existsSync(configPath);
      const config = standalone ? undefined : loadAgentConfig(configPath);
      return await reportCommand(
        {
          file: values.file ?? (config?.audit.file as string),
          since: values.since,
          until: values.until,
          format: values.json ? 'json' : values.csv ? 'csv' : 'table',
          verify: values.verify,
          coverage: config && !values['no-coverage'] && !values.verify ? () => coverageFromConfig(config) : undefined,
        },
        (s) => process.stdout.write(s),
        (s) => process.stderr.write(s),
      );
    }
    case 'policy': {
      const config = loadAgentConfig(configPath);
      const ring = await keyRingFromConfig(config);
      const branding = {
        ...(values.company ? { companyName: values.company } : {}),
        ...(values['helpdesk-url'] ? { helpdeskUrl: values['helpdesk-url'] } : {}),
        ...(values['helpdesk-text'] ? { helpdeskText: values['helpdesk-text'] } : {}),
      };
      const policies = browserPolicies({
        // Browsers reach the relay at its public URL, which may differ from the agent's view.
        relayUrl: values['relay-url'] ?? config.relay.url,
        tenant: config.tenant,
        pin: await ring.pin(),
        // While a signing-key rollover is prepared, browsers must accept the next key too.
        nextPin: await ring.nextPin(),
        ...(values['extension-id'] ? { extensionId: values['extension-id'] } : {}),
        ...(values['update-url'] ? { updateUrl: values['update-url'] } : {}),
        ...(Object.keys(branding).length ? { branding } : {}),
      });
      if (values.out) {
        for (const f of writePolicyFiles(policies, values.out)) process.stdout.write(`${f.path}  — ${f.where}\n`);
      } else {
        for (const f of policyFiles(policies)) process.stdout.write(`# ${f.name} — ${f.where}\n${f.text}\n`);
      }
      return 0;
    }
    case 'doctor': {
      const results = await runDoctor({ configPath });
      process.stdout.write(values.json ? `${JSON.stringify(results, null, 1)}\n` : formatDoctor(results));
      return doctorExitCode(results);
    }
    case 'remind': {
      const config = loadAgentConfig(configPath);
      return remindCommand(
        config,
        { dryRun: values['dry-run'], json: values.json },
        (s) => process.stdout.write(s),
        (s) => process.stderr.write(s),
      );
    }
    case 'rotate-keys': {
      const config = loadAgentConfig(configPath);
      const ring = await keyRingFromConfig(config);
      const kid = await ring.rotate();
      process.stdout.write(`New encryption key ${kid}. A running agent picks it up within 30 s, or restart it now.\n`);
      return 0;
    }
    case 'rotate-signing-key': {
      const config = loadAgentConfig(configPath);
      return rotateSigningKey(await keyRingFromConfig(config), { activate: values.activate, configPath }, new EventLog(createLogger(config.log.level)), (s) =>
        process.stdout.write(s),
      );
    }
    default:
      process.stderr.write(`unlatch-agent: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`unlatch-agent: ${err instanceof Error ? err.message : String(err)}\n`);
    // Same convention as unlatch-relay: 2 for a configuration the admin must fix.
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
