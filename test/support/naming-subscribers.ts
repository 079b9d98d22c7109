import { NamingClient, type InstancesChangeEvent } from '../../src/client/index.js';
import { testLogger } from './server.js';

/** One of our NamingClients pinned to each member, recording the latest list of a service it hears. */
export class NamingSubscribers {
  readonly latest = new Map<string, string[]>();
  readonly clients: NamingClient[] = [];

  async start(addresses: readonly string[], service: string): Promise<void> {
    for (const address of addresses) {
      const naming = new NamingClient({ serverAddresses: [address], logger: testLogger, keepAliveMs: 1000, healthCheckTimeoutMs: 500, redoIntervalMs: 500 });
      this.clients.push(naming);
      await naming.start();
      await naming.subscribe(service, (event: InstancesChangeEvent) => this.latest.set(address, event.instances.map((i) => `${i.ip}:${i.port}`)));
    }
  }

  /** Whether the subscriber on `address` lists `instance` (or, with `present` false, does not). */
  lists(address: string, instance: string, present = true): boolean {
    return (this.latest.get(address)?.includes(instance) ?? false) === present;
  }

  describe(): string {
    return JSON.stringify(Object.fromEntries(this.latest));
  }

  shutdown(): Promise<void[]> {
    return Promise.all(this.clients.map((c) => c.shutdown()));
  }
}
