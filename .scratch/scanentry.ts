import { detect } from '../extension/content/scan.ts';
import { showBanner } from '../extension/content/banner.ts';
import { rulesForUrl } from '../extension/lib/rules.ts';
(globalThis as any).__prof = async (rules: any[]) => {
  const out: Record<string, number> = {};
  const t0 = performance.now();
  await Promise.resolve(rules);
  out.await = performance.now() - t0;
  let t = performance.now();
  const c = rulesForUrl(rules, location.href); out.url = performance.now() - t; t = performance.now();
  const d = detect(c, document, 'likely'); out.likely = performance.now() - t; out.hit = d ? 1 : 0; t = performance.now();
  showBanner('expired', { message: 'm', action: 'a', dismiss: 'd', label: 'l' }, () => {}); out.banner = performance.now() - t;
  out.total = performance.now() - t0;
  return out;
};
