/**
 * Child process for the audit crash test: opens the audit log given as argv[2] (cutting off
 * whatever a previous kill left), says "ready" on stdout, then appends records as fast as it can
 * until it is killed.
 */
import { AuditLog } from '../../agent/audit/log.ts';

const path = process.argv[2];
if (!path) throw new Error('usage: audit-writer.ts FILE');
const log = AuditLog.open(path);
process.stdout.write(`ready ${log.lastSeq}\n`);
for (let i = 0; ; i++) {
  log.append({
    event: 31002,
    name: 'PasswordResetSuccess',
    action: 'reset',
    outcome: 'success',
    method: 'email',
    // Long enough that a write spans several pages now and then, with multi-byte characters.
    user: `CN=Jürgen Müller ${i},OU=Ünits,${'OU=Deep,'.repeat(i % 600)}DC=corp,DC=example`,
    sid: 'AbCdEf',
  });
}
