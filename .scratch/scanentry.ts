import { textRuns } from '../extension/content/scan.ts';
import { textRegExp } from '../extension/lib/rules.ts';
(globalThis as any).__prof = async (rules: any[]) => {
  const out: Record<string, number> = {};
  let t = performance.now();
  const region = document.getElementById('content')!;
  const runs = textRuns(region); out.runs = performance.now() - t; out.len = runs.join('').length; t = performance.now();
  for (const r of rules.slice(1, 4)) {
    const t1 = performance.now(); const re = textRegExp(r)!; out['compile_' + r.outcome] = performance.now() - t1;
    const t2 = performance.now(); re.test(runs[0]!); out['test_' + r.outcome] = performance.now() - t2;
  }
  return out;
};
