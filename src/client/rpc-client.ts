import pino, { type Logger } from 'pino';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  ErrorCode,
  errorResponse,
  firstNonInternalIPv4,
  isRequestOf,
  isSuccess,
  MessageRegistry,
  NacosRemoteError,
  PACKAGE_VERSION,
  PortOffset,
  RemoteResponseError,
  request,
  response,
  sleep,
  systemTimers,
  type ClientAbilities,
  type JsonObject,
  type Message,
  type MessageTypeDefinition,
  type RequestMessage,
  type ResponseMessage,
  type ResponseTypeDefinition,
  type Timers,
} from '../protocol/index.js';
import { healthCheckJitterMs, reconnectDelayMs } from './backoff.js';
import {
  ClientNotConnectedError,
  ClientShutdownError,
  ClientStartError,
  ConnectFailedError,
  InvalidClientOptionError,
  UnexpectedResponseTypeError,
  UnusableResponseError,
} from './errors.js';
import { GrpcConnection } from './grpc-connection.js';
import { channelSecurity, type ChannelSecurity, type ClientTlsOptions } from './tls.js';
import type { ClientConnection, ConnectionFactory } from './transport.js';
import { formatAddress, parseServerAddress, ServerList, type ServerAddress } from './server-list.js';

/** Client states, as Java's `RpcClientStatus`. */
export const ClientStatus = {
  WAIT_INIT: 'WAIT_INIT',
  INITIALIZED: 'INITIALIZED',
  STARTING: 'STARTING',
  UNHEALTHY: 'UNHEALTHY',
  RUNNING: 'RUNNING',
  SHUTDOWN: 'SHUTDOWN',
} as const;
export type ClientStatus = (typeof ClientStatus)[keyof typeof ClientStatus];

/** Options of an {@link RpcClient}; defaults are Java 2.2.4's (spec 4.1). */
export interface RpcClientOptions {
  /** `ip:port`, `host`, `http://ip:port`, `[v6]:port`; port defaults to 8848. */
  serverAddresses: readonly string[];
  /** Sent in ConnectionSetupRequest; `source=sdk` unless given. */
  labels?: Readonly<Record<string, string>>;
  /** Sent as label `AppName`. */
  appName?: string;
  /** Headers sent with every request, the ConnectionSetupRequest included (a member's identity). */
  headers?: Readonly<Record<string, string>>;
  tenant?: string;
  abilities?: ClientAbilities;
  /** gRPC port = main port + this; default 1000. */
  grpcPortOffset?: number;
  /** Default request timeout; 3000 ms. */
  requestTimeoutMs?: number;
  /** Attempts per request and connect attempts at start; 3, at least 1. */
  retryTimes?: number;
  /** Idle time before a health check, and the reconnect loop's poll period; 5000 ms. */
  keepAliveMs?: number;
  serverCheckTimeoutMs?: number;
  /** Health-check retries (so retries + 1 tries); 3. */
  healthCheckRetries?: number;
  healthCheckTimeoutMs?: number;
  /** Wait after setup before confirming registration (less if SetupAckRequest arrives); 100 ms. */
  setupWaitMs?: number;
  maxMessageBytes?: number;
  /** HTTP/2 keepalive ping interval; 6 min. */
  channelKeepAliveMs?: number;
  channelKeepAliveTimeoutMs?: number;
  /** `metadata.clientIp`; default the first non-internal IPv4 address. */
  clientIp?: string;
  /** Business message types this client sends or receives; more with {@link RpcClient.defineMessageTypes}. */
  messageTypes?: readonly MessageTypeDefinition[];
  /**
   * Send a request again when its answer cannot be decoded (unknown type, invalid body), and turn
   * UNHEALTHY when the tries run out, as Java 2.2.4 does; default false: the caller gets the error
   * at once and the connection stays as it is.
   */
  retryUndecodableResponses?: boolean;
  logger?: Logger;
  timers?: Timers;
  random?: () => number;
  /** TLS to the gRPC port (docs/security.md); plaintext when unset. */
  tls?: ClientTlsOptions;
  /**
   * Credentials already built by {@link channelSecurity}, shared by many clients (files read and
   * checked once, as a node does for its member clients); `tls` is not read when this is set.
   */
  channelSecurity?: ChannelSecurity;
  /** @internal Replaces the gRPC transport (tests). */
  connectionFactory?: ConnectionFactory;
}

