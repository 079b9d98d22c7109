// The unary path's cost per request on our node, measured so that other load on the machine moves
// it little: a fixed number of ServerCheck and HealthCheck calls, charged to the server process by
// its own CPU time (/proc), and with --cpu-prof, where that time goes, by part of the code (sample
// shares of the server's busy time). Used to find what the unary path spends without need.
// Usage: node --import tsx bench/profile-unary.ts [--transport http2|grpc-js] [--requests 20000]
//          [--rounds 3] [--connections 8] [--in-flight 64] [--cpu-prof [--files 15] [--functions 30]]
// CPU time still moves with the machine's load (caches, shared cores): compare two servers or two
// versions run side by side, in the same minutes. (Valgrind's instruction counts were tried: under
// load the instrumented node is too slow for the node's ejector and the client's timeouts.)
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeEnvelope, encodePayload, request } from '../src/protocol/index.js';
import { encodeFrame } from './support/grpc-framing.js';
import { H2GrpcConnection } from './support/h2-grpc-client.js';
import { textTable } from './support/format.js';
import { cpuTimeMs } from './support/proc-stats.js';
import { median } from './support/stats.js';
import { startStandaloneServer } from './support/server-process.js';
import { fileOf, functionOf, inWindow, partOf, readCpuProfile, shares } from './support/cpu-profile.js';

const { values: args } = parseArgs({
  options: {
    /** ours (our node), or raw-h2 (the minimal node:http2 responder, the platform's limit). */
    server: { type: 'string', default: 'ours' },
    transport: { type: 'string', default: 'http2' },
    requests: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '8' },
    'in-flight': { type: 'string', default: '64' },
    'cpu-prof': { type: 'boolean', default: false },
    /** With --cpu-prof: also list the files, and the functions, with the most samples. */
    files: { type: 'string', default: '0' },
    functions: { type: 'string', default: '0' },
  },
});
const transport = args.transport;
if (transport !== 'http2' && transport !== 'grpc-js') throw new Error(`--transport must be http2 or grpc-js, not ${transport}`);
const requests = Number(args.requests);
const rounds = Number(args.rounds);
const HOST = '127.0.0.1';
/** The connection layer's own calls: what every request pays before a service's handler. */
type UnaryCall = 'ServerCheck' | 'HealthCheck';
const CALLS: readonly UnaryCall[] = ['ServerCheck', 'HealthCheck'];

const SERVERS: Record<string, URL> = { ours: new URL('./support/our-node.ts', import.meta.url), 'raw-h2': new URL('./baselines/raw-h2-responder.ts', import.meta.url) };
const serverModule = SERVERS[args.server];
if (serverModule === undefined) throw new Error(`--server must be ${Object.keys(SERVERS).join(' or ')}, not ${args.server}`);
const profileDir = args['cpu-prof'] ? mkdtempSync(join(os.tmpdir(), 'nacos-profile-unary-')) : undefined;
// The profile dir and the server (with its home) go whatever fails: a run leaves nothing behind.
try {
  const server = await startStandaloneServer(args.server, serverModule, HOST, {
    transport,
    nodeArgs: profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
  });
  process.on('exit', () => server.kill());
  const loadAtStart = os.loadavg();
  const costPerCall = new Map<UnaryCall, number[]>(CALLS.map((call) => [call, []]));
  // The profile's clock is the monotonic clock hrtime reads: its samples in this window are the calls'.
  let windowStartMicros = 0;
  let windowEndMicros = 0;
  try {
    const connections = await Promise.all(Array.from({ length: Number(args.connections) }, () => H2GrpcConnection.connect({ host: HOST, port: server.port })));
    await Promise.all(connections.map((c) => c.register()));
    const callTimeoutMs = 10_000;
    const frames = (call: UnaryCall) => connections.map((c) => encodeFrame(encodePayload(request(`${call}Request`), { clientIp: c.localAddress })));

    /** Sends `count` calls, `inFlight` at a time spread over the connections; every reply must be the expected type. */
    async function drive(call: UnaryCall, count: number): Promise<void> {
      const perConnection = frames(call);
      const expected = `${call}Response`;
      let next = 0;
      const lane = async (lane: number) => {
        const connection = connections[lane % connections.length]!;
        const frame = perConnection[lane % connections.length]!;
        while (next < count) {
          next++;
          const type = decodeEnvelope(await connection.unaryFrame(frame, callTimeoutMs)).type;
          if (type !== expected) throw new Error(`expected ${expected}, got ${type}`);
        }
      };
      await Promise.all(Array.from({ length: Number(args['in-flight']) }, (_, i) => lane(i)));
    }

    // Warm-up: the JIT settles before anything is counted.
    for (const call of CALLS) await drive(call, Math.min(requests, 5000));
    windowStartMicros = Number(process.hrtime.bigint() / 1000n);
    for (let round = 0; round < rounds; round++) {
      for (const call of CALLS) {
        const cpuBefore = cpuTimeMs(server.pid);
        await drive(call, requests);
        costPerCall.get(call)!.push(((cpuTimeMs(server.pid) - cpuBefore) * 1000) / requests);
      }
    }
    windowEndMicros = Number(process.hrtime.bigint() / 1000n);
    await Promise.all(connections.map((c) => c.close()));
  } finally {
    // The profile is written as the server exits.
    await server.stop(30_000);
  }
  console.log(`unary profile: ${args.server === 'ours' ? `our node on ${transport}` : args.server}, ${requests} calls x ${rounds} rounds per type, load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}`);
  console.log(
    textTable(
      ['call', 'server CPU us/call (median)', 'range'],
      CALLS.map((call) => {
        const values = costPerCall.get(call)!;
        const show = (value: number) => value.toFixed(1);
        return [call, show(median(values)), `${show(Math.min(...values))}-${show(Math.max(...values))}`];
      }),
      2,
    ),
  );

  if (profileDir !== undefined) {
    const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`no profile written in ${profileDir}`);
    console.log(`\nwhere the server's busy time goes during the counted calls`);
    const profile = inWindow(readCpuProfile(join(profileDir, file)), windowStartMicros, windowEndMicros);
    console.log(textTable(['part', 'share of busy samples'], shares(profile, partOf), 2));
    const files = Number(args.files);
    if (files > 0) console.log(`\n${textTable(['file (self time)', 'share'], shares(profile, fileOf, files), 2)}`);
    const functions = Number(args.functions);
    if (functions > 0) console.log(`\n${textTable(['function (self time)', 'share'], shares(profile, functionOf, functions), 2)}`);
  }
} finally {
  if (profileDir !== undefined) rmSync(profileDir, { recursive: true, force: true });
}
process.exit(0);

