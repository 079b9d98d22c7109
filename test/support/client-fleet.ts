// A fleet of RpcClients in its own process (so the test's event loop does not carry them), each
// sending a HealthCheck every few hundred ms. Prints JSON lines: `ready`, then `stats` on request.
// Failed requests are counted except while a client has lost its connection and has no
// replacement yet (its server was killed), as the balancing scenario defines them. Each failure,
// counted or not, is also described (error, the client's status and connection before and after,
// its connection events around the request), so a failed assertion says why.
// With --service, each client is a NamingClient (its HealthChecks on the same connection) that
// registers one instance of that service, <ip-prefix>.<i / 256>.<i % 256>:8080; `ready` lists them,
// and in `setupFailures` those whose start or register failed (they go on in the background).
// Usage: node --import tsx test/support/client-fleet.ts --count N --servers ip:port,... [--interval ms, 0: no requests]
//   [--service name] [--ip-prefix 10.60] [--keep-alive ms] [--health-check-timeout ms] [--redo-interval ms]
// (cluster-scenario.ts's Fleet starts it.)
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { ClientStatus, NamingClient, RpcClient } from '../../src/client/index.js';
import { NacosRemoteError, request } from '../../src/protocol/index.js';
import type { FleetFailure } from './cluster-scenario.js';

const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '90' },
    servers: { type: 'string', default: '' },
    interval: { type: 'string', default: '300' },
    service: { type: 'string' },
    'ip-prefix': { type: 'string', default: '10.60' },
    'keep-alive': { type: 'string', default: '2000' },
    'health-check-timeout': { type: 'string', default: '1000' },
    'redo-interval': { type: 'string' },
  },
});
const count = Number(args.count);
const servers = args.servers.split(',');
const intervalMs = Number(args.interval);
const service = args.service;
const ipPrefix = args['ip-prefix'];
const logger = pino({ level: 'silent' });
// Failures described in full, of each kind (counted, while orphaned); later ones are only counted.
const MAX_DESCRIBED = 20;
// How far back a failure's description reaches for the client's connection events.
const EVENT_LOOKBACK_MS = 5000;
// Connection events kept per client for `whois`.
const HISTORY_KEPT = 12;
const startedAt = Date.now();

interface ClientEvent {
  at: number;
  what: string;
}
interface Member {
  index: number;
  client: RpcClient;
  orphaned: boolean;
  losses: number;
  events: ClientEvent[];
  /** The last connection events, however old (for `whois`). */
  history: ClientEvent[];
}
const fleet: Member[] = [];
let failed = 0;
let failedWhileOrphaned = 0;
let requests = 0;
const failures: FleetFailure[] = [];
let running = true;

function remember(member: Member, what: string): void {
  const now = Date.now();
  member.events.push({ at: now, what });
  member.history.push({ at: now, what });
  if (member.history.length > HISTORY_KEPT) member.history.shift();
  while (member.events.length > 0 && member.events[0]!.at < now - EVENT_LOOKBACK_MS) member.events.shift();
}

const namingClients: NamingClient[] = [];
/** Naming clients whose start or register failed (they go on in the background). */
const setupFailures: { instance: string; step: 'start' | 'register'; error: string }[] = [];
const clientOptions = { serverAddresses: servers, logger, keepAliveMs: Number(args['keep-alive']), healthCheckTimeoutMs: Number(args['health-check-timeout']) };
// Unset: the NamingClient's own default.
const redoIntervalMs = args['redo-interval'] === undefined ? undefined : Number(args['redo-interval']);
const instanceOf = (i: number) => `${ipPrefix}.${i >> 8}.${i & 255}`;
for (let i = 0; i < count; i++) {
  const naming = service === undefined ? undefined : new NamingClient({ ...clientOptions, redoIntervalMs });
  if (naming) namingClients.push(naming);
  const client = naming?.rpcClient ?? new RpcClient(clientOptions);
  const member: Member = { index: i, client, orphaned: false, losses: 0, events: [], history: [] };
  client.on('lost', (id, server, reason) => {
    member.orphaned = true;
    member.losses++;
    remember(member, `lost ${id} on ${server}: ${reason}`);
  });
  client.on('connected', (id, server) => {
    member.orphaned = false;
    remember(member, `connected ${id} to ${server}`);
  });
  client.on('disconnected', (id, server) => remember(member, `disconnected ${id} from ${server}`));
  fleet.push(member);
}
if (service === undefined) await Promise.all(fleet.map((m) => m.client.start().catch(() => undefined)));
else {
  // A start that gives up goes on reconnecting in the background (thousands starting at once in
  // one process do); the registration is kept first, so the redo registers it once connected.
  // Both failures are reported in `ready`, for a test whose wait for the instances times out.
  await Promise.all(
    namingClients.map((n, i) =>
      n
        .start()
        .catch((error: unknown) => setupFailures.push({ instance: `${instanceOf(i)}:8080`, step: 'start', error: describeError(error) }))
        .then(() => n.registerInstance(service, { ip: instanceOf(i), port: 8080 }))
        .catch((error: unknown) => setupFailures.push({ instance: `${instanceOf(i)}:8080`, step: 'register', error: describeError(error) })),
    ),
  );
}

