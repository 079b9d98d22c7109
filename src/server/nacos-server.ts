import type { Logger } from 'pino';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  ErrorCode,
  NacosRemoteError,
  MessageRegistry,
  PortOffset,
  systemTimers,
  type MessageTypeDefinition,
  type RequestMessage,
  type ResponseMessage,
  type Timers,
  UnknownConnectionError,
} from '../protocol/index.js';
import { BiStreamAcceptor } from './acceptors/bi-stream-acceptor.js';
import { UnaryAcceptor } from './acceptors/unary-acceptor.js';
import { ConnectionManager, UnregisterReason, type ClientIpCounting, type ConnectionListener } from './connection-manager.js';
import { answerOf, preparePush, type Connection, type PreparedPush, type PushOutcome, type PushSettled } from './connection.js';
import { UNLIMITED_RULE, type ConnectionLimitRule } from './control/limit-rule.js';
import type { ShedPacerOptions } from './control/shed-pacer.js';
import { ConnectionEjector, DEFAULT_EJECTOR_OPTIONS, type EjectorOptions } from './ejector.js';
import { connectionLayerHandlers, type HandlerRegistry, type RequestHandler } from './handlers/index.js';
import { createCpuSampler, ExtraLoaderMetric, loaderMetrics } from './handlers/server-loader-info.js';
import { applyServerReload } from './handlers/server-reload.js';
import { GrpcTransport } from './transport/grpc-transport.js';
import { Http2Transport } from './transport/http2-transport.js';
import { ByteBudget } from './transport/inbound-budget.js';
import { TlsTerminator, type ServerTlsOptions, type TlsCertificateSource } from './transport/tls-terminator.js';
import { DEFAULT_TRANSPORT, type ServerTransport, type Transport, type TransportHandlers, type TransportKind } from './transport/types.js';

export const DEFAULT_MAX_CONCURRENT_STREAMS = 100;
export const DEFAULT_MAX_SESSION_BUFFERED_BYTES = 32 * 1024 * 1024;
export const DEFAULT_MAX_BUFFERED_BYTES = 128 * 1024 * 1024;

/** Hooks for metrics and benchmarks; each is called synchronously, so keep them cheap. */
export interface ServerObserver {
  /** A ConnectionSetupRequest was handled: time from receipt to registered and listeners told. */
  setupHandled?(outcome: 'registered' | 'refused', elapsedMs: number, reason?: string): void;
  /** An awaited push was sent, or settled. */
  pushObserved?(type: string, outcome: PushOutcome): void;
  /** A unary call was answered. */
  unaryAnswered?(type: string, resultCode: number, errorCode: number, elapsedMs: number): void;
}

/** A call that must come before the server's start came after it. */
export class ServerStartedError extends NacosRemoteError {
  constructor(call: string) {
    super('SERVER_STARTED', ErrorCode.SERVER_ERROR, `${call} must be called before the server starts`);
  }
}

