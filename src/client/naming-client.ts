/**
 * Nacos 2.x service registration and discovery over one long connection (Java 2.2.4's
 * `NamingGrpcClientProxy`, `NamingGrpcRedoService`, `ServiceInfoHolder`): register and discover
 * instances, subscribe to changes pushed by the server, and redo every registration and
 * subscription after a reconnect, so an application never has to.
 */
import type { Logger } from 'pino';
import pino from 'pino';
import { response, systemTimers, type JsonObject, type RequestMessage, type ResponseMessage, type ResponseTypeDefinition, type Timers } from '../protocol/index.js';
import {
  DEFAULT_CLUSTER,
  DEFAULT_GROUP,
  DEFAULT_NAMESPACE,
  groupedNameProblem,
  InstanceOperation,
  NamingMessages,
  type InstanceInput,
  type InstanceJson,
  type NamingRequestBodies,
  type NamingRequestType,
  type ServiceInfoJson,
} from '../protocol/naming/index.js';
import { InvalidParamError } from './errors.js';
import { RedoAction, RedoEntries } from './naming-redo.js';
import { RpcClient, type RpcClientOptions } from './rpc-client.js';
import { sdkLabels } from './sdk-labels.js';
import { ServiceInfoCache, serviceInfoKey, type InstancesListener } from './service-cache.js';

/** What redo keeps of a registration: the request to send again. */
interface Registration {
  readonly serviceName: string;
  readonly groupName: string;
  readonly instances: readonly InstanceInput[];
  /** Sent as a BatchInstanceRequest (even of one instance). */
  readonly batch: boolean;
}

/** What redo keeps of a subscription. */
interface Subscription {
  readonly serviceName: string;
  readonly groupName: string;
  readonly clusters: string;
}

/** An instance to register. Only `ip` and `port` are required; the rest take Nacos's defaults. */
export interface NamingInstance {
  readonly ip: string;
  readonly port: number;
  /** Default 1. */
  readonly weight?: number;
  /** Default true. */
  readonly healthy?: boolean;
  /** Default true. */
  readonly enabled?: boolean;
  /** Default `DEFAULT`. */
  readonly clusterName?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Sent only when given; Nacos servers do not make one up over gRPC. */
  readonly instanceId?: string;
}

/** Which service a call is about, besides its name. */
export interface ServiceOptions {
  /** Default `DEFAULT_GROUP`. */
  readonly groupName?: string;
}

/** The cluster selection of a read or subscription. */
export interface ClusterOptions extends ServiceOptions {
  /** Only instances of these clusters; default all. */
  readonly clusters?: readonly string[];
}

/** How {@link NamingClient.getAllInstances} and {@link NamingClient.selectInstances} read. */
export interface ReadOptions extends ClusterOptions {
  /**
   * Subscribe and answer from the local cache kept by pushes (default, as Java's `getAllInstances`);
   * false asks the server each time.
   */
  readonly subscribe?: boolean;
}

/** Options of a {@link NamingClient}: its {@link RpcClient}'s, and the naming ones. */
export interface NamingClientOptions extends Omit<RpcClientOptions, 'messageTypes'> {
  /** Namespace of every request; default `public`. */
  readonly namespace?: string;
  /**
   * Period of the redo check while connected (Java: 3000 ms): anything a redo could not do at
   * the reconnect is tried again then. Default 3000.
   */
  readonly redoIntervalMs?: number;
}

/**
 * A Nacos 2.x naming client over its own {@link RpcClient} (labels `module=naming`, `source=sdk`
 * and `AppName`, as Java's). Every instance it registers lives as long as its connection; after a reconnect it
 * registers and subscribes again by itself.
 *
 * @example
 * ```ts
 * const naming = new NamingClient({ serverAddresses: ['127.0.0.1:8848'], appName: 'orders' });
 * await naming.start();
 * await naming.registerInstance('orders', { ip: '10.0.0.5', port: 8080 });
 * await naming.subscribe('payments', (event) => console.log(event.instances.map((i) => `${i.ip}:${i.port}`)));
 * const healthy = await naming.selectInstances('payments', true);
 * await naming.shutdown();
 * ```
 */
