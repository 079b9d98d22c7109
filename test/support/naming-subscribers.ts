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

/** The subscribers a test starts, one set per service, all shut down together. */
export class NamingSubscriberPool {
  private readonly started: NamingSubscribers[] = [];

  constructor(private readonly addresses: () => readonly string[]) {}

  /** Our NamingClient subscribed to `service` on every member. */
  async everywhere(service: string): Promise<NamingSubscribers> {
    const watching = new NamingSubscribers();
    this.started.push(watching);
    await watching.start(this.addresses(), service);
    return watching;
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.started.map((s) => s.shutdown()));
  }
}
