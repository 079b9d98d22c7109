import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HarnessProcess, type HarnessEvent } from './harness-process.js';
import { NodeProcess } from './node-process.js';
import { findMainPort } from './ports.js';
import { metricValue, parsePrometheus } from './prometheus.js';

export const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];

/** Three member processes on 127.0.0.1-3 with the same port, and helpers to watch them. */
export class ClusterScenario {
  nodes: NodeProcess[] = [];
  port = 0;
  /** Holds the members' config file; removed by dispose(). */
  private configDir: string | undefined;

  async start(config: Record<string, unknown>): Promise<void> {
    this.port = await findMainPort(HOSTS);
    const members = HOSTS.map((h) => `${h}:${this.port}`).join(',');
    const dir = mkdtempSync(join(tmpdir(), 'nacos-remote-scenario-'));
    this.configDir = dir;
    const file = join(dir, 'node.json');
    writeFileSync(file, JSON.stringify({ memberClient: { keepAliveMs: 1000, healthCheckTimeoutMs: 500 }, ...config }));
    this.nodes = HOSTS.map((h) => new NodeProcess(h, this.port, ['--members', members, '--config', file]));
    await Promise.all(this.nodes.map((n) => n.start()));
  }

  get addresses(): string[] {
    return this.nodes.map((n) => n.address);
  }

  /** ConnectResetRequests each live member has sent so far (from its /metrics). */
  async resetsSent(): Promise<number> {
    let total = 0;
    for (const n of this.nodes) {
      try {
        const text = await (await fetch(`http://${n.address}/metrics`)).text();
        total += metricValue(parsePrometheus(text), 'nacos_remote_pushes_total', { type: 'ConnectResetRequest', outcome: 'sent' });
      } catch {
        // a member that is down sends nothing
      }
    }
    return total;
  }

  /** Whether any live member is shedding (its control API's `shedding.active`). */
  async shedding(): Promise<boolean> {
    const states = await Promise.all(
      this.nodes.map(async (n) => {
        try {
          const control = (await (await fetch(`http://${n.address}/nacos/v2/core/control/connection`)).json()) as { shedding: { active: boolean } };
          return control.shedding.active;
        } catch {
          return false; // a member that is down sheds nothing
        }
      }),
    );
    return states.includes(true);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.dispose()));
    if (this.configDir !== undefined) rmSync(this.configDir, { recursive: true, force: true });
  }
}

const fleetScript = fileURLToPath(new URL('./client-fleet.ts', import.meta.url));

/** Why one request of the fleet failed, as the fleet saw it. */
export interface FleetFailure {
  /** The client's index in the fleet. */
  client: number;
  /** Not counted in `failed`: the client had lost its connection with no replacement yet. */
  whileOrphaned: boolean;
  /** When the request was sent, ms after the fleet started. */
  atMs: number;
  tookMs: number;
  /** The error's class, code, Nacos errorCode and message, and its causes'. */
  error: string;
  /** The client's status, connectionId and server when the request was sent, and when it failed. */
  before: string;
  after: string;
  /** The client's connection events in the seconds up to the failure, ms relative to the send. */
  events: string[];
}

export interface FleetStats {
  perServer: Record<string, number>;
  failed: number;
  failedWhileOrphaned: number;
  requests: number;
  /** The first failures of each kind (counted, while orphaned), described. */
  failures: FleetFailure[];
}

/** The fleet's failures, one block each, for an assertion message. */
export function describeFailures(stats: FleetStats, which: 'counted' | 'all' = 'counted'): string {
  const shown = stats.failures.filter((f) => which === 'all' || !f.whileOrphaned);
  if (shown.length === 0) return '';
  return shown
    .map((f) => `\n- client ${f.client} at ${f.atMs} ms (took ${f.tookMs} ms${f.whileOrphaned ? ', orphaned' : ''}): ${f.error}\n  before: ${f.before}; after: ${f.after}${f.events.map((e) => `\n  ${e}`).join('')}`)
    .join('');
}

/** How a fleet's clients behave (test/support/client-fleet.ts). */
export interface FleetOptions {
  /** Each client's HealthCheck interval; 0: no requests of their own. Default 300 ms. */
  readonly intervalMs?: number;
  /** Each client is a NamingClient that registers one instance of this service. */
  readonly service?: string;
  /** The instances' first two octets: `<ipPrefix>.<i / 256>.<i % 256>:8080`. Default 10.60. */
  readonly ipPrefix?: string;
  /** The clients' keep-alive and health check timeout (default 2000 and 1000 ms), and the naming redo interval. */
  readonly keepAliveMs?: number;
  readonly healthCheckTimeoutMs?: number;
  readonly redoIntervalMs?: number;
}

/** A naming client of the fleet whose start or register failed at first (it goes on in the background). */
export interface FleetSetupFailure {
  instance: string;
  step: 'start' | 'register';
  error: string;
}

/** The client fleet process. */
export class Fleet {
  private readonly process: HarnessProcess;
  /** The instances its clients register (with `service`), from its `ready`. */
  instances: string[] = [];
  /** Of those, the ones whose client's start or register failed, from its `ready`. */
  setupFailures: FleetSetupFailure[] = [];

  constructor(count: number, servers: readonly string[], options: FleetOptions = {}) {
    const flags: [string, string | number | undefined][] = [
      ['--count', count],
      ['--servers', servers.join(',')],
      ['--interval', options.intervalMs],
      ['--service', options.service],
      ['--ip-prefix', options.ipPrefix],
      ['--keep-alive', options.keepAliveMs],
      ['--health-check-timeout', options.healthCheckTimeoutMs],
      ['--redo-interval', options.redoIntervalMs],
    ];
    const args = flags.flatMap(([flag, value]) => (value === undefined ? [] : [flag, String(value)]));
    this.process = new HarnessProcess(process.execPath, ['--import', 'tsx', fleetScript, ...args]);
  }
  async ready(timeoutMs = 60_000): Promise<FleetStats> {
    const ready = (await this.process.waitForEvent((e) => e.event === 'ready', timeoutMs, 'fleet ready')) as HarnessEvent &
      FleetStats & { instances: string[]; setupFailures: FleetSetupFailure[] };
    this.instances = ready.instances;
    this.setupFailures = ready.setupFailures;
    return ready;
  }
  async stats(): Promise<FleetStats> {
    return (await this.process.command('stats', (e) => e.event === 'stats')) as HarnessEvent & FleetStats;
  }
  /** The fleet's client that registered `instance` (ip:port), its connection and whether it thinks it is registered. */
  async whois(instance: string): Promise<HarnessEvent> {
    return this.process.command(`whois ${instance}`, (e) => e.event === 'whois' && e['instance'] === instance);
  }
  stop(): Promise<void> {
    return this.process.stop(20_000);
  }
  /** SIGKILLs the fleet, every client at once, as a crashed process. */
  kill(): Promise<void> {
    return this.process.kill();
  }
}

/** Whether every member is within ±tolerance of an even share. */
export function isEven(perServer: Record<string, number>, addresses: readonly string[], tolerance = 0.1): boolean {
  const total = addresses.reduce((sum, a) => sum + (perServer[a] ?? 0), 0);
  const even = total / addresses.length;
  return addresses.every((a) => Math.abs((perServer[a] ?? 0) - even) <= Math.max(1, even * tolerance));
}
