import { cpus, loadavg } from 'node:os';
import { response } from '../../protocol/index.js';
import type { ConnectionManager } from '../connection-manager.js';
import type { RequestHandler } from './types.js';

/** Java's `String.valueOf(float)` keeps at least one decimal. */
function javaFloat(value: number): string {
  const text = String(Math.fround(value) === value ? value : Number(value.toPrecision(7)));
  return text.includes('.') || text.includes('e') ? text : `${text}.0`;
}

/**
 * Keys we add to Nacos's four loader metrics (a string map, so other readers ignore them): whether
 * a member is draining, whether it is starting (takes no SDK clients yet), its total connection
 * limit and whether it refuses new connections now, and how long its balancer still holds after an
 * operator's move there.
 */
export const ExtraLoaderMetric = {
  DRAINING: 'draining',
  STARTING: 'starting',
  COUNT_LIMIT: 'countLimit',
  REFUSING: 'refusing',
  OPERATOR_HOLD_MS: 'operatorHoldMs',
} as const;

/** The four loader metrics of spec 2: conCount, sdkConCount, load, cpu (all strings). */
export function loaderMetrics(manager: ConnectionManager, cpuUsage: () => number): Record<string, string> {
  return {
    conCount: String(manager.count),
    sdkConCount: String(manager.currentSdkClientCount()),
    load: javaFloat(loadavg()[0] ?? -1),
    cpu: javaFloat(cpuUsage()),
  };
}

/** Process CPU use as a fraction of all cores since the previous call. */
export function createCpuSampler(): () => number {
  let lastUsage = process.cpuUsage();
  let lastTime = process.hrtime.bigint();
  const cores = Math.max(1, cpus().length);
  return () => {
    const usage = process.cpuUsage(lastUsage);
    const now = process.hrtime.bigint();
    const elapsedMicros = Number(now - lastTime) / 1000;
    lastUsage = process.cpuUsage();
    lastTime = now;
    if (elapsedMicros <= 0) return 0;
    return Math.min(1, (usage.user + usage.system) / elapsedMicros / cores);
  };
}

/** ServerLoaderInfoRequest (member → member): this node's loader metrics. */
export function serverLoaderInfoHandler(metrics: () => Record<string, string>): RequestHandler {
  return () => response('ServerLoaderInfoResponse', { loaderMetrics: metrics() });
}