export class NamingClient {
  /** The connection the client runs on (status, events, current server). */
  readonly rpcClient: RpcClient;
  private readonly namespace: string;
  private readonly instances = new RedoEntries<Registration>();
  private readonly subscriptions = new RedoEntries<Subscription>();
  private readonly cache: ServiceInfoCache;
  private readonly timers: Timers;
  private readonly logger: Logger;
  private readonly redoIntervalMs: number;
  private connected = false;
  private redoing: Promise<void> | undefined;
  private cancelRedoTimer: (() => void) | undefined;
  private closed = false;

  constructor(options: NamingClientOptions) {
    const { namespace, redoIntervalMs, ...rpcOptions } = options;
    this.namespace = namespace ?? DEFAULT_NAMESPACE;
    this.redoIntervalMs = redoIntervalMs ?? 3000;
    this.timers = options.timers ?? systemTimers;
    this.logger = options.logger ?? pino({ level: 'warn' });
    this.cache = new ServiceInfoCache((error, key) => this.logger.error({ err: error, service: key }, 'naming listener failed'));
    this.rpcClient = new RpcClient({
      ...rpcOptions,
      labels: sdkLabels('naming', options.appName, options.labels),
      messageTypes: Object.values(NamingMessages),
    });
    this.rpcClient.onServerRequest('NotifySubscriberRequest', (push) => {
      if (NamingMessages.NotifySubscriberRequest.is(push)) this.cache.apply(push.body.serviceInfo);
      return response('NotifySubscriberResponse');
    });
    // Java's redo service: a closed connection takes every registration with it; a new one gets them again.
    const onGone = (): void => {
      this.connected = false;
      this.instances.markUnregistered();
      this.subscriptions.markUnregistered();
    };
    this.rpcClient.on('disconnected', onGone).on('lost', onGone);
    this.rpcClient.on('connected', () => {
      this.connected = true;
      this.cache.serverChanged();
      void this.redo();
    });
  }

  /** Connects (see {@link RpcClient.start}) and starts the periodic redo check. */
  async start(): Promise<void> {
    this.scheduleRedo();
    await this.rpcClient.start();
  }

  /** Registers one instance of a service; it replaces this client's earlier instance of that service. */
  async registerInstance(serviceName: string, instance: NamingInstance, options: ServiceOptions = {}): Promise<void> {
    const { groupName, key } = selection(serviceName, { groupName: options.groupName });
    const registration = { serviceName, groupName, instances: [instanceInput(instance)], batch: false };
    this.instances.cache(key, registration);
    await this.sendRegister(key, registration);
  }

  /** Registers a set of instances of a service, replacing this client's earlier ones of that service. */
  async batchRegisterInstance(serviceName: string, instances: readonly NamingInstance[], options: ServiceOptions = {}): Promise<void> {
    const { groupName, key } = selection(serviceName, { groupName: options.groupName });
    const registration = { serviceName, groupName, instances: instances.map(instanceInput), batch: true };
    this.instances.cache(key, registration);
    await this.sendRegister(key, registration);
  }

  /**
   * Removes this client's instances of a service (the server removes them whatever `instance`
   * says; it is sent as Java does, and defaults to the one registered).
   */
  async deregisterInstance(serviceName: string, instance?: NamingInstance, options: ServiceOptions = {}): Promise<void> {
    const { groupName, key } = selection(serviceName, { groupName: options.groupName });
    const registered = this.instances.get(key)?.data.instances;
    this.instances.deregister(key);
    await this.sendDeregister(key, { serviceName, groupName, instances: instance === undefined ? (registered ?? []) : [instanceInput(instance)], batch: false });
  }

  /** Whether the server holds this client's registration of the service on the current connection (as far as the client knows). */
  isRegistered(serviceName: string, options: ServiceOptions = {}): boolean {
    return this.instances.isRegistered(selection(serviceName, { groupName: options.groupName }).key);
  }

  /** Every enabled instance of a service, unhealthy ones included. */
  async getAllInstances(serviceName: string, options: ReadOptions = {}): Promise<readonly InstanceJson[]> {
    return (await this.serviceInfo(serviceName, options, false)).hosts;
  }

