import type { Metric, Registry } from 'prom-client';

/** One label value's observations: a count per bucket (the last is +Inf, beyond every bound), their sum and number. */
export class HistogramTally {
  private readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > bounds[bucket]!) bucket++;
    this.counts[bucket]!++;
    this.sum += value;
    this.count++;
  }

  /** Forgets every observation; whoever keeps this tally goes on observing into it. */
  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }

  /** Observations at or below each bound, in bound order (Prometheus's `le` buckets). */
  cumulative(): number[] {
    let running = 0;
    return this.bounds.map((_, bucket) => (running += this.counts[bucket]!));
  }
}

/** A sample as prom-client's registry formats it. */
interface ExportedValue {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  readonly metricName: string;
}

/**
 * A Prometheus histogram with one label or none, tallied in plain arrays and handed to prom-client's
 * registry only when scraped. prom-client's own observe() builds and hashes a label object and
 * validates it on every call (a child from labels() too): about 3.5 % of the server's CPU on the
 * unary path. Its exposition has prom-client's series and values for the same observations (the
 * test compares them), not always in its order: a label value keeps its place across a reset.
 */
export class TalliedHistogram {
  readonly type = 'histogram';
  /** How prom-client's cluster registry would merge it across workers. */
  readonly aggregator = 'sum';
  private readonly tallies = new Map<string, HistogramTally>();
  /**
   * prom-client shows a histogram without labels, unobserved, as zeros until its first reset, and
   * after one not until observed again.
   */
  private showsEmpty: boolean;

  /** `labelName` undefined: no label, one tally (`tally()`). */
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string | undefined,
    private readonly bounds: readonly number[],
    registers: readonly Registry[],
  ) {
    // The registry reads only name, type, help, aggregator, get() and reset(): prom-client's types
    // list its own four classes, so this one is registered through that interface.
    for (const registry of registers) registry.registerMetric(this as unknown as Metric);
    this.showsEmpty = labelName === undefined;
    if (labelName === undefined) this.tally();
  }

  /** The tally of one label value (none without a label): keep it and observe on it, with no lookup per observation. */
  tally(labelValue = ''): HistogramTally {
    let tally = this.tallies.get(labelValue);
    if (tally === undefined) {
      tally = new HistogramTally(this.bounds);
      this.tallies.set(labelValue, tally);
    }
    return tally;
  }

  /**
   * Zeroes every tally in place: callers keep their tallies (as prom-client's children survive a
   * reset), so clearing the map would leave them observing into tallies no scrape reads.
   */
  reset(): void {
    for (const tally of this.tallies.values()) tally.reset();
    this.showsEmpty = false;
  }

  get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: ExportedValue[] }> {
    const { name, labelName } = this;
    const values: ExportedValue[] = [];
    for (const [labelValue, tally] of this.tallies) {
      // As prom-client after a reset: a label value shows again once observed.
      if (tally.count === 0 && !this.showsEmpty) continue;
      const labels = labelName === undefined ? {} : { [labelName]: labelValue };
      const cumulative = tally.cumulative();
      this.bounds.forEach((le, bucket) => values.push({ labels: { le, ...labels }, value: cumulative[bucket]!, metricName: `${name}_bucket` }));
      values.push(
        { labels: { le: '+Inf', ...labels }, value: tally.count, metricName: `${name}_bucket` },
        { labels, value: tally.sum, metricName: `${name}_sum` },
        { labels, value: tally.count, metricName: `${name}_count` },
      );
    }
    return Promise.resolve({ name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}