/** Options of the gRPC side of a node. Every interval is configurable so tests can run it short. */
export interface NacosServerOptions {
  /** Bind address. */
  host: string;
  /** Main (HTTP) port; SDK gRPC listens on port + grpcPortOffset, cluster gRPC one above. */
  port: number;
  /** Default 1000 (SDK 9848, cluster 9849 for 8848). */
  grpcPortOffset?: number;
  /**
   * This member's address as the cluster lists it (`ip:port`; default `host:port`): the end of
   * every connection id, which makes ids unique in the cluster (see connectionIdOf).
   */
  memberAddress?: string;
  logger: Logger;
  timers?: Timers;
  /** Inbound and outbound gRPC message limit; default 10 MiB, as Nacos. */
  maxMessageBytes?: number;
  /** Per-connection unflushed push bytes past which the connection is closed; default 2 × maxMessageBytes. */
  maxOutboundBytes?: number;
  /** Which gRPC implementation serves both ports; default `http2` (`DEFAULT_TRANSPORT`, docs/server.md). */
  transport?: TransportKind;
  /** Concurrent streams per HTTP/2 session (SETTINGS_MAX_CONCURRENT_STREAMS); default 100. */
  maxConcurrentStreams?: number;
  /**
   * Declared bytes of unfinished inbound messages one session may hold; default 32 MiB (at least
   * maxMessageBytes); negative: no limit.
   */
  maxSessionBufferedBytes?: number;
  /** The same for the whole node (both gRPC ports); default 128 MiB (at least maxMessageBytes); negative: no limit. */
  maxBufferedBytes?: number;
  /** Server keepalive ping interval; default 2 h (grpc-java). */
  keepaliveTimeMs?: number;
  /** Keepalive ack timeout; default 20 s. */
  keepaliveTimeoutMs?: number;
  /** A stream without ConnectionSetupRequest after this is closed; default 10 s. */
  setupTimeoutMs?: number;
  /** A refused connection gets a second ConnectResetRequest and is closed after this; default 300 ms. */
  refusalCloseDelayMs?: number;
  ejector?: Partial<EjectorOptions>;
  /** Pacing of shedding budgets; default 100 resets/s in 100 ms ticks. */
  shed?: Partial<ShedPacerOptions>;
  limitRule?: ConnectionLimitRule;
  /** Which address per-client-IP limits count; default the client-reported one, as Nacos. */
  countClientIpBy?: ClientIpCounting;
  /** How long shutdown waits for clients to acknowledge their ConnectResetRequest; default 1 s. */
  shutdownResetWaitMs?: number;
  /**
   * A connection that closes within this of acking a ConnectResetRequest, or of the ack's timeout
   * when the close is not ours, has moved (listeners are told); default `DEFAULT_MOVE_WINDOW_MS` (30 s).
   */
  moveWindowMs?: number;
  /** Where a refused or shut-down client is sent (another member's `ip:port`); asked once per client. */
  redirectTarget?: () => string | undefined;
  /** More loader metrics from the layers above (the balancer's operator hold). */
  extraLoaderMetrics?: () => Record<string, string>;
  /**
   * Whether a peer is a cluster member, by its address or the identity in its setup headers
   * (trusts `source=cluster` on the cluster port).
   */
  isTrustedMember?: (ip: string, headers: Readonly<Record<string, string>>) => boolean;
  observer?: ServerObserver;
  /** TLS on both gRPC ports (as Nacos's one `nacos.remote.server.rpc.tls` setting); off when unset. */
  tls?: ServerTlsOptions;
}

/** A registered connection as the embedding API shows it. */
export type ConnectionInfo = Connection['meta'] & { readonly lastActiveTime: number; readonly traced: boolean };

/**
 * The gRPC side of a Nacos node: SDK and cluster listeners, acceptors, the ConnectionManager,
 * pushes, and the ejector.
 */
export class NacosServer {
  readonly manager: ConnectionManager;
  readonly handlers: HandlerRegistry;
  readonly registry: MessageRegistry;
  private readonly sdkTransport: ServerTransport;
  private readonly clusterTransport: ServerTransport;
  /** The gRPC ports' certificate, when TLS is on: it serves HTTPS too. */
  get tls(): TlsCertificateSource | undefined {
    return this.terminator;
  }
  private readonly terminator: TlsTerminator | undefined;
  private readonly ejector: ConnectionEjector;
  private readonly timers: Timers;
  private readonly logger: Logger;
  private startedFlag = false;
  /** Holds on SDK clients not yet released (see holdClientsUntil). */
  private clientHolds = 0;
  /** Called once at start (see whenStarted). */
  private startListeners: (() => void)[] = [];
  private refusingSetups = false;
  private listening = false;
  private closing: Promise<void> | undefined;
  private pushSeq = 0;
  /** Process-wide decimal push ids (Nacos `PushAckIdGenerator`). */
  private readonly nextPushId = (): string => String(++this.pushSeq);
  private boundPorts = { sdk: 0, cluster: 0 };
  private readonly cpuUsage: () => number;

