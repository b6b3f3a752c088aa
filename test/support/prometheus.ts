/**
 * Scrapes a /metrics endpoint and reads it with a real Prometheus text-format parser
 * (prom2javascript: strict about malformed lines, checks that every histogram's +Inf bucket
 * equals its count, and keeps histogram labels, which parse-prometheus-text-format drops), so
 * tests check what a Prometheus server would see.
 *
 * One gap of that parser: it knows no NaN and no -Inf, which Prometheus reads (Go's ParseFloat,
 * any case) and prom-client writes as "Nan" for a gauge with no data yet (nodejs_eventloop_lag_*
 * right after start). Such samples are set aside in `unparsed`, so a test can check that they are
 * only process metrics, never ours.
 */
import { Readable } from 'node:stream';
import { getMetricsFromStream, type PromData, type PromHistogramData, type PromMetric, type PromMetrics } from 'prom2javascript';

type Labels = Record<string, string>;

function matches(sample: { labels: Labels }, labels: Labels): boolean {
  return Object.entries(labels).every(([k, v]) => sample.labels[k] === v);
}

export class Scrape {
  constructor(
    readonly metrics: PromMetrics,
    readonly contentType: string,
    /** Sample lines with a NaN or -Inf value (see above). */
    readonly unparsed: string[],
  ) {}

  get names(): string[] {
    return Object.keys(this.metrics);
  }

  family(name: string): PromMetric {
    const f = this.metrics[name];
    if (!f) throw new Error(`no metric ${name}`);
    return f;
  }

  /** Value of the counter or gauge sample whose labels include `labels`; 0 when there is none yet. */
  value(name: string, labels: Labels = {}): number {
    const family = this.family(name);
    if (family.type === 'histogram') throw new Error(`${name} is a histogram: use histogram()`);
    return (family.data as PromData[]).find((s) => matches(s, labels))?.value ?? 0;
  }

  /** The histogram series whose labels include `labels`. */
  histogram(name: string, labels: Labels = {}): PromHistogramData | undefined {
    const family = this.family(name);
    if (family.type !== 'histogram') throw new Error(`${name} is a ${family.type}, not a histogram`);
    return (family.data as PromHistogramData[]).find((s) => matches(s, labels));
  }

  /** Every value of `label` across the family's samples. */
  labelValues(name: string, label: string): string[] {
    const data = this.family(name).data as { labels: Labels }[];
    return [...new Set(data.map((s) => s.labels[label]).filter((v): v is string => v !== undefined))].sort();
  }
}

export async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const lines = (await res.text()).split('\n');
  const special = (line: string) => !line.startsWith('#') && /\s(?:[+-]?nan|-inf)(?:\s+-?\d+)?$/i.test(line);
  const text = lines.filter((l) => !special(l)).join('\n');
  return new Scrape(await getMetricsFromStream(Readable.from([text])), res.headers.get('content-type') ?? '', lines.filter(special));
}
