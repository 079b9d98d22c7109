// Issue 14's read goal, shared by bench/config.ts (ours and the peers) and bench/config-mysql.ts
// (ours on MariaDB and on SQLite): ConfigQueryRequest for one key against HealthCheck on the same
// server, in alternating rounds; the ratios (throughput, and requests per server CPU-second) are the
// figures: the store must never be a read's bottleneck.
import type { RequestMessage } from '../../src/protocol/index.js';
import type { QueryFigures, QueryRound } from './result-types.js';
import { describeLoad, measureLoad, type LoadSettings } from './server-figures.js';
import type { ServerProcess } from './server-process.js';
import { median } from './stats.js';
import type { BenchTarget } from './targets.js';
import { QUERIED_CONFIG, sdkCall, sdkConnection } from './unary-calls.js';

/** What ConfigQuery reads: 256 bytes, a small properties file. */
const QUERIED_CONTENT = 'bench.key=value\n'.repeat(16);

/** A ConfigPublishRequest of `content` for `dataId` in the default group and namespace. */
export const configPublishRequest = (dataId: string, content: string): RequestMessage => ({
  kind: 'request',
  type: 'ConfigPublishRequest',
  headers: {},
  body: { dataId, group: 'DEFAULT_GROUP', tenant: '', content, additionMap: {} },
});

const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;

/**
 * Publishes the queried key, loads once uncounted (the JIT warms up), then `rounds` rounds of a
 * HealthCheck load and a ConfigQuery load, alternating which goes first.
 */
export async function queryRounds(target: BenchTarget, server: ServerProcess, rounds: number, settings: LoadSettings): Promise<QueryFigures> {
  const publisher = await sdkConnection(settings.host, server.port, 'config');
  try {
    await sdkCall(publisher, configPublishRequest(QUERIED_CONFIG.dataId, QUERIED_CONTENT));
  } finally {
    await publisher.close();
  }
  await measureLoad(target, server, 'ConfigQuery', settings);
  const measured: (QueryRound & { readonly cpuRatio: number })[] = [];
  for (let round = 0; round < rounds; round++) {
    const first = await measureLoad(target, server, round % 2 === 0 ? 'HealthCheck' : 'ConfigQuery', settings);
    const second = await measureLoad(target, server, round % 2 === 0 ? 'ConfigQuery' : 'HealthCheck', settings);
    const [health, query] = round % 2 === 0 ? [first, second] : [second, first];
    measured.push({ health, query, ratio: ratio(query.requestsPerSecond, health.requestsPerSecond), cpuRatio: ratio(query.perServerCpuSecond, health.perServerCpuSecond) });
    console.log(describeLoad('HealthCheck', health));
    console.log(describeLoad('ConfigQuery', query));
  }
  return { rounds: measured, medianRatio: median(measured.map((r) => r.ratio)), medianCpuRatio: median(measured.map((r) => r.cpuRatio)) };
}
