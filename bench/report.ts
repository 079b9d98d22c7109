// The benchmark report: reads each benchmark's bench/results/<name>.json and writes latest.json
// (all of them, one file), latest.md (tables) and, for a full run, the README's performance
// section between its `<!-- bench:start -->` and `<!-- bench:end -->` markers.
// Standalone (rebuild from the results on disk): node --import tsx bench/report.ts [--no-readme]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatNumber } from './support/format.js';
import type { TransportKind } from '../src/server/transport/types.js';
import type { ConfigMysqlLane, ConfigServerFigures, LoadFigures, NamingServerFigures, PushSummary, QueryFigures, UnaryFigures } from './support/result-types.js';
import { RESULTS_DIR } from './support/results.js';
import { isEntryPoint } from './support/standalone.js';
import { resultLabel, TARGET_LABEL, type TargetKey } from './support/targets.js';
import { REPO_ROOT } from './support/server-process.js';

interface Percentiles {
  readonly n?: number;
  readonly p50: number;
  readonly p99: number;
  readonly max?: number;
}
interface Common {
  readonly date: string;
  readonly machine: { readonly cores: number; readonly cpu?: string; readonly node: string };
}
interface Ratio {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}
interface UnaryResult extends Common {
  readonly config: { readonly rounds: number; readonly durationMs: number; readonly connections: number; readonly inFlight: number; readonly h2load: string | null };
  readonly summary: readonly UnaryFigures[];
  readonly ratios: readonly { readonly a?: string; readonly b?: string; readonly pair: string; readonly load: string; readonly throughput: Ratio; readonly perServerCpuSecond: Ratio }[];
}
interface ConnectionsResult extends Common {
  readonly config: { readonly levels: readonly number[]; readonly closes: number; readonly closesPerSecond: number };
  readonly results: readonly {
    readonly target: string;
    readonly label: string;
    /** Our node's transport; absent for the baselines and in results from before the http2 transport (grpc-js). */
    readonly transport?: TransportKind;
    readonly levels: readonly {
      readonly connections: number;
      readonly rssKiBPerConnection: number;
      readonly heapKiBPerConnection: number | null;
      readonly setupsPerSecond: number;
      readonly serverCpuMicrosPerSetup?: number;
    }[];
    readonly setupErrors: number;
    readonly fanOut: { readonly connections: number; readonly medianMs: number; readonly acksPerSecond: number } | null;
    readonly close: { readonly samples: number; readonly missing: number; readonly p50Ms: number; readonly p99Ms: number } | null;
  }[];
}
interface RegistrationResult extends Common {
  readonly setups: number;
  readonly concurrency: number;
  readonly serverMs: Percentiles;
  readonly clientMs: Percentiles;
  readonly serverCheckMs: Percentiles;
}
interface ClientResult extends Common {
  readonly clients: number;
  readonly startMs: Percentiles;
  readonly perClient: { readonly heapKiB: number; readonly rssKiB: number };
  readonly bareChannel: { readonly heapKiB: number; readonly rssKiB: number };
}
interface RebalanceOutcome {
  readonly seconds: number | null;
  readonly moves: number;
  readonly failed: number;
}
interface RebalanceResult extends Common {
  readonly config: { readonly clients: number; readonly runs: number; readonly limitMs: number };
  readonly minimumMoves: number;
  readonly balancingOn: { readonly medianSeconds: number | null; readonly medianMoves: number; readonly movesPerMinimum: number; readonly failedRequests: number };
  readonly baseline: (RebalanceOutcome & { readonly movesPerMinimum: number; readonly removalsPerSubscriber?: number | null }) | null;
  /** Every client registering an instance: removals a subscriber saw from the restart on (absent in results from before). */
  readonly removals?: { readonly median: number | null; readonly perMovedClient: number | null };
}
interface NamingResult extends Common {
  readonly config: { readonly changes: number; readonly kills: number };
  /** Across members: absent when the run skipped that part. */
  readonly pushMs?: { readonly crossMember: Percentiles; readonly sameMember: Percentiles };
  readonly removalAfterKillMs?: { readonly median: number; readonly runs: readonly number[] };
  /** One server at a time, ours and the peers (absent in results from before). */
  readonly servers?: readonly NamingServerFigures[];
}
interface ConfigResult extends Common {
  readonly config: { readonly store: string; readonly levels: readonly number[]; readonly changes: number; readonly clientPublishes: number };
  readonly notifyMs: Percentiles;
  /** Absent in results from before the per-server figures. */
  readonly servers?: readonly ConfigServerFigures[];
}

