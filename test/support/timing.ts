/**
 * Small, dependency-free statistics for timing comparisons on a noisy machine: rank-based and
 * robust to outliers (a GC pause or a busy neighbour moves a mean, not a rank test).
 */

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Mean of the middle (1 − 2·cut) of the values. */
export function trimmedMean(xs: readonly number[], cut = 0.1): number {
  const s = [...xs].sort((a, b) => a - b);
  const k = Math.floor(s.length * cut);
  const mid = s.slice(k, s.length - k);
  return mid.reduce((a, b) => a + b, 0) / mid.length;
}

/** Standard normal upper tail, P(Z > z) (Abramowitz–Stegun 7.1.26 through erfc). */
function normalTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/** Two-sided Mann–Whitney U test (normal approximation with tie correction). */
export function mannWhitney(a: readonly number[], b: readonly number[]): { u: number; z: number; p: number } {
  const all = [...a.map((v) => ({ v, g: 0 })), ...b.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v);
  const ranks = new Array<number>(all.length);
  let ties = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && (all[j + 1] as { v: number }).v === (all[i] as { v: number }).v) j++;
    const r = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) ranks[k] = r;
    const t = j - i + 1;
    ties += t * t * t - t;
    i = j + 1;
  }
  let ra = 0;
  all.forEach((x, i) => {
    if (x.g === 0) ra += ranks[i] as number;
  });
  const n1 = a.length;
  const n2 = b.length;
  const n = n1 + n2;
  const u = ra - (n1 * (n1 + 1)) / 2;
  const mu = (n1 * n2) / 2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1))));
  const z = sigma === 0 ? 0 : (u - mu) / sigma;
  return { u, z, p: Math.min(1, 2 * normalTail(Math.abs(z))) };
}

/** Hodges–Lehmann estimate of how much `a` is shifted from `b`: the median of all a[i] − b[j]. */
export function hodgesLehmann(a: readonly number[], b: readonly number[]): number {
  const diffs: number[] = [];
  for (const x of a) for (const y of b) diffs.push(x - y);
  return median(diffs);
}

/** Fisher–Yates, in place. */
export function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}
