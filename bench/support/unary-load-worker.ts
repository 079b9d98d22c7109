// A load driver process for unary benchmarks (forked by unary-load.ts): holds its share of the
// connections with h2-grpc-client.ts and keeps a fixed number of calls in flight on each.
// Protocol over IPC ('advanced' serialization): prepare → ready, run → result, close → exit.
import { decodeEnvelope } from '../../src/protocol/index.js';
import { H2GrpcConnection } from './h2-grpc-client.js';
import { callFrames, expectedReply, moduleLabel, type UnaryCall } from './unary-calls.js';

export type { UnaryCall } from './unary-calls.js';

export interface DriverPlan {
  readonly host: string;
  readonly port: number;
  readonly call: UnaryCall;
  /** Source address per connection (its length is the number of connections); '' binds none. */
  readonly localAddresses: readonly string[];
  readonly inFlightPerConnection: number;
  /** Register every connection first (setup on the bi-stream), as HealthCheck needs on a real server. */
  readonly register: boolean;
  /** Check that the server's connectionId names our source address and port (a real server does). */
  readonly checkConnectionId: boolean;
  readonly callTimeoutMs: number;
  /** PEM CA to trust: every connection speaks TLS. */
  readonly tlsCa?: string;
}

export type ToDriver =
  | { readonly type: 'prepare'; readonly plan: DriverPlan }
  | { readonly type: 'run'; readonly warmupMs: number; readonly durationMs: number }
  | { readonly type: 'close' };

export interface DriverResult {
  /** Calls answered as expected that completed inside the measured window. */
  readonly completed: number;
  /** Failed calls or unexpected replies during the whole run (warm-up included). */
  readonly errors: number;
  readonly firstError?: string;
  /** Latency of each completed call, ms. */
  readonly latenciesMs: Float64Array;
  /** This driver's CPU time during the measured window, ms. */
  readonly cpuMs: number;
}

export type FromDriver =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly result: DriverResult }
  | { readonly type: 'failed'; readonly error: string };

let connections: H2GrpcConnection[] = [];
let plan: DriverPlan | undefined;

function send(message: FromDriver): void {
  process.send!(message);
}

async function prepare(p: DriverPlan): Promise<void> {
  plan = p;
  connections = await Promise.all(
    p.localAddresses.map((localAddress) => H2GrpcConnection.connect({ host: p.host, port: p.port, ...(localAddress === '' ? {} : { localAddress }), ...(p.tlsCa === undefined ? {} : { tlsCa: p.tlsCa }) })),
  );
  await Promise.all(
    connections.map(async (connection) => {
      const module = moduleLabel(p.call);
      const connectionId = p.register ? await connection.register({ source: 'sdk', ...(module === undefined ? {} : { module }) }) : await connection.serverCheck();
      // `<ms>_<remoteIp>_<remotePort>_<memberAddress>`: the client's end follows the millisecond.
      const clientEnd = `_${connection.localAddress}_${connection.localPort}_`;
      if (p.checkConnectionId && connectionId.indexOf(clientEnd) !== connectionId.indexOf('_')) {
        throw new Error(`connectionId ${connectionId} does not name ${clientEnd} as its client's end`);
      }
    }),
  );
}

async function run(warmupMs: number, durationMs: number): Promise<DriverResult> {
  const p = plan!;
  const expectedType = expectedReply(p.call);
  // Encoded and framed once per connection (they differ by clientIp and instance), sent in turn.
  const rings = connections.map((c) => callFrames(p.call, c.localAddress, c.localPort));
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const from = start + warmupMs;
  const to = from + durationMs;
  let cpuAtFrom: NodeJS.CpuUsage | undefined;
  const cpuTimer = setTimeout(() => (cpuAtFrom = process.cpuUsage()), warmupMs);

  async function lane(connection: H2GrpcConnection, ring: readonly Buffer[], offset: number): Promise<void> {
    for (let turn = offset; performance.now() < to; turn++) {
      const t0 = performance.now();
      try {
        const reply = await connection.unaryFrame(ring[turn % ring.length]!, p.callTimeoutMs);
        const t1 = performance.now();
        // Protobuf layer only: enough to tell a HealthCheckResponse from a 301 ErrorResponse.
        const type = decodeEnvelope(reply).type;
        if (type !== expectedType) throw new Error(`expected ${expectedType}, got ${type}`);
        if (t1 >= from && t1 < to) latencies.push(t1 - t0);
      } catch (error) {
        errors++;
        firstError ??= String(error);
        if (connection.closed) return;
      }
    }
  }

  // Lanes of one connection start at different places in its ring, so they change different keys.
  const stride = (ring: readonly Buffer[]) => Math.max(1, Math.floor(ring.length / p.inFlightPerConnection));
  await Promise.all(connections.flatMap((c, i) => Array.from({ length: p.inFlightPerConnection }, (_, laneIndex) => lane(c, rings[i]!, laneIndex * stride(rings[i]!)))));
  clearTimeout(cpuTimer);
  const cpu = process.cpuUsage(cpuAtFrom);
  return {
    completed: latencies.length,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    latenciesMs: Float64Array.from(latencies),
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

process.on('message', (message: ToDriver) => {
  const fail = (error: unknown) => send({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  switch (message.type) {
    case 'prepare':
      prepare(message.plan).then(() => send({ type: 'ready' }), fail);
      break;
    case 'run':
      run(message.warmupMs, message.durationMs).then((result) => send({ type: 'result', result }), fail);
      break;
    case 'close':
      void Promise.all(connections.map((c) => c.close())).finally(() => process.exit(0));
      break;
  }
});
// The parent went away: nothing left to do.
process.on('disconnect', () => process.exit(0));
