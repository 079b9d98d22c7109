import type { NacosServer } from '../server/nacos-server.js';
import { planSmartReload, summarizeClusterLoad, type ClusterLoad, type ReloadStep } from './loader-metrics.js';

/**
 * The cluster-wide side of the loader API (`/cluster`, `/smartReloadCluster`). A standalone node
 * is a one-member cluster: itself. Members are `ip:mainPort`.
 */
export class ClusterLoader {
  constructor(
    private readonly server: NacosServer,
    readonly selfAddress: string,
  ) {}

  /** Every member's address, self included. */
  members(): string[] {
    return [this.selfAddress];
  }

  /** Gathers every member's loader metrics and summarises them (Nacos `getServerLoadMetrics`). */
  async load(): Promise<ClusterLoad> {
    const members = this.members();
    return summarizeClusterLoad([{ address: this.selfAddress, metric: this.server.loaderMetrics() }], members.length);
  }

  /**
   * Nacos's smartReloadCluster: pair over- and under-loaded members and have each overloaded one
   * shed toward its partner (a paced budget). Resolves the steps taken and whether all were accepted.
   */
  async smartReload(loaderFactor: number): Promise<{ steps: ReloadStep[]; ok: boolean }> {
    const steps = planSmartReload(await this.load(), loaderFactor);
    for (const step of steps) {
      if (step.overloaded === this.selfAddress) this.server.reload(step.reloadCount, step.reloadServer);
    }
    return { steps, ok: true };
  }
}
