import type { Metric, Registry } from 'prom-client';

/** One label set's count. */
export class CounterTally {
  value = 0;

  inc(amount = 1): void {
    this.value += amount;
  }
}

/** A sample as prom-client's registry formats it. */
interface ExportedValue {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * A Prometheus counter tallied in plain numbers and handed to prom-client's registry only when
 * scraped: prom-client's labelled inc() builds and hashes a label object on every call (a child
 * from labels() too), a measurable share of a push or a unary call. Its exposition has
 * prom-client's series and values for the same increments (the test compares them), not always in
 * its order: a label set keeps its place across a reset.
 */
export class TalliedCounter<L extends string> {
  readonly type = 'counter';
  /** How prom-client's cluster registry would merge it across workers. */
  readonly aggregator = 'sum';
  private readonly tallies = new Map<string, { readonly labels: Readonly<Record<L, string>>; readonly tally: CounterTally }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly L[],
    registers: readonly Registry[],
  ) {
    // As TalliedHistogram: the registry reads only name, type, help, aggregator, get() and reset().
    for (const registry of registers) registry.registerMetric(this as unknown as Metric);
    // prom-client shows a counter without labels at 0 before its first increment.
    if (labelNames.length === 0) this.tally({} as Record<L, string>);
  }

  /** The tally of one label set: keep it and increment it, with no lookup per increment. */
  tally(labels: Readonly<Record<L, string>>): CounterTally {
    const key = this.labelNames.map((name) => labels[name]).join('\u0000');
    let entry = this.tallies.get(key);
    if (entry === undefined) {
      // The label names' order, as prom-client writes them when the caller passes them so.
      entry = { labels: Object.fromEntries(this.labelNames.map((name) => [name, labels[name]])) as Record<L, string>, tally: new CounterTally() };
      this.tallies.set(key, entry);
    }
    return entry.tally;
  }

  /** Zeroes every tally in place: callers keep theirs, as prom-client's children survive a reset. */
  reset(): void {
    for (const { tally } of this.tallies.values()) tally.value = 0;
  }

  get(): Promise<{ name: string; help: string; type: 'counter'; aggregator: 'sum'; values: ExportedValue[] }> {
    const values: ExportedValue[] = [];
    for (const { labels, tally } of this.tallies.values()) {
      // As prom-client: a label set shows once incremented, and after a reset once incremented again (one without labels always).
      if (tally.value === 0 && this.labelNames.length > 0) continue;
      values.push({ labels, value: tally.value });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}
