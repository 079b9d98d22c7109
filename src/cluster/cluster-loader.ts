import type { Logger } from 'pino';
import { isSuccess, request } from '../protocol/index.js';
import type { NacosServer } from '../server/nacos-server.js';
import type { ClusterMembers } from './cluster-members.js';
import { planSmartReload, summarizeClusterLoad, type ClusterLoad, type MemberLoad, type ReloadStep } from './loader-metrics.js';

export interface ClusterLoaderTimeouts {
  /** Per member ServerLoaderInfoRequest (Nacos: 200 ms). */
  readonly memberMs: number;
  /** For all members together (Nacos: 1 s). */
  readonly totalMs: number;
  /** Per ServerReloadRequest sent by smartReloadCluster (Nacos: 100 ms). */
  readonly reloadMs: number;
}

export const DEFAULT_LOADER_TIMEOUTS: ClusterLoaderTimeouts = { memberMs: 200, totalMs: 1000, reloadMs: 100 };

/**
 * The cluster-wide side of the loader API (`/cluster`, `/smartReloadCluster`), over the members'
 * cluster clients. Members are `ip:mainPort`; a standalone node is a one-member cluster.
 */
export class ClusterLoader {
  private latestLoad: ClusterLoad | undefined;

  constructor(
    private readonly server: NacosServer,
    private readonly members: ClusterMembers,
    private readonly logger: Logger,
    private readonly timeouts: ClusterLoaderTimeouts = DEFAULT_LOADER_TIMEOUTS,
  ) {}

  get selfAddress(): string {
    return this.members.selfAddress;
  }

  /**
   * Every member's loader metrics, summarised as Nacos's `getServerLoadMetrics`: members that do
   * not answer in time are left out, and `completed` says whether all did.
   */
  async load(): Promise<ClusterLoad> {
    const all = this.members.list();
    const detail: MemberLoad[] = [{ address: this.selfAddress, metric: this.server.loaderMetrics() }];
    const asks = all
      .filter((m) => !m.self)
      .map(async (m) => {
        try {
          const reply = await this.members.request(m.address, request('ServerLoaderInfoRequest'), this.timeouts.memberMs);
          const metric = reply.body['loaderMetrics'];
          if (isSuccess(reply) && metric !== null && typeof metric === 'object') detail.push({ address: m.address, metric: metric as Record<string, string> });
        } catch (error) {
          this.logger.debug({ err: error, member: m.address }, 'no loader metrics from member');
        }
      });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(asks), new Promise<void>((resolve) => (timer = setTimeout(resolve, this.timeouts.totalMs)))]);
    clearTimeout(timer);
    this.latestLoad = summarizeClusterLoad([...detail], all.length);
    return this.latestLoad;
  }

  /** The last {@link load} (the balancer refreshes it every interval), undefined before the first. */
  get latest(): ClusterLoad | undefined {
    return this.latestLoad;
  }

  /**
   * Nacos's smartReloadCluster: pair over- and under-loaded members and have each overloaded one
   * shed toward its partner as a paced budget. `ok` is false if a member refused or did not answer.
   */
  async smartReload(loaderFactor: number): Promise<{ steps: ReloadStep[]; ok: boolean }> {
    const steps = planSmartReload(await this.load(), loaderFactor);
    const results = await Promise.all(
      steps.map(async (step) => {
        if (step.overloaded === this.selfAddress) {
          try {
            this.server.reload(step.reloadCount, step.reloadServer);
            return true;
          } catch (error) {
            // A drain owns this member's shedding (ShedBusyError): a step not taken, as a member's refusal.
            this.logger.warn({ err: error }, 'smartReloadCluster: this member refused its step');
            return false;
          }
        }
        try {
          const reply = await this.members.request(
            step.overloaded,
            request('ServerReloadRequest', { reloadCount: step.reloadCount, reloadServer: step.reloadServer }),
            this.timeouts.reloadMs,
          );
          return isSuccess(reply);
        } catch (error) {
          this.logger.warn({ err: error, member: step.overloaded }, 'ServerReloadRequest failed');
          return false;
        }
      }),
    );
    return { steps, ok: results.every(Boolean) };
  }
}