/** The error with its class, codes and causes, on one line. */
function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 4; depth++) {
    if (e instanceof NacosRemoteError) parts.push(`${e.name} ${e.code}/${e.errorCode}: ${e.message}`);
    else if (e instanceof Error) parts.push(`${e.name}: ${e.message}`);
    else parts.push(String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(' <- ');
}

function connectionOf(client: RpcClient): string {
  return `${client.status} ${client.connectionId ?? '-'} ${client.currentServer() ?? '-'}`;
}

async function loop(member: Member): Promise<void> {
  if (intervalMs === 0) return;
  await new Promise((r) => setTimeout(r, Math.random() * intervalMs));
  while (running) {
    const orphanedAtStart = member.orphaned;
    const lossesAtStart = member.losses;
    const sentAt = Date.now();
    const before = connectionOf(member.client);
    requests++;
    try {
      await member.client.request(request('HealthCheckRequest'));
    } catch (error) {
      // From the kill until the reconnect: lost before, during, or still lost at the end.
      const whileOrphaned = orphanedAtStart || member.orphaned || member.losses !== lossesAtStart;
      if (whileOrphaned) failedWhileOrphaned++;
      else failed++;
      // Orphaned failures come in bursts at a kill: they must not crowd out the counted ones.
      if (failures.filter((f) => f.whileOrphaned === whileOrphaned).length < MAX_DESCRIBED) {
        failures.push({
          client: member.index,
          whileOrphaned,
          atMs: sentAt - startedAt,
          tookMs: Date.now() - sentAt,
          error: describeError(error),
          before,
          after: connectionOf(member.client),
          events: member.events.map((e) => `${e.at - sentAt} ms: ${e.what}`),
        });
      }
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
const loops = fleet.map((m) => loop(m));

const stats = () => {
  const perServer: Record<string, number> = {};
  for (const m of fleet) {
    const s = m.client.status === ClientStatus.RUNNING ? (m.client.currentServer() ?? 'none') : 'unconnected';
    perServer[s] = (perServer[s] ?? 0) + 1;
  }
  return { event: 'stats', perServer, failed, failedWhileOrphaned, requests, failures };
};
/** Which client registered an instance (<ip-prefix>.<i / 256>.<i % 256>:8080), where it is, and whether it holds its registration. */
const whois = (instance: string) => {
  const [, high, low] = instance.startsWith(`${ipPrefix}.`) ? (/^(\d+)\.(\d+):/.exec(instance.slice(ipPrefix.length + 1)) ?? []) : [];
  const index = Number(high) * 256 + Number(low);
  const member = high === undefined ? undefined : fleet[index];
  const naming = namingClients[index];
  if (member === undefined || naming === undefined || service === undefined) return { event: 'whois', instance, client: null };
  const now = Date.now();
  return {
    event: 'whois',
    instance,
    client: index,
    connection: connectionOf(member.client),
    registered: naming.isRegistered(service),
    losses: member.losses,
    history: member.history.map((e) => `${e.at - now} ms: ${e.what}`),
  };
};
const instances = service === undefined ? [] : namingClients.map((_, i) => `${instanceOf(i)}:8080`);
console.log(JSON.stringify({ ...stats(), event: 'ready', instances, setupFailures }));
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'stats') console.log(JSON.stringify(stats()));
  if (line.startsWith('whois ')) console.log(JSON.stringify(whois(line.slice('whois '.length))));
  if (line === 'quit') {
    running = false;
    void Promise.all(loops)
      .then(() => Promise.all(service === undefined ? fleet.map((m) => m.client.shutdown()) : namingClients.map((n) => n.shutdown())))
      .then(() => {
        console.log(JSON.stringify({ ...stats(), event: 'bye' }));
        process.exit(0);
      });
  }
});
