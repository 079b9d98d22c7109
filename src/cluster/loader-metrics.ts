import { ExtraLoaderMetric } from '../server/handlers/server-loader-info.js';

/** One member's loader metrics as `/cluster` lists them (spec 6): metrics under `metric`. */
export interface MemberLoad {
  readonly address: string;
  readonly metric: Readonly<Record<string, string>>;
}

/** The 9 keys of `/nacos/v2/core/loader/cluster` (spec 6). */
export interface ClusterLoad {
  readonly detail: readonly MemberLoad[];
  readonly memberCount: number;
  readonly metricsCount: number;
  readonly completed: boolean;
  readonly max: number;
  readonly min: number;
  readonly total: number;
  readonly avg: number;
  readonly threshold: number;
}

/** A member's `sdkConCount`, or undefined when it is missing or not a number. */
export function sdkCountOf(metric: Readonly<Record<string, string>>): number | undefined {
  const n = Number.parseInt(metric['sdkConCount'] ?? '', 10);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Whether a member stands outside the balance: draining (leaving: its clients go anyway) or
 * starting (it takes no SDK clients until it has its data). Neither is a target, nor counts.
 */
export function isOutOfBalance(metric: Readonly<Record<string, string>>): boolean {
  return metric[ExtraLoaderMetric.DRAINING] === 'true' || metric[ExtraLoaderMetric.STARTING] === 'true';
}

/** Nacos's `RemoteUtils.LOADER_FACTOR`. */
export const DEFAULT_LOADER_FACTOR = 0.1;

/** Summarises members' metrics exactly as Nacos's `getServerLoadMetrics` does. */
export function summarizeClusterLoad(detail: readonly MemberLoad[], memberCount: number): ClusterLoad {
  const sorted = [...detail].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  let max = 0;
  let min = -1; // Nacos's sentinel
  let total = 0;
  for (const member of sorted) {
    const sdk = sdkCountOf(member.metric);
    if (sdk === undefined) continue;
    max = Math.max(max, sdk);
    min = min < 0 ? sdk : Math.min(min, sdk);
    total += sdk;
  }
  const metricsCount = sorted.length;
  const avg = metricsCount === 0 ? 0 : Math.trunc(total / metricsCount);
  return { detail: sorted, memberCount, metricsCount, completed: metricsCount === memberCount, max, min, total, avg, threshold: avg * 1.1 };
}

/** One step of `/smartReloadCluster`: the overloaded member sheds down toward `reloadCount`. */
export interface ReloadStep {
  readonly overloaded: string;
  readonly reloadCount: number;
  /** The under-loaded member the shed clients are sent to. */
  readonly reloadServer: string;
}

/**
 * Nacos 2.2.4's smartReloadCluster pairing (spec 6, decision 10.5): members above
 * avg × (1 + f) are paired, most loaded first, with members below avg × (1 − f), least loaded
 * first; each overloaded member is asked to shed to `overLimitCount` toward its partner.
 * Unlike Nacos, starting and draining members are left out, of the pairs and of the average: a
 * starting one refuses the clients sent to it, a draining one sheds them all anyway.
 */
export function planSmartReload(load: ClusterLoad, loaderFactor = DEFAULT_LOADER_FACTOR): ReloadStep[] {
  const withCount = load.detail.flatMap((m) => {
    const sdk = sdkCountOf(m.metric);
    return sdk === undefined || isOutOfBalance(m.metric) ? [] : [{ address: m.address, sdk }];
  });
  // Nacos's average, truncated: the in-balance members' sdkConCount total over how many of them report one.
  const avg = withCount.length === 0 ? 0 : Math.trunc(withCount.reduce((sum, m) => sum + m.sdk, 0) / withCount.length);
  const overLimitCount = Math.trunc(avg * (1 + loaderFactor));
  const lowLimitCount = Math.trunc(avg * (1 - loaderFactor));
  const over = withCount.filter((m) => m.sdk > overLimitCount).sort((a, b) => b.sdk - a.sdk);
  const low = withCount.filter((m) => m.sdk < lowLimitCount).sort((a, b) => a.sdk - b.sdk);
  const steps: ReloadStep[] = [];
  for (let i = 0; i < Math.min(over.length, low.length); i++) {
    steps.push({ overloaded: over[i]!.address, reloadCount: overLimitCount, reloadServer: low[i]!.address });
  }
  return steps;
}
