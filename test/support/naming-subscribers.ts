import { NamingClient, type InstancesChangeEvent, type NamingClientOptions } from '../../src/client/index.js';
import { testLogger } from './server.js';

/** Told of every list a subscriber is given, with the list it had before (`ip:port` each). */
export type ListObserver = (address: string, instances: readonly string[], before: readonly string[]) => void;

/** How the subscribers' clients watch their member, unless told otherwise: a lost member is found within a second. */
const PROMPT: Partial<NamingClientOptions> = { keepAliveMs: 1000, healthCheckTimeoutMs: 500, redoIntervalMs: 500 };

/** One of our NamingClients pinned to each member, recording the latest list of a service it hears. */
export class NamingSubscribers {
  readonly latest = new Map<string, string[]>();
  /** Each member's subscriber, by its address. */
  readonly clients = new Map<string, NamingClient>();

  constructor(
    private readonly options: {
      /** Every list as it arrives. */
      readonly onList?: ListObserver;
      /** The clients' timing, in place of the prompt default. */
      readonly client?: Partial<NamingClientOptions>;
    } = {},
  ) {}

  async start(addresses: readonly string[], service: string): Promise<void> {
    for (const address of addresses) {
      const naming = new NamingClient({ serverAddresses: [address], logger: testLogger, ...(this.options.client ?? PROMPT) });
      this.clients.set(address, naming);
      await naming.start();
      await naming.subscribe(service, (event: InstancesChangeEvent) => {
        const instances = event.instances.map((i) => `${i.ip}:${i.port}`);
        this.options.onList?.(address, instances, this.latest.get(address) ?? []);
        this.latest.set(address, instances);
      });
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
    return Promise.all([...this.clients.values()].map((c) => c.shutdown()));
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
