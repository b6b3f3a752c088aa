import { startTestDirectory } from '/work/main/test/support/directory.ts';
import { startDemoSite } from '/work/main/scripts/demo-site/index.ts';
const t0 = Date.now();
const dir = await startTestDirectory({});
console.log('dir up', Date.now() - t0, dir.dnsDomain, Object.values(dir.users).map(u => u.upn + ':' + u.state).join(' '));
const site = await startDemoSite({ ldapsUrl: dir.ldapsUrl, caPem: dir.caPem, baseDN: dir.baseDN, upnSuffix: dir.dnsDomain });
for (const [name, pw] of [['alice', dir.users.alice!.password], ['alice', 'wrong'], ['bob', dir.users.bob!.password], ['carol', dir.users.carol!.password], ['dave', dir.users.dave!.password], ['dave', 'wrong'], ['erin', dir.users.erin!.password]] as const) {
  const res = await fetch(site.url, { method: 'POST', body: new URLSearchParams({ username: name, password: pw }) });
  const html = await res.text();
  console.log(name, pw === 'wrong' ? '(wrong)' : '', (/<p style="margin:0">([^<]*)/.exec(html) ?? /Signed in as <strong>([^<]*)/.exec(html))?.[1], /data-code="(\w+)"/.exec(html)?.[1]);
}
await site.close();
await dir.stop();