/** Options of one {@link RpcClient.request} call. */
export interface RequestOptions<T extends string = string, B extends object = JsonObject> {
  /** Total time for every try; default `requestTimeoutMs`. */
  timeoutMs?: number;
  /**
   * The response type the caller wants: another type (ErrorResponse aside, which throws anyway)
   * rejects with UnexpectedResponseTypeError, and the result has this type's body. Registered on
   * this client if its name is not yet.
   */
  expect?: ResponseTypeDefinition<T, B>;
}

/** Where a push came from. */
export interface PushContext {
  /**
   * Whether it came on the client's current connection (not one being set up, or left behind).
   * Replies go back on the connection the push came on either way (decision 10.6).
   */
  readonly fromCurrent: boolean;
}

/** Handles one push type; return the response to send back, or undefined for none. */
export type ServerRequestHandler = (
  request: RequestMessage,
  context: PushContext,
) => ResponseMessage | undefined | Promise<ResponseMessage | undefined>;

export interface ClientEvents {
  /** A connection became current. */
  connected: (connectionId: string, server: string) => void;
  /** A connection was closed (on a switch or shutdown), before the next `connected`. */
  disconnected: (connectionId: string, server: string) => void;
  /** The current connection failed before a replacement exists. */
  lost: (connectionId: string, server: string, reason: string) => void;
  /**
   * The current connection failed its health checks: the client is UNHEALTHY and looks for another
   * while keeping it open (a hung server's stream may end only minutes later, at its keepalive).
   */
  unhealthy: (connectionId: string, server: string) => void;
  /** A connect attempt failed, at start or on a reconnect or move (its owner may classify the error). */
  connectFailed: (server: string, error: unknown) => void;
}

/** A start() call waiting for RUNNING; it gives up after `attemptsLeft` more failed connect attempts. */
interface StartWaiter {
  attemptsLeft: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** What one connect attempt came to. */
type ConnectOutcome = { readonly kind: 'installed' } | { readonly kind: 'shut-down' } | { readonly kind: 'failed'; readonly error: unknown };

interface SwitchSignal {
  readonly recommended?: ServerAddress;
  readonly onRequestFail: boolean;
}

/**
 * A Nacos 2.x long-connection client (Java `RpcClient` behaviour, spec 4; decisions 10.6, 10.7,
 * 10.10): connects, health-checks, reconnects with back-off, obeys server pushes, and moves
 * between servers without dropping work.
 */
export class RpcClient {
  private statusValue: ClientStatus = ClientStatus.WAIT_INIT;
  private current: ClientConnection | undefined;
  /** Bumped whenever the connection requests go out on changes (installed, lost, shut down). */
  private generation = 0;
  private readonly serverList: ServerList;
  private readonly registry = MessageRegistry.connectionLayer();
  private readonly handlers = new Map<string, ServerRequestHandler>();
  private readonly listeners: { [K in keyof ClientEvents]: ClientEvents[K][] } = { connected: [], disconnected: [], lost: [], unhealthy: [], connectFailed: [] };
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly clientIp: string;
  private readonly security: ChannelSecurity;
  private lastActive = 0;
  private startWaiters: StartWaiter[] = [];
  private signal: SwitchSignal | undefined;
  private wakeLoop: (() => void) | undefined;
  private readonly o: Required<
    Omit<
      RpcClientOptions,
      'logger' | 'timers' | 'random' | 'connectionFactory' | 'abilities' | 'tenant' | 'appName' | 'labels' | 'clientIp' | 'serverAddresses' | 'messageTypes' | 'tls' | 'channelSecurity' | 'headers'
    >
  >;
  /** Headers added to every request; undefined when none (most clients), so requests go as built. */
  private readonly requestHeaders: Readonly<Record<string, string>> | undefined;