/** bench/config-mysql.ts: publish on one MariaDB, ours against Nacos 2.2.4, and ours on SQLite. */
interface ConfigMysqlResult extends Common {
  readonly config: { readonly rounds: number };
  readonly summary: Readonly<Partial<Record<ConfigMysqlLane, { readonly requestsPerSecond: number; readonly perServerCpuSecond: number }>>>;
  readonly versusNacos?: { readonly perSecond: number; readonly perServerCpuSecond: number };
  readonly mariadbVersusSqlite: { readonly perSecond: number; readonly perServerCpuSecond: number };
  /** ConfigQuery / HealthCheck on each of our nodes; absent in results from before it. */
  readonly query?: Readonly<Partial<Record<ConfigMysqlLane, QueryFigures>>>;
  readonly nacosError?: string;
}

/** A query / HealthCheck ratio per second, and per server CPU-second where the results have it. */
const queryRatios = (q: QueryFigures): string => `${q.medianRatio.toFixed(2)}${q.medianCpuRatio === undefined ? '' : `, per server CPU-s ${q.medianCpuRatio.toFixed(2)}`}`;

interface Results {
  readonly unary?: UnaryResult;
  readonly connections?: ConnectionsResult;
  readonly registration?: RegistrationResult;
  readonly registrationConcurrent?: RegistrationResult;
  readonly client?: ClientResult;
  readonly rebalance?: RebalanceResult;
  readonly naming?: NamingResult;
  readonly config?: ConfigResult;
  readonly configMysql?: ConfigMysqlResult;
}

function read<T>(dir: string, name: string): T | undefined {
  const path = join(dir, `${name}.json`);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined;
}

const num = formatNumber;
const ratio = (r: Ratio | undefined): string => (r === undefined ? '-' : r.min === r.max ? r.median.toFixed(2) : `${r.median.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)})`);