  constructor(private readonly options: NacosServerOptions) {
    const timers = options.timers ?? systemTimers;
    this.timers = timers;
    this.logger = options.logger;
    const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.registry = MessageRegistry.connectionLayer();
    this.manager = new ConnectionManager(
      options.logger,
      timers,
      { ratePerSecond: 100, tickMs: 100, ...options.shed },
      options.countClientIpBy,
      options.moveWindowMs,
    );
    this.manager.setLimitRule(options.limitRule ?? UNLIMITED_RULE);
    this.cpuUsage = createCpuSampler();
    this.handlers = connectionLayerHandlers(this.manager, () => this.loaderMetrics());
    this.ejector = new ConnectionEjector(this.manager, timers, { ...DEFAULT_EJECTOR_OPTIONS, ...options.ejector }, options.logger);

    const unary = new UnaryAcceptor({
      // Members reach the cluster port from the start, so data can come in while SDK clients are held.
      isStarted: (port) => (port === 'cluster' ? this.startedFlag : this.takesClients),
      manager: this.manager,
      handlers: this.handlers,
      registry: this.registry,
      logger: options.logger,
      onReply: (type, reply, elapsedMs) => options.observer?.unaryAnswered?.(type, reply.resultCode, reply.errorCode, elapsedMs),
    });
    const biStream = new BiStreamAcceptor({
      manager: this.manager,
      registry: this.registry,
      timers,
      logger: options.logger,
      push: {
        nextRequestId: this.nextPushId,
        maxOutboundBytes: options.maxOutboundBytes ?? 2 * maxMessageBytes,
        observePush: (type, outcome) => options.observer?.pushObserved?.(type, outcome),
      },
      takesSdkClients: () => this.takesClients,
      isRefusingSetups: () => this.refusingSetups,
      refusalRedirect: () => options.redirectTarget?.(),
      isTrustedMember: options.isTrustedMember ?? (() => false),
      setupTimeoutMs: options.setupTimeoutMs ?? 10_000,
      refusalCloseDelayMs: options.refusalCloseDelayMs ?? 300,
      onSetup: (outcome, elapsedMs, reason) => options.observer?.setupHandled?.(outcome, elapsedMs, reason),
    });
    const handlers: TransportHandlers = {
      unary: (bytes, transport) => unary.handle(bytes, transport),
      openStream: (transport, sink) => biStream.open(transport, sink),
      transportClosed: (transport: Transport) => {
        this.manager.unregister(transport.id, UnregisterReason.TRANSPORT_CLOSED);
      },
      registered: (transport: Transport) => this.manager.checkValid(transport.id),
    };
    const offset = options.grpcPortOffset ?? PortOffset.SDK_GRPC;
    this.terminator = options.tls === undefined ? undefined : new TlsTerminator(options.tls, timers, options.logger);
    const transportOptions = {
      host: options.host,
      maxMessageBytes,
      maxConcurrentStreams: options.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS,
      maxSessionBufferedBytes: options.maxSessionBufferedBytes ?? Math.max(DEFAULT_MAX_SESSION_BUFFERED_BYTES, maxMessageBytes),
      nodeBufferedBytes: new ByteBudget(options.maxBufferedBytes ?? Math.max(DEFAULT_MAX_BUFFERED_BYTES, maxMessageBytes)),
      keepaliveTimeMs: options.keepaliveTimeMs ?? 2 * 60 * 60 * 1000,
      keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? 20_000,
      closeGraceMs: 5000,
      // Twice the setup timeout: a stream's own timer fires first and says why.
      unregisteredTimeoutMs: 2 * (options.setupTimeoutMs ?? 10_000),
      memberAddress: options.memberAddress ?? `${options.host}:${options.port}`,
      timers,
      logger: options.logger,
      ...(this.terminator === undefined ? {} : { tls: this.terminator }),
    };
    const TransportImpl = (options.transport ?? DEFAULT_TRANSPORT) === 'http2' ? Http2Transport : GrpcTransport;
    this.sdkTransport = new TransportImpl({ ...transportOptions, port: options.port + offset, kind: 'sdk' }, handlers);
    this.clusterTransport = new TransportImpl(
      { ...transportOptions, port: options.port + offset + (PortOffset.CLUSTER_GRPC - PortOffset.SDK_GRPC), kind: 'cluster' },
      handlers,
    );
  }