  /** @throws InvalidClientOptionError when `retryTimes` is not a whole number of at least 1 */
  constructor(private readonly options: RpcClientOptions) {
    // With no attempt, start() could never reject and request() could never send.
    if (options.retryTimes !== undefined && !(Number.isSafeInteger(options.retryTimes) && options.retryTimes >= 1)) {
      throw new InvalidClientOptionError('retryTimes', `${options.retryTimes} is not a whole number of at least 1`);
    }
    this.timers = options.timers ?? systemTimers;
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? pino({ level: 'warn' });
    this.serverList = new ServerList(options.serverAddresses, this.random);
    this.clientIp = options.clientIp ?? firstNonInternalIPv4();
    this.security = options.channelSecurity ?? channelSecurity(options.tls);
    this.requestHeaders = options.headers !== undefined && Object.keys(options.headers).length > 0 ? options.headers : undefined;
    this.o = {
      grpcPortOffset: options.grpcPortOffset ?? PortOffset.SDK_GRPC,
      requestTimeoutMs: options.requestTimeoutMs ?? 3000,
      retryTimes: options.retryTimes ?? 3,
      keepAliveMs: options.keepAliveMs ?? 5000,
      serverCheckTimeoutMs: options.serverCheckTimeoutMs ?? 3000,
      healthCheckRetries: options.healthCheckRetries ?? 3,
      healthCheckTimeoutMs: options.healthCheckTimeoutMs ?? 3000,
      setupWaitMs: options.setupWaitMs ?? 100,
      maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      channelKeepAliveMs: options.channelKeepAliveMs ?? 6 * 60 * 1000,
      channelKeepAliveTimeoutMs: options.channelKeepAliveTimeoutMs ?? 20_000,
      retryUndecodableResponses: options.retryUndecodableResponses ?? false,
    };
    this.registry.register(...(options.messageTypes ?? []));
    this.statusValue = ClientStatus.INITIALIZED;
  }

  get status(): ClientStatus {
    return this.statusValue;
  }

  /** The current connection's id, if connected. */
  get connectionId(): string | undefined {
    return this.current?.connectionId;
  }

  /** The current server as `ip:mainPort`. */
  /**
   * Changes whenever the connection requests go out on changes (a new one, the current one lost,
   * shutdown): an answer to a request sent under another generation came from a connection that
   * is gone, so what it confirmed is not known to the server now serving this client.
   */
  get connectionGeneration(): number {
    return this.generation;
  }

  currentServer(): string | undefined {
    return this.current?.address;
  }

  /** Subscribes to an event; a throwing listener is logged and does not affect others. */
  on<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): this {
    this.listeners[event].push(listener);
    return this;
  }

