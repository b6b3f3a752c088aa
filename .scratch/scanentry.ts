import { detect, textRuns } from '../extension/content/scan.ts';
import { rulesForUrl, textRegExp } from '../extension/lib/rules.ts';
(globalThis as any).__prof = (rules: any[]) => {
  const out: Record<string, number> = {};
  let t = performance.now();
  const c = rulesForUrl(rules, location.href); out.url = performance.now() - t; t = performance.now();
  const runs = textRuns(document.body); out.runs = performance.now() - t; out.nruns = runs.length; t = performance.now();
  for (const r of c) { const re = textRegExp(r)!; const t1 = performance.now(); runs.some((x) => re.test(x)); out['re_' + r.outcome] = performance.now() - t1; }
  out.regex = performance.now() - t; t = performance.now();
  detect(c, document); out.detect = performance.now() - t;
  return out;
};