  /** Whether the node has started: before, unary calls get 300 and SDK setups are refused. */
  get started(): boolean {
    return this.startedFlag;
  }

  /**
   * Whether the start is over for SDK clients: the node has started and no hold on them is left
   * (a drain then refuses them all the same; see {@link draining}).
   */
  get takesClients(): boolean {
    return this.startedFlag && this.clientHolds === 0;
  }

  /**
   * Keeps SDK clients away until `ready` settles, as before the start (ServerCheck on the SDK port
   * answered 300, SDK setups refused and sent elsewhere), while the cluster port serves members:
   * for a service that must have its data before it answers clients.
   * @throws ServerStartedError once started: clients already taken would get 300 on every call
   */
  holdClientsUntil(ready: Promise<unknown>): void {
    if (this.startedFlag) throw new ServerStartedError('holdClientsUntil');
    this.clientHolds++;
    const release = (): void => {
      this.clientHolds--;
      if (this.takesClients) this.logger.info('taking SDK clients');
    };
    ready.then(release, release);
  }

  /** Calls `listener` when {@link start} marks the server started (at once if it has). */
  whenStarted(listener: () => void): void {
    if (this.startedFlag) listener();
    else this.startListeners.push(listener);
  }

  /** Whether the node is leaving (a drain or close has begun): every new SDK setup is refused. */
  get draining(): boolean {
    return this.refusingSetups;
  }

  /** The bound gRPC ports. */
  get ports(): { readonly sdk: number; readonly cluster: number } {
    return this.boundPorts;
  }

  /** Binds both gRPC ports without starting: calls get 300 until {@link start}. */
  async listen(): Promise<void> {
    if (this.listening) return;
    const sdk = await this.sdkTransport.listen();
    try {
      const cluster = await this.clusterTransport.listen();
      this.boundPorts = { sdk, cluster };
    } catch (error) {
      await this.sdkTransport.close();
      throw error;
    }
    this.listening = true;
    this.terminator?.start();
  }

  /** Binds (if needed), starts the ejector and marks the server started. */
  async start(): Promise<void> {
    await this.listen();
    this.ejector.start();
    this.startedFlag = true;
    this.logger.info({ host: this.options.host, ...this.boundPorts }, 'gRPC server started');
    for (const listener of this.startListeners.splice(0)) listener();
  }

  /** From now on SDK setups are refused (sent to `redirectTarget`): the start of a drain. */
  refuseNewSetups(): void {
    this.refusingSetups = true;
  }

  /**
   * Registers (or replaces) the handler for a request type; unknown types are added to the
   * registry (their bodies kept as they come). A handler answers with any response type:
   * `response('ConfigQueryResponse', { content })`.
   */
  registerHandler(type: string, handler: RequestHandler, options: { module?: string } = {}): void {
    if (!this.registry.has(type)) this.registry.defineRequest(type, options);
    this.handlers.register(type, handler);
  }

  /** Adds a response type, by name alone, that pushes of a business request type are answered with. */
  defineResponseType(type: string): void {
    if (!this.registry.has(type)) this.registry.defineResponse(type);
  }

  /**
   * Registers business message types with their parsers: requests this server handles (their
   * handlers then get the parsed body; a body the parser refuses is answered 502) and responses
   * to its pushes. Registering a type again replaces it.
   * @throws Error when a name is already registered as the other kind.
   */
  defineMessageTypes(...definitions: readonly MessageTypeDefinition[]): void {
    this.registry.register(...definitions);
  }