  /** The instances whose health is `healthy`, enabled and with a positive weight (Java's `selectInstances`). */
  async selectInstances(serviceName: string, healthy: boolean, options: ReadOptions = {}): Promise<readonly InstanceJson[]> {
    const hosts = (await this.serviceInfo(serviceName, options, healthy)).hosts;
    return hosts.filter((host) => host.healthy === healthy && host.enabled && host.weight > 0);
  }

  /**
   * Calls `listener` with the service's instances now (once the server answered) and on every
   * change pushed. The subscription is redone after every reconnect.
   */
  async subscribe(serviceName: string, listener: InstancesListener, options: ClusterOptions = {}): Promise<void> {
    const { groupName, clusters, key } = selection(serviceName, options);
    this.cache.addListener(key, listener);
    await this.subscribeService(key, serviceName, groupName, clusters);
  }

  /** Removes a listener; the last one's removal unsubscribes from the server. */
  async unsubscribe(serviceName: string, listener: InstancesListener, options: ClusterOptions = {}): Promise<void> {
    const { groupName, clusters, key } = selection(serviceName, options);
    if (this.cache.removeListener(key, listener) > 0) return;
    this.subscriptions.deregister(key);
    this.cache.delete(key);
    await this.sendUnsubscribe(key, { serviceName, groupName, clusters });
    this.subscriptions.remove(key);
  }

  /** Stops redoing, forgets every registration and closes the connection (the server drops its instances). */
  async shutdown(): Promise<void> {
    this.closed = true;
    this.cancelRedoTimer?.();
    this.instances.clear();
    this.subscriptions.clear();
    this.cache.clear();
    await this.rpcClient.shutdown();
  }

  private async serviceInfo(serviceName: string, options: ReadOptions, healthyOnly: boolean): Promise<ServiceInfoJson> {
    const { groupName, clusters, key } = selection(serviceName, options);
    if (options.subscribe === false) {
      const reply = await this.request('ServiceQueryRequest', { serviceName, groupName, cluster: clusters, healthyOnly, udpPort: 0 }, NamingMessages.QueryServiceResponse);
      return reply.body.serviceInfo;
    }
    const cached = this.cache.get(key);
    if (cached !== undefined && this.subscriptions.isRegistered(key)) return cached;
    return this.subscribeService(key, serviceName, groupName, clusters);
  }

  private async subscribeService(key: string, serviceName: string, groupName: string, clusters: string): Promise<ServiceInfoJson> {
    const subscription = { serviceName, groupName, clusters };
    this.subscriptions.cache(key, subscription);
    return this.sendSubscribe(key, subscription);
  }

  private async sendRegister(key: string, { serviceName, groupName, instances, batch }: Registration): Promise<void> {
    const generation = this.rpcClient.connectionGeneration;
    if (batch) {
      await this.request('BatchInstanceRequest', { serviceName, groupName, type: InstanceOperation.BATCH_REGISTER, instances }, NamingMessages.BatchInstanceResponse);
    } else {
      await this.request('InstanceRequest', { serviceName, groupName, type: InstanceOperation.REGISTER, instance: instances[0] }, NamingMessages.InstanceResponse);
    }
    if (generation === this.rpcClient.connectionGeneration) this.instances.registered(key);
  }

  /** There is no batch deregister: one deregister removes all of this connection's instances of the service. */
  private async sendDeregister(key: string, { serviceName, groupName, instances }: Registration): Promise<void> {
    const instance = instances[0] ?? { ip: '', port: 0 };
    await this.request('InstanceRequest', { serviceName, groupName, type: InstanceOperation.DEREGISTER, instance }, NamingMessages.InstanceResponse);
    this.instances.deregistered(key);
  }

  private async sendSubscribe(key: string, { serviceName, groupName, clusters }: Subscription): Promise<ServiceInfoJson> {
    const generation = this.rpcClient.connectionGeneration;
    const reply = await this.request('SubscribeServiceRequest', { serviceName, groupName, subscribe: true, clusters }, NamingMessages.SubscribeServiceResponse);
    if (generation === this.rpcClient.connectionGeneration) this.subscriptions.registered(key);
    this.cache.apply(reply.body.serviceInfo);
    return reply.body.serviceInfo;
  }

