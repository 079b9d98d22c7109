import { serviceKey, type ServiceName } from './model.js';

/**
 * Which clients publish and which subscribe to each service (Nacos
 * `ClientServiceIndexesManager`), and the services that have either.
 */
export class ClientServiceIndex {
  private readonly publishers = new Map<string, Set<string>>();
  private readonly subscribers = new Map<string, Set<string>>();
  private readonly services = new Map<string, ServiceName>();

  /** `serviceGone`: told of a service's key when its last publisher or subscriber leaves. */
  constructor(private readonly serviceGone: (key: string) => void = () => {}) {}

  addPublisher(service: ServiceName, clientId: string): void {
    this.add(this.publishers, service, clientId);
  }

  removePublisher(service: ServiceName, clientId: string): void {
    this.remove(this.publishers, service, clientId);
  }

  /** True when the client was not a subscriber before. */
  addSubscriber(service: ServiceName, clientId: string): boolean {
    return this.add(this.subscribers, service, clientId);
  }

  removeSubscriber(service: ServiceName, clientId: string): void {
    this.remove(this.subscribers, service, clientId);
  }

  publishersOf(key: string): ReadonlySet<string> {
    return this.publishers.get(key) ?? EMPTY;
  }

  subscribersOf(key: string): ReadonlySet<string> {
    return this.subscribers.get(key) ?? EMPTY;
  }

  /** Whether the service has a publisher or subscriber. */
  has(key: string): boolean {
    return this.services.has(key);
  }

  /** Services with at least one publisher or subscriber. */
  allServices(): IterableIterator<ServiceName> {
    return this.services.values();
  }

  get publishedServiceCount(): number {
    return this.publishers.size;
  }

  get subscriberCount(): number {
    let n = 0;
    for (const ids of this.subscribers.values()) n += ids.size;
    return n;
  }

  private add(index: Map<string, Set<string>>, service: ServiceName, clientId: string): boolean {
    const key = serviceKey(service);
    let ids = index.get(key);
    if (ids === undefined) {
      ids = new Set();
      index.set(key, ids);
      this.services.set(key, service);
    }
    const before = ids.size;
    ids.add(clientId);
    return ids.size > before;
  }

  private remove(index: Map<string, Set<string>>, service: ServiceName, clientId: string): void {
    const key = serviceKey(service);
    const ids = index.get(key);
    if (ids === undefined) return;
    ids.delete(clientId);
    if (ids.size > 0) return;
    index.delete(key);
    if (this.publishers.has(key) || this.subscribers.has(key)) return;
    this.services.delete(key);
    this.serviceGone(key);
  }
}

const EMPTY: ReadonlySet<string> = new Set();