  /** Unsubscribes a listener given to {@link on} (its latest subscription, if given more than once). */
  off<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): this {
    const listeners = this.listeners[event];
    const index = listeners.lastIndexOf(listener);
    if (index >= 0) listeners.splice(index, 1);
    return this;
  }

  /**
   * Registers business message types: the responses this client may receive (a type not
   * registered is an UnknownResponseTypeError to the caller) and the requests it sends or is
   * pushed. Registering a type again replaces it, so SDK classes sharing one client may each
   * register theirs.
   * @throws Error when a name is already registered as the other kind.
   */
  defineMessageTypes(...definitions: readonly MessageTypeDefinition[]): this {
    this.registry.register(...definitions);
    return this;
  }

  /** Registers the handler for a push type (replacing the built-in one, if any). */
  onServerRequest(type: string, handler: ServerRequestHandler): void {
    if (!this.registry.has(type)) this.registry.defineRequest(type);
    this.handlers.set(type, handler);
  }

  /**
   * Resolves once the client is RUNNING: at once if it is; the first call also starts connecting.
   * Otherwise it waits for the next `retryTimes` connect attempts and rejects with ClientStartError
   * if they all fail; the client keeps reconnecting in the background until shutdown(), so a
   * later start() resolves once a server accepts. Rejects with ClientShutdownError after
   * shutdown(), or when it comes while waiting.
   */
  start(): Promise<void> {
    if (this.isShutdown()) return Promise.reject(new ClientShutdownError());
    if (this.statusValue === ClientStatus.RUNNING) return Promise.resolve();
    const started = new Promise<void>((resolve, reject) => this.startWaiters.push({ attemptsLeft: this.o.retryTimes, resolve, reject }));
    if (this.statusValue === ClientStatus.INITIALIZED) void this.connectAtStart();
    return started;
  }

  private async connectAtStart(): Promise<void> {
    this.statusValue = ClientStatus.STARTING;
    this.installBuiltInHandlers();
    void this.runKeepAliveLoop();
    let current: ServerAddress | undefined;
    for (let attempt = 0; attempt < this.o.retryTimes && this.statusValue === ClientStatus.STARTING; attempt++) {
      const server = this.serverList.pickOther(current);
      current = server;
      const outcome = await this.tryConnect(server);
      if (outcome.kind !== 'failed') return;
      this.logger.warn({ err: outcome.error, server: formatAddress(server), attempt: attempt + 1 }, 'start-up connect failed');
    }
    this.switchServerAsync(undefined, false);
  }

  /**
   * One connect attempt: the confirmed connection becomes current, or is closed if shutdown() ran
   * while it was being set up; a failure counts against every waiting start().
   */
  private async tryConnect(server: ServerAddress): Promise<ConnectOutcome> {
    let connection: ClientConnection;
    try {
      connection = await this.connectToServer(server);
    } catch (error) {
      this.emit('connectFailed', formatAddress(server), error);
      this.connectAttemptFailed(error);
      return { kind: 'failed', error };
    }
    if (this.isShutdown()) {
      await connection.close();
      return { kind: 'shut-down' };
    }
    this.install(connection);
    return { kind: 'installed' };
  }

  /** Counts a failed connect attempt against every waiting start(); those out of attempts reject. */
  private connectAttemptFailed(error: unknown): void {
    const waiting: StartWaiter[] = [];
    for (const waiter of this.startWaiters) {
      // Dropped and rejected in one step: a waiter is never dropped unanswered.
      if (--waiter.attemptsLeft > 0) waiting.push(waiter);
      else waiter.reject(new ClientStartError(this.o.retryTimes, { cause: error }));
    }
    this.startWaiters = waiting;
  }

  /** The client is RUNNING (again): every waiting start() resolves. */
  private becomeRunning(): void {
    this.statusValue = ClientStatus.RUNNING;
    this.retryAtOnce = false;
    for (const waiter of this.takeStartWaiters()) waiter.resolve();
  }

  private takeStartWaiters(): StartWaiter[] {
    const waiters = this.startWaiters;
    this.startWaiters = [];
    return waiters;
  }

  /** Closes the connection and stops every loop; emits `disconnected` for the closed connection. */
  async shutdown(): Promise<void> {
    if (this.isShutdown()) return;
    this.statusValue = ClientStatus.SHUTDOWN;
    this.wakeLoop?.();
    // A reconnect waiting out its back-off would keep its loop and timer up to 5 s otherwise.
    this.cutBackOff?.();
    for (const waiter of this.takeStartWaiters()) waiter.reject(new ClientShutdownError());
    const connection = this.current;
    this.current = undefined;
    this.generation++;
    if (connection) {
      connection.abandoned = true;
      await connection.close();
      this.emit('disconnected', connection.connectionId, connection.address);
    }
    // Not awaited: the loop may be in a back-off sleep or a connect attempt; it sees SHUTDOWN
    // and stops, closing any connection it set up meanwhile.
  }

  /** Replaces the server list; if the current server left it, switches to another. */
  setServerAddresses(addresses: readonly string[]): void {
    this.serverList.replace(addresses);
    const current = this.current;
    if (current && !this.serverList.contains(current.server)) this.switchServerAsync(undefined, false);
  }

  private withHeaders(message: RequestMessage): RequestMessage {
    const headers = this.requestHeaders;
    return headers === undefined ? message : { ...message, headers: { ...headers, ...message.headers } };
  }

  /**
   * Sends a request with Java's retries (spec 4.6): up to `retryTimes` tries within the timeout;
   * an UN_REGISTER (301) answer marks the client unhealthy and switches server. A typed response
   * with resultCode 500 is returned as is; only ErrorResponse is an error here. An answer that
   * cannot be used (an UnusableResponseError: a type not registered, an invalid body, not the
   * `expect`ed type) rejects at once: it is not sent again and the connection stays healthy.
   */
  request(message: RequestMessage, timeoutMs?: number): Promise<ResponseMessage>;
  request<T extends string, B extends object>(
    message: RequestMessage,
    options: RequestOptions<T, B> & { expect: ResponseTypeDefinition<T, B> },
  ): Promise<ResponseMessage<T, B>>;
  request(message: RequestMessage, options?: RequestOptions): Promise<ResponseMessage>;
  async request(message: RequestMessage, timeoutOrOptions?: number | RequestOptions): Promise<ResponseMessage> {
    const { timeoutMs = this.o.requestTimeoutMs, expect } = typeof timeoutOrOptions === 'number' ? { timeoutMs: timeoutOrOptions } : (timeoutOrOptions ?? {});
    if (expect !== undefined && !this.registry.has(expect.type)) this.registry.register(expect);
    const reply = await this.requestWithRetries(message, timeoutMs);
    if (expect !== undefined && reply.type !== expect.type) throw new UnexpectedResponseTypeError(message.type, expect.type, reply.type);
    return reply;
  }

  private async requestWithRetries(message: RequestMessage, timeoutMs: number): Promise<ResponseMessage> {
    const start = this.timers.now();
    let lastError: NacosRemoteError = new ClientNotConnectedError(this.statusValue);
    // The connection the last try failed on; undefined when that try found the client not connected.
    let failedOn: ClientConnection | undefined;
    for (let tries = 0; tries < this.o.retryTimes && (timeoutMs <= 0 || this.timers.now() < start + timeoutMs); tries++) {
      const connection = this.current;
      if (this.statusValue !== ClientStatus.RUNNING || connection === undefined) {
        if (this.isShutdown()) throw new ClientShutdownError();
        lastError = new ClientNotConnectedError(this.statusValue);
        failedOn = undefined;
        await sleep(this.timers, Math.min(100, timeoutMs / 3));
        continue;
      }
      try {
        const reply = await connection.request(this.withHeaders(message), timeoutMs);
        if (reply.type === 'ErrorResponse') {
          // A 301 from a connection we already moved away from says nothing about the current one.
          if (reply.errorCode === ErrorCode.UN_REGISTER && connection === this.current && this.statusValue === ClientStatus.RUNNING) {
            this.statusValue = ClientStatus.UNHEALTHY;
            this.switchServerAsync(undefined, false);
            await sleep(this.timers, Math.min(100, timeoutMs / 3));
          }
          throw new RemoteResponseError(reply.errorCode, reply.message ?? 'ErrorResponse');
        }
        this.lastActive = this.timers.now();
        return reply;
      } catch (error) {
        if (error instanceof UnusableResponseError && !this.o.retryUndecodableResponses) {
          // The server answered: the connection works, and sending again would run the request again.
          this.lastActive = this.timers.now();
          throw error;
        }
        lastError = NacosRemoteError.from(error);
        failedOn = connection;
        this.logger.debug({ err: error, type: message.type, tries }, 'request attempt failed');
      }
    }
    // Only a failure on the connection still current says it is unhealthy (Java asks no such
    // question): tries that found no connection, or failed on one replaced since, say nothing of a
    // connection installed meanwhile, and turning it UNHEALTHY would fail other callers' requests.
    if (this.statusValue === ClientStatus.RUNNING && failedOn !== undefined && failedOn === this.current) {
      this.statusValue = ClientStatus.UNHEALTHY;
      this.switchServerAsync(undefined, true);
    }
    throw lastError;
  }

  // ---- connecting ----

  /** ServerCheck, bi-stream, setup, the setup wait, then one HealthCheck to confirm (decision 10.10). */
  private async connectToServer(server: ServerAddress): Promise<ClientConnection> {
    const connection = this.createConnection(server);
    const address = formatAddress(server);
    try {
      const check = await connection.request(request('ServerCheckRequest'), this.o.serverCheckTimeoutMs);
      if (check.type !== 'ServerCheckResponse') {
        throw new ConnectFailedError(address, `ServerCheck answered ${check.type} ${check.errorCode} ${check.message ?? ''}`.trim());
      }
      connection.connectionId = String(check.body['connectionId'] ?? '');
      let setupAcked: (() => void) | undefined;
      const acked = new Promise<void>((resolve) => (setupAcked = resolve));
      connection.openStream(
        (message) => {
          if (isRequestOf(message, 'SetupAckRequest')) setupAcked?.();
          void this.handlePush(connection, message);
        },
        (reason) => this.onStreamEnd(connection, reason),
      );
      // Java's GrpcClient always says whether it dialled with TLS, after the user's labels, so none can claim it.
      const labels = {
        source: 'sdk',
        ...(this.options.appName ? { AppName: this.options.appName } : {}),
        ...this.options.labels,
        'tls.enable': String(this.security.tls),
      };
      connection.send(
        this.withHeaders(request('ConnectionSetupRequest', {
          clientVersion: `Nacos-Node-Client:v${PACKAGE_VERSION}`,
          labels,
          ...(this.options.tenant === undefined ? {} : { tenant: this.options.tenant }),
          ...(this.options.abilities === undefined ? {} : { abilities: this.options.abilities }),
        })),
      );
      await Promise.race([acked, sleep(this.timers, this.o.setupWaitMs)]);
      const confirm = await connection.request(request('HealthCheckRequest'), this.o.healthCheckTimeoutMs);
      if (!isSuccess(confirm)) {
        throw new ConnectFailedError(address, `setup not accepted (${confirm.errorCode} ${confirm.message ?? ''})`.trim());
      }
      return connection;
    } catch (error) {
      connection.abandoned = true;
      await connection.close();
      throw error instanceof ConnectFailedError ? error : new ConnectFailedError(address, NacosRemoteError.from(error).message, { cause: error });
    }
  }

  private createConnection(server: ServerAddress): ClientConnection {
    if (this.options.connectionFactory) return this.options.connectionFactory(server);
    return new GrpcConnection({
      server,
      grpcPortOffset: this.o.grpcPortOffset,
      maxMessageBytes: this.o.maxMessageBytes,
      keepaliveTimeMs: this.o.channelKeepAliveMs,
      keepaliveTimeoutMs: this.o.channelKeepAliveTimeoutMs,
      clientIp: this.clientIp,
      registry: this.registry,
      logger: this.logger,
      security: this.security,
    });
  }

  /** Makes a confirmed connection current; the old one (if any) is closed after, gracefully. */
  private install(connection: ClientConnection): void {
    const old = this.current;
    this.current = connection;
    this.generation++;
    // A switch asked for while this one was under way concerned the connection now replaced.
    this.signal = undefined;
    this.becomeRunning();
    this.lastActive = this.timers.now();
    if (old) {
      old.abandoned = true;
      // The old stream ends now; its in-flight unary calls may finish before the transport closes.
      void old.close(this.o.requestTimeoutMs);
      this.emit('disconnected', old.connectionId, old.address);
    }
    this.logger.info({ connectionId: connection.connectionId, server: connection.address }, 'connected');
    this.emit('connected', connection.connectionId, connection.address);
  }

  private onStreamEnd(connection: ClientConnection, reason: string): void {
    if (connection.abandoned || connection !== this.current) return;
    this.generation++;
    this.logger.warn({ connectionId: connection.connectionId, server: connection.address, reason }, 'connection lost');
    this.emit('lost', connection.connectionId, connection.address, reason);
    if (this.statusValue === ClientStatus.RUNNING) this.statusValue = ClientStatus.UNHEALTHY;
    this.switchServerAsync(undefined, false);
  }

  /** Queues a switch (capacity one: a second signal while one is pending is dropped, as Java). */
  private switchServerAsync(recommended: ServerAddress | undefined, onRequestFail: boolean): void {
    if (this.isShutdown() || this.signal !== undefined) return;
    this.signal = { ...(recommended ? { recommended } : {}), onRequestFail };
    this.wakeLoop?.();
  }

  /**
   * The keepalive/reconnect loop (spec 4.3): reconnects on a switch signal, and health-checks a
   * connection idle for keepAliveMs. Unlike Java's fixed 5 s poll, it wakes when the idle time is
   * reached, so a check comes 5 s after the last activity, not up to 10 s.
   */
  private async runKeepAliveLoop(): Promise<void> {
    while (!this.isShutdown()) {
      const idleFor = this.timers.now() - this.lastActive;
      const waitMs = this.current !== undefined ? Math.max(1, this.o.keepAliveMs - idleFor) : this.o.keepAliveMs;
      if (this.signal === undefined) await this.wakeableWait(waitMs, (wake) => (this.wakeLoop = wake));
      if (this.isShutdown()) break;
      try {
        const signal = this.signal;
        if (signal !== undefined) {
          // Taken before acting (Java polls its queue), so a signal raised meanwhile is kept.
          this.signal = undefined;
          await this.reconnect(signal.recommended, signal.onRequestFail);
        } else if (this.current !== undefined && this.timers.now() - this.lastActive >= this.o.keepAliveMs) {
          if (await this.healthCheck()) this.lastActive = this.timers.now();
          else if (this.current !== undefined && !this.isShutdown()) {
            this.statusValue = ClientStatus.UNHEALTHY;
            this.emit('unhealthy', this.current.connectionId, this.current.address);
            await this.reconnect(undefined, false);
          }
        }
      } catch (error) {
        this.signal = undefined;
        this.logger.error({ err: error }, 'reconnect loop error');
      }
    }
  }

  /** Up to retries + 1 HealthChecks; any response ends it; only errors and timeouts retry (spec 4.5). */
  private async healthCheck(): Promise<boolean> {
    const connection = this.current;
    if (connection === undefined) return false;
    await sleep(this.timers, healthCheckJitterMs(this.random));
    for (let attempt = 0; attempt <= this.o.healthCheckRetries; attempt++) {
      if (connection !== this.current || this.isShutdown()) return false;
      try {
        const reply = await connection.request(request('HealthCheckRequest'), this.o.healthCheckTimeoutMs);
        return isSuccess(reply);
      } catch {
        // a timeout or transport error: try again
      }
    }
    return false;
  }

  /** Java's reconnect (spec 4.9) with our server choice (decision 10.7). Keeps the old connection until a new one is confirmed. */
  private async reconnect(recommended: ServerAddress | undefined, onRequestFail: boolean): Promise<void> {
    if (onRequestFail && (await this.healthCheck())) {
      this.becomeRunning();
      return;
    }
    let failed = 0;
    let next = recommended;
    while (!this.isShutdown()) {
      const server = next ?? this.serverList.pickOther(this.current?.server ?? this.lastTried);
      next = undefined;
      this.lastTried = server;
      const outcome = await this.tryConnect(server);
      if (outcome.kind !== 'failed') return;
      failed++;
      this.logger.info({ err: outcome.error, server: formatAddress(server), failed }, 'reconnect attempt failed');
      // A refused move keeps the working connection (decision 10.10): give up the move quietly.
      if (this.current !== undefined && !this.current.closed && this.statusValue === ClientStatus.RUNNING) return;
      await this.backOff(reconnectDelayMs(failed, this.serverList.all.length));
    }
  }

  private lastTried: ServerAddress | undefined;
  /** Ends the reconnect back-off under way, if any (set while it waits). */
  private cutBackOff: (() => void) | undefined;
  /** retryNow() came while no back-off was under way: the next one is skipped. */
  private retryAtOnce = false;

  /**
   * The server is known to be up (it reached us by another way, as a cluster member does on its own
   * link): a reconnect waiting out its back-off tries again at once, and one whose attempt is under
   * way skips its next wait. Nothing changes while the client is connected, shut down, or not
   * started yet (a start's failed attempts must not skip the back-off that follows them).
   */
  retryNow(): void {
    if (this.statusValue !== ClientStatus.STARTING && this.statusValue !== ClientStatus.UNHEALTHY) return;
    if (this.cutBackOff !== undefined) this.cutBackOff();
    else this.retryAtOnce = true;
  }

  private async backOff(delayMs: number): Promise<void> {
    if (this.retryAtOnce) {
      this.retryAtOnce = false;
      return;
    }
    await this.wakeableWait(delayMs, (wake) => (this.cutBackOff = wake));
  }

  /** Waits `delayMs`; the function handed to `setWake` (cleared when the wait ends) ends it early. */
  private wakeableWait(delayMs: number, setWake: (wake: (() => void) | undefined) => void): Promise<void> {
    return new Promise<void>((resolve) => {
      const cancel = this.timers.setTimeout(() => {
        setWake(undefined);
        resolve();
      }, delayMs);
      setWake(() => {
        cancel();
        setWake(undefined);
        resolve();
      });
    });
  }

  // ---- pushes ----

  private installBuiltInHandlers(): void {
    const builtIns: [string, ServerRequestHandler][] = [
      ['ConnectResetRequest', (req, context) => this.onConnectReset(req, context)],
      ['ClientDetectionRequest', () => response('ClientDetectionResponse')],
      ['SetupAckRequest', () => response('SetupAckResponse')],
    ];
    for (const [type, handler] of builtIns) if (!this.handlers.has(type)) this.handlers.set(type, handler);
  }

  private onConnectReset(req: RequestMessage, context: PushContext): ResponseMessage {
    // A connection being set up (or left behind) told to go: a refusal or old news, not a reason
    // to move the current one. Acknowledged all the same.
    if (context.fromCurrent && this.statusValue === ClientStatus.RUNNING && isRequestOf(req, 'ConnectResetRequest')) {
      const { serverIp, serverPort } = req.body;
      let recommended: ServerAddress | undefined;
      if (serverIp) {
        const port = serverPort && /^\d+$/.test(serverPort) ? Number(serverPort) : undefined;
        recommended = this.serverList.resolveRecommendation(serverIp, port ?? parseServerAddress(serverIp).port);
      }
      this.switchServerAsync(recommended, false);
    }
    return response('ConnectResetResponse');
  }

  /** Answers a push on the stream it arrived on (decision 10.6). */
  private async handlePush(connection: ClientConnection, message: Message): Promise<void> {
    if (message.kind !== 'request') return;
    this.lastActive = this.timers.now();
    const handler = this.handlers.get(message.type);
    if (handler === undefined) {
      this.logger.warn({ type: message.type }, 'push of an unknown type ignored');
      return;
    }
    try {
      const reply = await handler(message, { fromCurrent: connection === this.current });
      if (reply) connection.send({ ...reply, ...(message.requestId === undefined ? {} : { requestId: message.requestId }) });
    } catch (error) {
      this.logger.error({ err: error, type: message.type }, 'push handler failed');
      connection.send(errorResponse(ErrorCode.CLIENT_ERROR, 'Handle server request error', message.requestId));
    }
  }

  /** A method, not a field comparison: the status changes across awaits, which TS cannot see. */
  private isShutdown(): boolean {
    return this.statusValue === ClientStatus.SHUTDOWN;
  }

  private emit<K extends keyof ClientEvents>(event: K, ...args: Parameters<ClientEvents[K]>): void {
    for (const listener of [...this.listeners[event]]) {
      try {
        (listener as (...a: Parameters<ClientEvents[K]>) => void)(...args);
      } catch (error) {
        this.logger.error({ err: error, event }, 'client event listener failed');
      }
    }
  }
}
