// What TLS costs: unary throughput (HealthCheck on registered connections) and connection setups
// per second (TCP, TLS handshake, HTTP/2, ServerCheck, ConnectionSetupRequest) over TLS, as a
// ratio to plaintext in the same run. One node, its own process started from the CLI with TLS on
// in compatibility mode, serves both on its SDK port; rounds alternate which goes first, and the
// reported ratio is the median of the per-round ratios, for throughput and for calls per second
// of the server's CPU. Goal (issue 15): the ratios >= 0.7.
// Certificates: a test CA and an EC P-256 server certificate made with openssl in a temp dir.
// Usage: node --import tsx bench/tls.ts [--quick] [--duration 5] [--rounds 3] [--connections 8]
//          [--in-flight 64] [--drivers 2] [--setups 400] [--setup-concurrency 16]
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createTestPki } from '../test/support/tls-certificates.js';
import { formatNumber, textTable } from './support/format.js';
import { cpuTimeMs } from './support/proc-stats.js';
import { H2GrpcConnection } from './support/h2-grpc-client.js';
import { writeResult } from './support/results.js';
import { startOurNode } from './support/server-process.js';
import { median } from './support/stats.js';
import { runUnaryLoad } from './support/unary-load.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '8' },
    'in-flight': { type: 'string', default: '64' },
    drivers: { type: 'string', default: '2' },
    setups: { type: 'string', default: '400' },
    'setup-concurrency': { type: 'string', default: '16' },
  },
});
const config = {
  durationMs: (args.quick ? 2 : Number(args.duration)) * 1000,
  warmupMs: args.quick ? 500 : 1000,
  rounds: args.quick ? 2 : Number(args.rounds),
  connections: Number(args.connections),
  inFlight: Number(args['in-flight']),
  drivers: Number(args.drivers),
  setups: args.quick ? 100 : Number(args.setups),
  setupConcurrency: Number(args['setup-concurrency']),
};
const HOST = '127.0.0.1';
type Security = 'plaintext' | 'tls';

/**
 * Connections set up (ServerCheck and registration, as `register()` does) per second,
 * `concurrency` at a time, each closed once registered; and per second of the server's CPU (the
 * driver does its own handshakes on the same cores).
 */
async function setupsPerSecond(port: number, serverPid: number, tlsCa: string | undefined): Promise<{ perSecond: number; perServerCpuSecond: number }> {
  let next = 0;
  const started = performance.now();
  const cpuBefore = cpuTimeMs(serverPid);
  const worker = async () => {
    while (next < config.setups) {
      next++;
      const connection = await H2GrpcConnection.connect({ host: HOST, port, ...(tlsCa === undefined ? {} : { tlsCa }) });
      await connection.register();
      await connection.close(0);
    }
  };
  await Promise.all(Array.from({ length: config.setupConcurrency }, worker));
  const serverCpuSeconds = (cpuTimeMs(serverPid) - cpuBefore) / 1000;
  return { perSecond: Math.round(config.setups / ((performance.now() - started) / 1000)), perServerCpuSecond: Math.round(config.setups / serverCpuSeconds) };
}

const pki = await createTestPki();
const tlsCa = readFileSync(pki.ca.certFile, 'utf8');
const server = await startOurNode(HOST, { extraArgs: ['--tls-cert', pki.server.certFile, '--tls-key', pki.server.keyFile] });
const rows: { round: number; security: Security; unaryRps: number; p50Ms: number; serverCores: number; setupsPerSecond: number; setupsPerServerCpuSecond: number }[] = [];
try {
  for (let round = 1; round <= config.rounds; round++) {
    const order: Security[] = round % 2 === 1 ? ['plaintext', 'tls'] : ['tls', 'plaintext'];
    for (const security of order) {
      const ca = security === 'tls' ? tlsCa : undefined;
      const load = await runUnaryLoad({
        host: HOST,
        port: server.port,
        call: 'HealthCheck',
        drivers: config.drivers,
        connections: config.connections,
        inFlight: config.inFlight,
        sourceAddresses: [],
        register: true,
        checkConnectionId: true,
        warmupMs: config.warmupMs,
        durationMs: config.durationMs,
        serverPid: server.pid,
        ...(ca === undefined ? {} : { tlsCa: ca }),
      });
      if (load.errors > 0) throw new Error(`${security}: ${load.errors} failed calls, first: ${load.firstError}`);
      rows.push({
        round,
        security,
        unaryRps: load.requestsPerSecond,
        p50Ms: load.latencyMs.p50,
        serverCores: load.serverCores ?? NaN,
        ...(await setupsPerSecond(server.port, server.pid, ca).then((s) => ({ setupsPerSecond: s.perSecond, setupsPerServerCpuSecond: s.perServerCpuSecond }))),
      });
    }
  }
} finally {
  await server.stop();
  await pki.cleanup();
}

const ratios = (pick: (row: (typeof rows)[number]) => number) =>
  Array.from({ length: config.rounds }, (_, i) => {
    const inRound = rows.filter((r) => r.round === i + 1);
    return pick(inRound.find((r) => r.security === 'tls')!) / pick(inRound.find((r) => r.security === 'plaintext')!);
  });
const unaryRatio = median(ratios((r) => r.unaryRps));
// Calls per second of server CPU: what TLS costs the server, less swayed by other load on the machine.
const unaryCpuRatio = median(ratios((r) => r.unaryRps / r.serverCores));
const setupRatio = median(ratios((r) => r.setupsPerSecond));
const setupCpuRatio = median(ratios((r) => r.setupsPerServerCpuSecond));
const loadAverage = os.loadavg().map((l) => Math.round(l * 100) / 100);

console.log(
  textTable(
    ['round', 'security', 'HealthCheck/s', 'p50 ms', 'server cores', 'setups/s', 'setups per server CPU-s'],
    rows.map((r) => [
      String(r.round),
      r.security,
      formatNumber(r.unaryRps),
      formatNumber(r.p50Ms, 2),
      formatNumber(r.serverCores, 2),
      formatNumber(r.setupsPerSecond),
      formatNumber(r.setupsPerServerCpuSecond),
    ]),
  ),
);
console.log(
  `TLS/plaintext: unary ${unaryRatio.toFixed(2)} (per server CPU-second ${unaryCpuRatio.toFixed(2)}), setups ${setupRatio.toFixed(2)} (per server CPU-second ${setupCpuRatio.toFixed(2)}) (goal >= 0.7); load average ${loadAverage.join(' ')}`,
);
writeResult('tls', { config, rows, unaryRatio, unaryCpuRatio, setupRatio, setupCpuRatio, loadAverageAfter: loadAverage });