  /** This node's loader metrics (conCount, sdkConCount, load, cpu), as ServerLoaderInfoRequest answers. */
  loaderMetrics(): Record<string, string> {
    const metrics = { ...loaderMetrics(this.manager, this.cpuUsage), ...this.options.extraLoaderMetrics?.() };
    // A draining or starting member is no target for anyone's clients; a member at its limit takes no more.
    if (this.refusingSetups) metrics[ExtraLoaderMetric.DRAINING] = 'true';
    if (!this.takesClients) metrics[ExtraLoaderMetric.STARTING] = 'true';
    const { countLimit } = this.manager.limitRule;
    if (countLimit >= 0) {
      metrics[ExtraLoaderMetric.COUNT_LIMIT] = String(countLimit);
      if (this.manager.refusesNewConnections()) metrics[ExtraLoaderMetric.REFUSING] = 'true';
    }
    return metrics;
  }

  /** ServerReloadRequest semantics on this node: shed toward `reloadServer` if above `reloadCount`. */
  reload(reloadCount: number, reloadServer?: string): 'ok' | 'ignore' {
    return applyServerReload(this.manager, reloadCount, reloadServer);
  }

  /** Pushes a request to a connection and resolves with its successful answer. */
  push(connectionId: string, message: RequestMessage, timeoutMs = 3000): Promise<ResponseMessage> {
    return answerOf((settled) => this.pushThen(connectionId, message, timeoutMs, settled));
  }

  /** A push encoded once for many connections ({@link pushThen}). */
  preparePush(message: RequestMessage): PreparedPush {
    return preparePush(message, { nextRequestId: this.nextPushId, registry: this.registry });
  }

  /**
   * {@link push} with a callback, called once and never before this returns (UnknownConnectionError
   * too): for a push to many connections, prepared once, which then makes no promise per connection.
   */
  pushThen(connectionId: string, message: RequestMessage | PreparedPush, timeoutMs: number, settled: PushSettled): void {
    const connection = this.manager.get(connectionId);
    if (connection === undefined) {
      const error = new UnknownConnectionError(connectionId);
      queueMicrotask(() => settled(error, undefined));
      return;
    }
    connection.push(message, timeoutMs, settled);
  }

  /** Registered connections, oldest first. */
  connections(): ConnectionInfo[] {
    return this.manager.list().map((c) => ({ ...c.meta, lastActiveTime: c.lastActiveTime, traced: c.traced }));
  }

  /** Subscribes to connect/disconnect; returns an unsubscribe function. */
  addConnectionListener(listener: ConnectionListener): () => void {
    return this.manager.addListener(listener);
  }

  /**
   * Stops accepting, tells connected clients to go elsewhere (ConnectResetRequest) but those that
   * acked one within the move window, waits briefly for their acks, then closes every connection
   * and both listeners. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.refusingSetups = true;
    this.ejector.stop();
    this.manager.stopShedding();
    this.sdkTransport.stopAccepting();
    this.clusterTransport.stopAccepting();
    this.terminator?.stop();
    const waitMs = this.options.shutdownResetWaitMs ?? 1000;
    // A target per client, so they spread over the other members instead of all going to one.
    // Clients that acked a reset within the move window are switching already (a drain's): their
    // close is a move without another reset, which would only hold up one that handles resets in turn.
    const sheddable = this.manager.sheddable();
    const resets = sheddable
      .filter((c) => !this.manager.isMoving(c.id))
      .map((c) => this.manager.loadSingle(c.id, this.options.redirectTarget?.(), waitMs, 'debug'));
    const acknowledged = (await Promise.all(resets)).filter(Boolean).length;
    // One line for the lot: thousands of clients that did not answer in time are no news one by one.
    if (resets.length > 0) {
      const summary = { told: resets.length, acknowledged, alreadyMoving: sheddable.length - resets.length };
      if (acknowledged < resets.length) this.logger.warn(summary, 'shutdown: connections told to move, some did not acknowledge in time');
      else this.logger.info(summary, 'shutdown: connections told to move');
    }
    for (const connection of this.manager.list()) this.manager.unregister(connection.id, UnregisterReason.SHUTDOWN);
    this.startedFlag = false;
    await Promise.all([this.sdkTransport.close(), this.clusterTransport.close()]);
    this.logger.info('gRPC server closed');
  }
}
