import { Client } from 'ldapts';
import { sharedDirectory } from '../test/support/hooks.ts';
import { readUserByDN, searchUserDNs } from '../agent/directory/users.ts';
import { median } from '../test/support/timing.ts';

describe('ldap prof', function () {
  this.timeout(600_000);
  it('profiles', async () => {
    const dir = await sharedDirectory();
    const u = await dir.createUser(dir.uniqueName('lp'));
    const c = new Client({ url: dir.ldapsUrl, tlsOptions: { ca: dir.caPem } });
    await c.bind(dir.service.dn, dir.service.password);
    const t: Record<string, number[]> = {};
    const m = async (k: string, f: () => Promise<unknown>) => { const s = performance.now(); await f(); (t[k] ??= []).push(performance.now() - s); };
    const other = dir.users['user2']!;
    for (let i = 0; i < 400; i++) {
      await m('A hit+read', async () => { await searchUserDNs(c, dir.baseDN, u.sam); await readUserByDN(c, u.dn, dir.scopeGroupDN); });
      await m('B miss+read', async () => { await searchUserDNs(c, dir.baseDN, 'nobody-' + i); await readUserByDN(c, other.dn, dir.scopeGroupDN); });
      await m('C miss+par', async () => { await searchUserDNs(c, dir.baseDN, 'nobody-' + i); await Promise.all([readUserByDN(c, other.dn, dir.scopeGroupDN), searchUserDNs(c, dir.baseDN, other.sam)]); });
      await m('D miss+hit+read', async () => { await searchUserDNs(c, dir.baseDN, 'nobody-' + i); await searchUserDNs(c, dir.baseDN, other.sam); await readUserByDN(c, other.dn, dir.scopeGroupDN); });
    }
    for (const [k, v] of Object.entries(t)) console.error(k, median(v.slice(30)).toFixed(3));
    await c.unbind();
  });
});
