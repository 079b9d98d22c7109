// Naming push latency across members: 3 member processes on 127.0.0.1-3 (default config: sync
// debounce 50 ms, push delay 20 ms). A publisher (our NamingClient, on member A) changes its
// instance's metadata N times, one change at a time; subscribers on member B (the figure) and on
// member A itself (the baseline, same changes, no sync hop) time each change from the register
// call to their listener being called with it (the push received, its ack on the way).
// Then the removal: a registering process on A is SIGKILLed, and a subscriber on B times the kill
// to the push without its instance (median of R runs).
// Usage: node --import tsx bench/naming.ts [--changes 200] [--kills 5] [--quick]
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { NamingClient, type InstancesChangeEvent } from '../src/client/index.js';
import { ClusterScenario } from '../test/support/cluster-scenario.js';
import { HarnessProcess } from '../test/support/harness-process.js';
import { writeResult } from './support/results.js';
import { median, summary } from './support/stats.js';

const { values: args } = parseArgs({
  options: {
    changes: { type: 'string', default: '200' },
    kills: { type: 'string', default: '5' },
    quick: { type: 'boolean', default: false },
  },
});
// The quick run keeps the 200 changes (about 30 s): fewer would make p99 a single sample.
const config = { changes: Number(args.changes), kills: args.quick ? 3 : Number(args.kills), hangGuardMs: 30_000 };

const publisherScript = fileURLToPath(new URL('../test/support/naming-publisher.ts', import.meta.url));
const silent = pino({ level: 'silent' });

/** A NamingClient on one member, resolving a waiter when a push matches what it waits for. */
class TimedSubscriber {
  readonly naming: NamingClient;
  private waiting: { match: (e: InstancesChangeEvent) => boolean; resolve: (at: number) => void } | undefined;

  constructor(address: string) {
    this.naming = new NamingClient({ serverAddresses: [address], logger: silent });
  }

  async start(service: string): Promise<void> {
    await this.naming.start();
    await this.naming.subscribe(service, (event) => {
      const at = performance.now();
      if (this.waiting?.match(event)) {
        this.waiting.resolve(at);
        this.waiting = undefined;
      }
    });
  }

  /** When the next push matching `match` arrives (performance.now()); set before causing it. */
  next(match: (e: InstancesChangeEvent) => boolean, what: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`no push: ${what}`)), config.hangGuardMs);
      this.waiting = {
        match,
        resolve: (at) => {
          clearTimeout(guard);
          resolve(at);
        },
      };
    });
  }
}

const hasSeq = (seq: string) => (e: InstancesChangeEvent) => e.instances.some((i) => i.metadata['seq'] === seq);
const lacks = (address: string) => (e: InstancesChangeEvent) => !e.instances.some((i) => `${i.ip}:${i.port}` === address);

const scenario = new ClusterScenario();
const clients: NamingClient[] = [];
const processes: HarnessProcess[] = [];
try {
  console.log(`naming benchmark on ${os.cpus().length} cores (load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}): 3 members, ${config.changes} changes, ${config.kills} kills`);
  await scenario.start({});
  const [a, b] = scenario.addresses as [string, string];

  // Push latency: one publisher on A, subscribers on B and on A.
  const onB = new TimedSubscriber(b);
  const onA = new TimedSubscriber(a);
  const publisher = new NamingClient({ serverAddresses: [a], logger: silent });
  clients.push(onB.naming, onA.naming, publisher);
  await publisher.start();
  await Promise.all([onB.start('bench-changes'), onA.start('bench-changes')]);
  const crossMs: number[] = [];
  const sameMs: number[] = [];
  for (let i = 0; i < config.changes; i++) {
    const seq = String(i);
    const seenOnB = onB.next(hasSeq(seq), `change ${seq} on B`);
    const seenOnA = onA.next(hasSeq(seq), `change ${seq} on A`);
    const started = performance.now();
    await publisher.registerInstance('bench-changes', { ip: '10.9.0.1', port: 8080, metadata: { seq } });
    const [atB, atA] = await Promise.all([seenOnB, seenOnA]);
    crossMs.push(atB - started);
    sameMs.push(atA - started);
  }

  // Removal after a crash: a registering process on A SIGKILLed, seen by the subscriber on B.
  const removalMs: number[] = [];
  const watcher = new TimedSubscriber(b);
  clients.push(watcher.naming);
  await watcher.start('bench-crash');
  for (let run = 0; run < config.kills; run++) {
    const instance = `10.9.1.${run + 1}:8080`;
    const registered = watcher.next((e) => e.instances.some((i) => `${i.ip}:${i.port}` === instance), `${instance} registered`);
    const crashing = new HarnessProcess(process.execPath, ['--import', 'tsx', publisherScript, a, 'bench-crash', `10.9.1.${run + 1}`, '8080']);
    processes.push(crashing);
    await crashing.waitForEvent((e) => e.event === 'registered', config.hangGuardMs, 'the crashing process registered');
    await registered;
    const removed = watcher.next(lacks(instance), `${instance} removed`);
    const killed = performance.now();
    await crashing.kill();
    removalMs.push((await removed) - killed);
  }

  const result = {
    config,
    pushMs: { crossMember: summary(crossMs), sameMember: summary(sameMs) },
    removalAfterKillMs: { median: Math.round(median(removalMs) * 10) / 10, runs: removalMs.map((ms) => Math.round(ms * 10) / 10) },
  };
  console.log(`\nnaming push, change request → subscriber's listener, ${config.changes} changes:`);
  console.log(`  subscriber on another member: p50 ${result.pushMs.crossMember.p50} ms, p99 ${result.pushMs.crossMember.p99} ms, max ${result.pushMs.crossMember.max} ms`);
  console.log(`  baseline, subscriber on the publisher's member: p50 ${result.pushMs.sameMember.p50} ms, p99 ${result.pushMs.sameMember.p99} ms`);
  console.log(`registering process SIGKILLed → removal pushed on another member: median ${result.removalAfterKillMs.median} ms (${result.removalAfterKillMs.runs.join(', ')})`);
  console.log(`\nwrote ${writeResult('naming', result)}`);
} finally {
  await Promise.all(processes.map((p) => p.kill()));
  await Promise.all(clients.map((c) => c.shutdown()));
  await scenario.dispose();
}
process.exit(0);