  private async sendUnsubscribe(key: string, { serviceName, groupName, clusters }: Subscription): Promise<void> {
    await this.request('SubscribeServiceRequest', { serviceName, groupName, subscribe: false, clusters }, NamingMessages.SubscribeServiceResponse);
    this.subscriptions.deregistered(key);
  }

  private request<T extends NamingRequestType, R extends string, B extends object>(
    type: T,
    body: Omit<NamingRequestBodies[T], 'namespace'>,
    expect: ResponseTypeDefinition<R, B>,
  ): Promise<ResponseMessage<R, B>> {
    // Messages carry their bodies as plain JSON objects; the typed body is one.
    const json = { ...body, namespace: this.namespace } as unknown as JsonObject;
    const message: RequestMessage = { kind: 'request', type, headers: {}, body: json };
    return this.rpcClient.request(message, { expect });
  }

  /** One redo pass at a time: the periodic check and a reconnect may ask together. */
  private redo(): Promise<void> {
    this.redoing ??= this.redoPass().finally(() => {
      this.redoing = undefined;
    });
    return this.redoing;
  }

  /** Java's `RedoScheduledTask`: instances, then subscriptions. */
  private async redoPass(): Promise<void> {
    if (!this.connected || this.closed) return;
    await this.redoEntries(this.instances, 'instance', (key, data) => this.sendRegister(key, data), (key, data) => this.sendDeregister(key, data));
    await this.redoEntries(this.subscriptions, 'subscription', (key, data) => this.sendSubscribe(key, data), (key, data) => this.sendUnsubscribe(key, data));
  }

  /** Does each pending entry's action; a failure is logged and waits for the next pass. */
  private async redoEntries<T>(
    entries: RedoEntries<T>,
    what: string,
    register: (key: string, data: T) => Promise<unknown>,
    unregister: (key: string, data: T) => Promise<void>,
  ): Promise<void> {
    for (const { entry, action } of entries.pending()) {
      try {
        if (action === RedoAction.REGISTER) await register(entry.key, entry.data);
        else if (action === RedoAction.UNREGISTER) await unregister(entry.key, entry.data);
        else entries.remove(entry.key);
      } catch (error) {
        this.logger.warn({ err: error, key: entry.key, action }, `naming redo of a ${what} failed; retried on the next pass`);
      }
    }
  }

  private scheduleRedo(): void {
    if (this.closed || this.cancelRedoTimer !== undefined) return;
    this.cancelRedoTimer = this.timers.setTimeout(() => {
      this.cancelRedoTimer = undefined;
      void this.redo().finally(() => this.scheduleRedo());
    }, this.redoIntervalMs);
  }
}

/** The instance as sent: Java's `Instance` fields, ephemeral as every gRPC instance is. */
function instanceInput(instance: NamingInstance): InstanceInput {
  return {
    ...(instance.instanceId === undefined ? {} : { instanceId: instance.instanceId }),
    ip: instance.ip,
    port: instance.port,
    weight: instance.weight ?? 1,
    healthy: instance.healthy ?? true,
    enabled: instance.enabled ?? true,
    ephemeral: true,
    clusterName: instance.clusterName ?? DEFAULT_CLUSTER,
    metadata: instance.metadata ?? {},
  };
}

/** The service a call names, and its key in the cache and the redo store (registrations have no clusters). */
/** @throws InvalidParamError when the names would share their cache key with another service's */
function selection(serviceName: string, options: ClusterOptions): { groupName: string; clusters: string; key: string } {
  const groupName = options.groupName ?? DEFAULT_GROUP;
  const problem = groupedNameProblem({ group: groupName, name: serviceName });
  if (problem !== undefined) throw new InvalidParamError(problem);
  const clusters = (options.clusters ?? []).join(',');
  return { groupName, clusters, key: serviceInfoKey(groupName, serviceName, clusters) };
}