function table(header: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): string {
  const sep = header.map((_, i) => ((align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'l' ? '---' : '--:'));
  return [header, sep, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

const TARGET_LABELS: Readonly<Record<string, string>> = TARGET_LABEL;
const LOAD_LABELS: Record<string, string> = { ServerCheck: 'ServerCheck', HealthCheck: 'HealthCheck', h2load: 'ServerCheck by h2load' };

/** A target of a unary result as its rows recorded it (see resultLabel). */
const unaryLabel = (u: UnaryResult, target: string): string => resultLabel(target, u.summary.find((s) => s.target === target)?.transport);

/** A ratio's pair; results from before the target keys carry only the label of the day, when `ours` was grpc-js. */
const pairLabel = (u: UnaryResult, r: UnaryResult['ratios'][number]): string =>
  r.a !== undefined && r.b !== undefined ? `${unaryLabel(u, r.a)} / ${unaryLabel(u, r.b)}` : r.pair.replace(/^ours \//, `${resultLabel('ours', undefined)} /`);

function unarySection(u: UnaryResult): string {
  const rows = u.summary.map((s) => [
    resultLabel(s.target, s.transport),
    LOAD_LABELS[s.load] ?? s.load,
    num(s.requestsPerSecond),
    num(s.p50Ms, 2),
    num(s.p99Ms, 2),
    num(s.serverCores, 2),
    num(s.perServerCpuSecond),
    String(s.errors),
  ]);
  const ratios = u.ratios
    .filter((r) => r.pair.startsWith('ours'))
    .map((r) => [pairLabel(u, r), LOAD_LABELS[r.load] ?? r.load, ratio(r.throughput), ratio(r.perServerCpuSecond)]);
  return [
    `### Unary calls`,
    ``,
    `${u.config.connections} connections × ${u.config.inFlight / u.config.connections} calls in flight, ${u.config.durationMs / 1000} s per measurement, median of ${u.config.rounds} round(s); ` +
      `HealthCheck runs on registered connections. Our driver (raw node:http2, 2 processes) shares the 2 cores with the server, so the servers are compared per server CPU-second too, ` +
      `and h2load (${u.config.h2load ?? 'not installed'}) measures capacity.`,
    ``,
    table(['server', 'load', 'req/s', 'p50 ms', 'p99 ms', 'server cores', 'req per server CPU-s', 'errors'], rows, ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r']),
    ``,
    `Ratios within a round, median (range):`,
    ``,
    table(['pair', 'load', 'throughput', 'per server CPU-s'], ratios, ['l', 'l', 'r', 'r']),
  ].join('\n');
}

function connectionsSection(c: ConnectionsResult): string {
  const levels = c.config.levels;
  const curve = (pick: (l: ConnectionsResult['results'][number]['levels'][number]) => number | null, digits: number) =>
    c.results.map((r) => [resultLabel(r.target, r.transport), ...levels.map((_, i) => num(r.levels[i] === undefined ? null : pick(r.levels[i]!), digits))]);
  const header = ['server', ...levels.map((l) => `${num(l)} conns`)];
  return [
    `### Idle registered connections`,
    ``,
    `Real protocol connections (ServerCheck, ConnectionSetupRequest, HealthCheck) from 4 driver processes over 127.0.0.1–16. ` +
      `Per connection: (RSS at the level − RSS with none) / level; heap after a full GC. The top level stays under 20,000: ` +
      `this machine allows 20,000 open files per process.`,
    ``,
    `RSS per connection, KiB:`,
    ``,
    table(header, curve((l) => l.rssKiBPerConnection, 1)),
    ``,
    `JS heap per connection after GC, KiB:`,
    ``,
    table(header, curve((l) => l.heapKiBPerConnection, 1)),
    ``,
    `Setups per second while ramping to each level (driver-side):`,
    ``,
    table(header, curve((l) => l.setupsPerSecond, 0)),
    ``,
    `Server CPU per setup over the same ramps, µs (the server's own cost, whoever is the bottleneck; r-nacos counts all its threads):`,
    ``,
    table(header, curve((l) => l.serverCpuMicrosPerSetup ?? null, 0)),
    ``,
    `Push fan-out (one ClientDetectionRequest to every connection, until all answered) and close ` +
      `(a client drops its TCP connection → the server has it gone; ours: unregistered and listeners told; ${num(c.config.closes)} closes at ${c.config.closesPerSecond}/s):`,
    ``,
    table(
      ['server', 'fan-out to', 'fan-out ms', 'acks/s', 'close p50 ms', 'close p99 ms'],
      c.results.map((r) => [
        resultLabel(r.target, r.transport),
        r.fanOut ? num(r.fanOut.connections) : '-',
        r.fanOut ? num(r.fanOut.medianMs) : '-',
        r.fanOut ? num(r.fanOut.acksPerSecond) : '-',
        r.close ? num(r.close.p50Ms, 2) : '-',
        r.close ? num(r.close.p99Ms, 2) : '-',
      ]),
    ),
  ].join('\n');
}

function registrationSection(r1: RegistrationResult | undefined, r16: RegistrationResult | undefined): string {
  const rows = [r1, r16]
    .filter((r): r is RegistrationResult => r !== undefined)
    .map((r) => [String(r.concurrency), num(r.setups), num(r.serverMs.p50, 3), num(r.serverMs.p99, 3), num(r.clientMs.p50, 2), num(r.clientMs.p99, 2), num(r.serverCheckMs.p50, 2), num(r.serverCheckMs.p99, 2)]);
  return [
    `### Registration`,
    ``,
    `Server: ConnectionSetupRequest received → registered and listeners told. Client: setup written → first HealthCheck not answered 301. ` +
      `Baseline: a ServerCheck round trip on the same kind of fresh connection.`,
    ``,
    table(['concurrency', 'setups', 'server p50 ms', 'server p99 ms', 'client p50 ms', 'client p99 ms', 'ServerCheck p50 ms', 'ServerCheck p99 ms'], rows),
  ].join('\n');
}

function clientSection(c: ClientResult): string {
  return [
    `### Client`,
    ``,
    table(
      ['', `${c.clients} RpcClients`, 'baseline: bare grpc-js channel after one ServerCheck'],
      [
        ['start() → RUNNING p50 / p99 ms (includes the 100 ms setup wait)', `${num(c.startMs.p50)} / ${num(c.startMs.p99)}`, '-'],
        ['heap per client, KiB', num(c.perClient.heapKiB, 1), num(c.bareChannel.heapKiB, 1)],
        ['RSS per client, KiB', num(c.perClient.rssKiB, 1), num(c.bareChannel.rssKiB, 1)],
      ],
      ['l', 'r', 'r'],
    ),
  ].join('\n');
}

function rebalanceSection(r: RebalanceResult, plotPath: string): string {
  const on = r.balancingOn;
  const off = r.baseline;
  const seconds = (s: number | null) => (s === null ? `not even within ${r.config.limitMs / 1000} s` : `${s.toFixed(1)} s`);
  return [
    `### Rebalance after a restart`,
    ``,
    `3 members on 127.0.0.1–3, ${num(r.config.clients)} clients (our ${r.removals ? 'NamingClient' : 'RpcClient'}, one process); one member SIGKILLed, its clients move to the others, ` +
      `then it restarts. Time from the restart until every member is within ±10 % of even; moves are ConnectResetRequests sent (minimum ${num(r.minimumMoves)}).`,
    ``,
    ...(r.removals
      ? [
          `Each client is a NamingClient that registered one instance of one service; a subscriber on each member that stayed up counts the instances that vanished from its list ` +
            `from the restart on (subscriber-visible removals, the median subscriber; goal 0).`,
          ``,
        ]
      : []),
    table(
      ['', 'to ±10 %', 'moves', 'moves / minimum', 'failed requests', 'removals seen'],
      [
        [`balancing on (median of ${r.config.runs})`, seconds(on.medianSeconds), num(on.medianMoves), on.movesPerMinimum.toFixed(2), num(on.failedRequests), num(r.removals?.median)],
        ...(off ? [['balancing off, smartReloadCluster every 1 s', seconds(off.seconds), num(off.moves), off.movesPerMinimum.toFixed(2), num(off.failed), num(off.removalsPerSubscriber)]] : []),
      ],
      ['l', 'r', 'r', 'r', 'r', 'r'],
    ),
    ``,
    `![connections per member over time, balancing on and off](${plotPath})`,
  ].join('\n');
}

function namingSection(n: NamingResult): string | undefined {
  if (n.pushMs === undefined || n.removalAfterKillMs === undefined) return undefined;
  const cross = n.pushMs.crossMember;
  const same = n.pushMs.sameMember;
  return [
    `### Naming across members`,
    ``,
    `3 member processes, default config (sync debounce 50 ms, push delay 20 ms). Our NamingClient on member A changes its instance's metadata ` +
      `${num(n.config.changes)} times, one at a time; each change is timed from the register call to a subscriber's listener. ` +
      `Baseline: a subscriber on member A itself, for the same changes. Removal: a registering process on A SIGKILLed → the push without it on member B.`,
    ``,
    table(
      ['', 'p50 ms', 'p99 ms', 'max ms'],
      [
        ['change → subscriber on another member', num(cross.p50, 1), num(cross.p99, 1), cross.max === undefined ? '-' : num(cross.max, 1)],
        ['baseline: change → subscriber on the same member', num(same.p50, 1), num(same.p99, 1), same.max === undefined ? '-' : num(same.max, 1)],
      ],
      ['l', 'r', 'r', 'r'],
    ),
    ``,
    `Registering process SIGKILLed → removal pushed on another member: median ${num(n.removalAfterKillMs.median, 1)} ms over ${n.removalAfterKillMs.runs.length} runs.`,
  ].join('\n');
}

const percentiles = (p: PushSummary | undefined): string => (p === undefined || p.lastMs.n === 0 ? '-' : `${num(p.lastMs.p50, 1)} / ${num(p.lastMs.p99, 1)}`);
const perCpu = (f: LoadFigures | null | undefined): string => (f ? `${num(f.requestsPerSecond)} (${num(f.perServerCpuSecond)})` : '-');
/** A part a peer could not do: shown as a note under the tables, not as a zero. */
const partNotes = (servers: readonly { readonly label: string; readonly errors: readonly string[] }[]): string[] =>
  servers.flatMap((s) => s.errors.map((e) => `- ${s.label}: ${e.split('\n')[0]}`));

function namingServersSection(servers: readonly NamingServerFigures[]): string {
  const levels = [...new Set(servers.flatMap((s) => s.push.map((p) => p.subscribers)))].sort((a, b) => a - b);
  const notes = partNotes(servers);
  return [
    `### Naming on one server`,
    ``,
    `Each server below (ours and the peers that ran), one at a time, over raw gRPC requests from driver processes. Register: 8 registered connections × 4 calls in flight, ` +
      `each call a new address for one of 16 services (batch: 10 instances); req/s with requests per server CPU-second in brackets. ` +
      `Push: an instance registered at a new address, timed from the request until the last subscribing connection got the NotifySubscriberRequest (each acks at once). ` +
      `Disconnect: a registering connection dropped → the last subscriber told. CPU per subscriber told: the server's own CPU time over the disconnect runs (each a register's push and the removal's) per subscriber push. Memory: RSS (ours: heap after GC) over the instances registered by batch, per instance; a JVM's RSS (Nacos) follows its heap sizing more than the items and may even shrink.`,
    ``,
    table(
      ['server', 'InstanceRequest/s (per CPU-s)', 'BatchInstanceRequest/s (per CPU-s)', ...levels.map((l) => `push to ${num(l)} p50 / p99 ms`), 'disconnect → all told p50 / p99 ms', 'server CPU per subscriber told µs', 'B per instance RSS / heap'],
      servers.map((s) => [
        s.label,
        perCpu(s.register?.single),
        perCpu(s.register?.batch),
        ...levels.map((l) => percentiles(s.push.find((p) => p.subscribers === l))),
        s.disconnect && s.disconnect.lastMs.n > 0 ? `${num(s.disconnect.lastMs.p50, 1)} / ${num(s.disconnect.lastMs.p99, 1)}` : '-',
        // Results from before the figure was measured lack it.
        s.disconnect?.cpu === undefined ? '-' : num(s.disconnect.cpu.serverUs, 1),
        s.memory ? `${num(s.memory.rssBytesPerItem)} / ${num(s.memory.heapBytesPerItem)}` : '-',
      ]),
    ),
    ...(notes.length > 0 ? [``, `Parts a server could not do:`, ``, ...notes] : []),
  ].join('\n');
}

function configSection(c: ConfigResult & { readonly servers: readonly ConfigServerFigures[] }): string {
  const levels = c.config.levels;
  const notes = partNotes(c.servers);
  return [
    `### Config`,
    ``,
    `Each server below (ours on store ${c.config.store}, and the peers that ran), one at a time, over raw gRPC requests from driver processes (8 registered connections × 8 calls in flight). ` +
      `Query: ConfigQueryRequest for one key against HealthCheck on the same server, the ratio their throughput's (median of rounds). ` +
      `Publish: each call a new content for one of 16 keys. req/s with requests per server CPU-second in brackets. ` +
      `Change: a publish, timed until the last listening connection got its ConfigChangeNotifyRequest. Memory: per listened key, over keys listened by ConfigBatchListenRequest (a JVM's RSS, as for naming, is noise).`,
    ``,
    table(
      ['server', 'HealthCheck/s (per CPU-s)', 'ConfigQuery/s (per CPU-s)', 'query / HealthCheck', 'ConfigPublish/s (per CPU-s)', ...levels.map((l) => `change to ${num(l)} p50 / p99 ms`), 'B per key RSS / heap'],
      c.servers.map((s) => {
        const round = s.query?.rounds.at(-1);
        return [
          s.label,
          perCpu(round?.health),
          perCpu(round?.query),
          s.query ? queryRatios(s.query) : '-',
          perCpu(s.publish),
          ...levels.map((l) => percentiles(s.change.find((p) => p.listeners === l))),
          s.memory ? `${num(s.memory.rssBytesPerItem)} / ${num(s.memory.heapBytesPerItem)}` : '-',
        ];
      }),
    ),
    ``,
    `Our ConfigClient publishing → another ConfigClient's listener called, one at a time over ${num(c.config.clientPublishes)} publishes: p50 ${num(c.notifyMs.p50, 1)} ms, p99 ${num(c.notifyMs.p99, 1)} ms.`,
    ...(notes.length > 0 ? [``, `Parts a server could not do:`, ``, ...notes] : []),
  ].join('\n');
}

const CONFIG_MYSQL_LANES: readonly (readonly [ConfigMysqlLane, string])[] = [
  ['ours-mariadb', 'ours, MariaDB'],
  ['nacos-mariadb', 'Nacos 2.2.4, MariaDB'],
  ['ours-sqlite', 'ours, SQLite'],
];

function configMysqlSection(c: ConfigMysqlResult): string {
  return [
    `### Config publish on MariaDB`,
    ``,
    `One MariaDB server: our node on database A, Nacos 2.2.4 on database B, each taking ConfigPublishRequests as above; our node on its SQLite file beside them. ` +
      `Median of ${c.config.rounds} round(s), ours and Nacos swapping places each round; per server CPU-second charges the server's process (Nacos: the JVM), not MariaDB.`,
    ``,
    table(
      ['server, store', 'ConfigPublish/s', 'per server CPU-s'],
      CONFIG_MYSQL_LANES.filter(([lane]) => c.summary[lane] !== undefined).map(([lane, label]) => [label, num(c.summary[lane]!.requestsPerSecond), num(c.summary[lane]!.perServerCpuSecond)]),
    ),
    ``,
    c.versusNacos === undefined
      ? `Nacos 2.2.4 did not run${c.nacosError === undefined ? '' : ' (it did not start)'}; ours on MariaDB / ours on SQLite: ${c.mariadbVersusSqlite.perSecond.toFixed(2)} per second.`
      : `Ours / Nacos 2.2.4 on the same MariaDB: ${c.versusNacos.perSecond.toFixed(2)} per second, ${c.versusNacos.perServerCpuSecond.toFixed(2)} per server CPU-second.`,
    ...CONFIG_MYSQL_LANES.flatMap(([lane, label]) => {
      const q = c.query?.[lane];
      return q === undefined ? [] : [``, `ConfigQuery / HealthCheck on ${label} (median of ${q.rounds.length} rounds): ${queryRatios(q)}.`];
    }),
  ].join('\n');
}

/** Where we stand against the issue's targets, from the figures at hand. */
/** Pushes never received: a p99 over the received ones alone would look better than the run was. */
const missingNote = (missing: number): string => (missing > 0 ? `; ${num(missing)} missing` : '');

function targetsSection(results: Results): string {
  const rows: string[][] = [];
  const u = results.unary;
  if (u) {
    // By target keys, not labels (a label may name a version); results from before the keys: by label.
    const find = (b: TargetKey, load: string) =>
      u.ratios.find((r) => r.load === load && r.a === 'ours' && r.b === b) ?? u.ratios.find((r) => r.load === load && r.a === undefined && r.pair === `ours / ${TARGET_LABELS[b]}`);
    const ours = unaryLabel(u, 'ours');
    // A target whose ratio the results lack says so (a renamed pair once dropped its row unseen).
    const missing = (b: TargetKey) => `missing: no ${ours} / ${TARGET_LABELS[b]} ratio in the unary results`;
    const unaryRow = (b: TargetKey, target: string, measured: (r: UnaryResult['ratios'][number]) => string) => {
      const found = find(b, 'h2load') ?? find(b, 'ServerCheck');
      rows.push([target, found ? `${ours}: ${measured(found)}` : missing(b)]);
    };
    const throughput = (r: UnaryResult['ratios'][number]) => `${r.throughput.median.toFixed(2)} (${LOAD_LABELS[r.load] ?? r.load}); per server CPU-s ${r.perServerCpuSecond.median.toFixed(2)}`;
    unaryRow('raw-h2', 'unary throughput ≥ 0.85 × raw node:http2', throughput);
    unaryRow('grpc-js', 'unary throughput ≥ 0.85 × bare grpc-js', throughput);
    if (u.summary.some((s) => s.target === 'r-nacos')) unaryRow('r-nacos', 'unary ≥ r-nacos per core', (r) => `${r.perServerCpuSecond.median.toFixed(2)} per server CPU-s`);
  }
  const ours = results.connections?.results.find((r) => r.target === 'ours');
  if (ours) {
    const label = resultLabel(ours.target, ours.transport);
    const top = ours.levels.at(-1);
    if (top) rows.push(['≥ 20,000 connections at ≤ 48 KiB RSS each', `${label}: ${num(top.connections)} at ${top.rssKiBPerConnection.toFixed(1)} KiB (open-file limit 20,000 per process)`]);
    if (ours.fanOut) rows.push(['push fan-out to 10k < 1 s', `${label}: ${num(ours.fanOut.medianMs)} ms to ${num(ours.fanOut.connections)}`]);
    if (ours.close) rows.push(['close → unregistered p99 < 50 ms', `${label}: ${ours.close.p99Ms.toFixed(1)} ms`]);
  }
  const reg = results.registration;
  if (reg) rows.push(['registration p99 < 5 ms', `server ${reg.serverMs.p99.toFixed(3)} ms, client ${reg.clientMs.p99.toFixed(2)} ms`]);
  const rb = results.rebalance;
  if (rb) {
    rows.push([
      'rebalance < 10 s, moves ≤ 1.3 × minimum, 0 failed',
      `${rb.balancingOn.medianSeconds === null ? 'not even' : `${rb.balancingOn.medianSeconds.toFixed(1)} s`}, ${rb.balancingOn.movesPerMinimum.toFixed(2)} ×, ${rb.balancingOn.failedRequests} failed`,
    ]);
  }
  const naming = results.naming?.servers;
  const ourNaming = naming?.find((s) => s.target === 'ours');
  if (ourNaming) {
    const push1k = ourNaming.push.find((p) => p.subscribers === 1000);
    if (push1k) rows.push(['naming push to 1,000 subscribers p99 < 200 ms', `${num(push1k.lastMs.p99, 1)} ms${missingNote(push1k.missing)}`]);
    if (ourNaming.disconnect) rows.push(['naming disconnect → every subscriber told p99 < 100 ms', `${num(ourNaming.disconnect.lastMs.p99, 1)} ms (${num(ourNaming.disconnect.subscribers)} subscribers)`]);
    const nacos = naming?.find((s) => s.target === 'nacos')?.register;
    if (ourNaming.register && nacos) {
      const single = ourNaming.register.single.perServerCpuSecond / nacos.single.perServerCpuSecond;
      const batch = ourNaming.register.batch.perServerCpuSecond / nacos.batch.perServerCpuSecond;
      rows.push(['register ≥ 0.5 × Nacos 2.2.4 per server CPU-s', `single ${single.toFixed(2)}, batch ${batch.toFixed(2)}`]);
    }
  }
  const ourConfig = results.config?.servers?.find((s) => s.target === 'ours');
  if (ourConfig) {
    if (ourConfig.query) rows.push(['config query ≥ 0.8 × our HealthCheck throughput', queryRatios(ourConfig.query)]);
    const change1k = ourConfig.change.find((c) => c.listeners === 1000);
    if (change1k) rows.push(['config change to 1,000 listeners p99 < 200 ms', `${num(change1k.lastMs.p99, 1)} ms${missingNote(change1k.missing)}`]);
  }
  const queryOnMariadb = results.configMysql?.query?.['ours-mariadb'];
  if (queryOnMariadb) rows.push(['config query on MariaDB ≥ 0.8 × our HealthCheck throughput', queryRatios(queryOnMariadb)]);
  const publishOnMariadb = results.configMysql?.versusNacos;
  if (publishOnMariadb) {
    rows.push(['config publish on MariaDB ≥ Nacos 2.2.4 on the same database', `${publishOnMariadb.perSecond.toFixed(2)} per second, ${publishOnMariadb.perServerCpuSecond.toFixed(2)} per server CPU-s`]);
  }
  if (rb?.removals) {
    const { median: seen, perMovedClient } = rb.removals;
    rows.push(['rebalance with instances: subscriber-visible removals 0', seen === null || perMovedClient === null ? 'not measured: every subscriber was moved' : `${num(seen)} (${perMovedClient.toFixed(2)} per moved client)`]);
  }
  return [`### Targets`, ``, table(['target', 'measured'], rows, ['l', 'l'])].join('\n');
}

export interface ReportOptions {
  readonly mode: 'full' | 'quick' | 'as found';
  readonly updateReadme: boolean;
  readonly dir?: string;
}

export function writeReport(options: ReportOptions): { markdown: string; paths: string[] } {
  const dir = options.dir ?? RESULTS_DIR;
  const results: Results = {
    unary: read<UnaryResult>(dir, 'unary'),
    connections: read<ConnectionsResult>(dir, 'connections'),
    registration: read<RegistrationResult>(dir, 'registration-c1'),
    registrationConcurrent: read<RegistrationResult>(dir, 'registration-c16'),
    client: read<ClientResult>(dir, 'client'),
    rebalance: read<RebalanceResult>(dir, 'rebalance'),
    naming: read<NamingResult>(dir, 'naming'),
    config: read<ConfigResult>(dir, 'config'),
    configMysql: read<ConfigMysqlResult>(dir, 'config-mysql'),
  };
  const any = Object.values(results).find((r): r is Common => r !== undefined);
  const plotFromRepo = 'bench/results/rebalance.svg';
  const sections = [
    any ? `Measured with \`npm run bench\`${options.mode === 'quick' ? ' --quick (small scale)' : ''} on ${any.machine.cores} cores (${any.machine.cpu ?? 'unknown CPU'}), Node.js ${any.machine.node}, ${any.date.slice(0, 10)}. Every figure has a baseline measured in the same run.` : 'No results yet: run `npm run bench`.',
    targetsSection(results),
    results.unary && unarySection(results.unary),
    results.connections && connectionsSection(results.connections),
    (results.registration || results.registrationConcurrent) && registrationSection(results.registration, results.registrationConcurrent),
    results.client && clientSection(results.client),
    results.rebalance && rebalanceSection(results.rebalance, plotFromRepo),
    results.naming && namingSection(results.naming),
    results.naming?.servers && namingServersSection(results.naming.servers),
    results.config?.servers && configSection({ ...results.config, servers: results.config.servers }),
    results.configMysql && configMysqlSection(results.configMysql),
  ].filter((s): s is string => typeof s === 'string');
  const markdown = `${sections.join('\n\n')}\n`;
  const paths = [join(dir, 'latest.json'), join(dir, 'latest.md')];
  writeFileSync(paths[0]!, `${JSON.stringify({ mode: options.mode, generated: new Date().toISOString(), ...results }, null, 2)}\n`);
  // latest.md sits in bench/results: the plot is next to it.
  writeFileSync(paths[1]!, markdown.replace(`(${plotFromRepo})`, '(rebalance.svg)'));
  if (options.updateReadme) paths.push(updateReadme(markdown));
  return { markdown, paths };
}

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

/** Replaces the README's text between the bench markers (headings one level down from ##). */
function updateReadme(markdown: string): string {
  const path = join(REPO_ROOT, 'README.md');
  const readme = readFileSync(path, 'utf8');
  const from = readme.indexOf(START);
  const to = readme.indexOf(END);
  if (from < 0 || to < from) throw new Error(`README.md has no ${START} ... ${END} section`);
  const generated = `${START}\n<!-- generated by bench/report.ts from bench/results/*.json: edit those, not this -->\n${markdown}${END}`;
  writeFileSync(path, readme.slice(0, from) + generated + readme.slice(to + END.length));
  return path;
}

if (isEntryPoint(import.meta.url)) {
  const { values } = parseArgs({ options: { 'no-readme': { type: 'boolean', default: false } } });
  const report = writeReport({ mode: 'as found', updateReadme: !values['no-readme'] });
  console.log(report.markdown);
  console.log(`wrote ${report.paths.join(', ')}`);
}
