/**
 * `nacos-remote/server`: run a Nacos 2.x connection-layer node from code, with the options the
 * CLI takes. A node is the HTTP API on the main port, SDK gRPC on main + offset and cluster gRPC
 * on main + offset + 1.
 *
 * @example
 * ```ts
 * import { startNode, response } from 'nacos-remote/server';
 * const node = await startNode({ host: '127.0.0.1', port: 8848 });
 * node.server.registerHandler('EchoRequest', (req) => response('EchoResponse', { text: req.body['text'] }));
 * node.server.addConnectionListener({ name: 'log', onConnected: (c) => console.log(c.id) });
 * await node.close();
 * ```
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { applyHttpTimeouts, createAdminApp } from '../admin/http.js';
import { NodeMetrics } from '../admin/metrics.js';
import { ClusterLoader, DEFAULT_LOADER_TIMEOUTS } from '../cluster/cluster-loader.js';
import { Balancer } from '../cluster/balancer.js';
import { ClusterMembers } from '../cluster/cluster-members.js';
import { channelSecurity, type ChannelSecurity, type ClientTlsOptions } from '../client/tls.js';
import { attachConfig, openEmbeddedStore, openSharedStore, type ConfigModule } from '../config/index.js';
import type { MemberPeers } from '../cluster/member-messages.js';
import { drainClients, spreadRedirect } from '../cluster/drain.js';
import { parseMember, parseMembersOption, readClusterConf, requireSelf, type MemberAddress } from '../cluster/members.js';
import { attachNaming, type NamingService } from '../naming/index.js';
import { firstNonInternalIPv4, systemTimers } from '../protocol/index.js';
import { isSdkSource } from '../server/connection.js';
import { readLimitRuleFile } from '../server/control/limit-rule.js';
import { ShedPriority } from '../server/control/shed-pacer.js';
import { NacosServer } from '../server/nacos-server.js';
import type { ServerTlsOptions } from '../server/transport/tls-terminator.js';
import { clusterConfPath, configStorePath, limitRulePath, parseNodeConfig, type NodeConfig, type NodeConfigInput } from './config.js';
import { balancerOptionsOf } from './balancer-options.js';
import { createNodeLogger } from './logger.js';

export { NacosServer, ServerStartedError, type ConnectionInfo, type NacosServerOptions, type ServerObserver } from '../server/nacos-server.js';
export type { Connection, ConnectionMeta, PreparedPush, PushSettled } from '../server/connection.js';
export { Departure, type ConnectionListener, type ConnectionManager } from '../server/connection-manager.js';
export type { RequestHandler, RequestMeta } from '../server/handlers/index.js';
export type { ConnectionLimitRule } from '../server/control/limit-rule.js';
export { TlsFilesError, type ServerTlsOptions } from '../server/transport/tls-terminator.js';
export { ConfigError, parseNodeConfig, type NodeConfig, type NodeConfigInput } from './config.js';
export type { NamingOptions, NamingReader, NamingService, ServiceInfoJson, ServiceName, ServiceNamePage } from '../naming/index.js';
export { NOT_AT_HAND, type ConfigModule, type ConfigRecord, type ConfigService, type ConfigStore, type HistoryEntry, type HistorySummary } from '../config/index.js';
export {
  request,
  response,
  errorResponse,
  isSuccess,
  NacosRemoteError,
  type RequestMessage,
  type ResponseMessage,
} from '../protocol/index.js';

/** A running node. */
export interface NacosNode {
  readonly config: NodeConfig;
  readonly server: NacosServer;
  readonly cluster: ClusterLoader;
  readonly members: ClusterMembers;
  readonly metrics: NodeMetrics;
  readonly http: FastifyInstance;
  readonly logger: Logger;
  readonly balancer: Balancer;
  readonly naming: NamingService;
  /** Config over gRPC on the embedded store (docs/config.md). */
  readonly configModule: ConfigModule;
  /** Tells SDK clients to go elsewhere, closes every connection and both servers. Idempotent. */
  close(): Promise<void>;
  /**
   * Graceful drain: refuses new SDK setups, moves every client to the other members (spread by
   * their deficits, over `drainWindowMs`), then closes. Idempotent.
   */
  drain(): Promise<void>;
  /** Resolves once the node has closed (after close() or a drain, however started). */
  readonly closed: Promise<void>;
}

/**
 * Starts a node: HTTP first (readiness answers 500 until the rest is up), then both gRPC ports,
 * then marks it started. Options are validated; a bad one throws ConfigError naming it.
 */
export async function startNode(input: NodeConfigInput & { logger?: Logger } = {}): Promise<NacosNode> {
  const { logger: givenLogger, ...rest } = input;
  const config = parseNodeConfig(rest, 'config');
  const logger = givenLogger ?? createNodeLogger(config.logLevel, config.logFormat);
  const limitRuleFile = limitRulePath(config.home);
  const limitRule = await readLimitRuleFile(limitRuleFile);
  const advertiseIp = config.advertiseIp ?? (config.host === '0.0.0.0' || config.host === '::' ? firstNonInternalIPv4() : config.host);
  const self = parseMember(`${advertiseIp}:${config.port}`, 'this node').address;
  const membership = await resolveMembers(config, self);
  const members = new ClusterMembers({
    self,
    members: membership.members,
    grpcPortOffset: config.grpcPortOffset,
    logger,
    ...(membership.confPath === undefined ? {} : { clusterConfPath: membership.confPath }),
    clusterConfPollMs: config.clusterConfPollMs,
    clientOptions: { ...config.memberClient, ...memberClientTls(config) },
    resolveIntervalMs: config.cluster.resolveIntervalMs,
    ...(config.cluster.identityKey === undefined || config.cluster.identityValue === undefined
      ? {}
      : { identity: { key: config.cluster.identityKey, value: config.cluster.identityValue } }),
  });
  const metrics = new NodeMetrics({ moveWindowMs: config.moveWindowMs });
  const tls = serverTls(config);
  const server = new NacosServer({
    host: config.host,
    port: config.port,
    memberAddress: self,
    grpcPortOffset: config.grpcPortOffset,
    logger,
    transport: config.transport,
    maxMessageBytes: config.maxMessageBytes,
    ...(config.maxOutboundBytes === undefined ? {} : { maxOutboundBytes: config.maxOutboundBytes }),
    ...config.grpc,
    ...config.limits,
    keepaliveTimeMs: config.keepaliveTimeMs,
    keepaliveTimeoutMs: config.keepaliveTimeoutMs,
    setupTimeoutMs: config.setupTimeoutMs,
    refusalCloseDelayMs: config.refusalCloseDelayMs,
    shutdownResetWaitMs: config.shutdownResetWaitMs,
    moveWindowMs: config.moveWindowMs,
    ejector: config.ejector,
    shed: config.shed,
    limitRule,
    observer: metrics.observer,
    extraLoaderMetrics: (): Record<string, string> => balancer.loaderMetrics(),
    isTrustedMember: (ip, headers) => members.isTrustedMember(ip, headers),
    // Refused and shut-down clients are spread as a drain spreads them, never to a draining member.
    redirectTarget: (): string | undefined => spreadRedirect(cluster.latest, self, members.upOthers(), Math.random),
    ...(tls === undefined ? {} : { tls }),
  });
  // How naming's sync and config's announcements reach the other members.
  const memberPeers: MemberPeers = {
    others: () => members.list().filter((m) => !m.self).map((m) => m.address),
    request: (member, message, options) => members.request(member, message, options),
    onMemberUp: (listener) => members.onMemberUp(listener),
    onMemberDown: (listener) => members.onMemberDown(listener),
    heardFrom: (member) => members.heardFrom(member),
  };
  const naming = attachNaming(server, {
    memberId: self,
    timers: systemTimers,
    logger: logger.child({ component: 'naming' }),
    options: config.naming,
    observer: metrics.namingPushObserver,
    peers: memberPeers,
  });
  metrics.attachNaming(naming.stats);
  metrics.attach(server.manager, (type) => type === 'ServerCheckRequest' || server.handlers.get(type) !== undefined);
  const sharedDb = config.config.store === 'embedded' ? undefined : config.db;
  const configStore =
    sharedDb !== undefined ? await openSharedStore(sharedDb, logger.child({ component: 'config' })) : await openEmbeddedStore(configStorePath(config.home), logger.child({ component: 'config' }));
  const configModule = attachConfig({
    server,
    store: configStore,
    timers: systemTimers,
    logger: logger.child({ component: 'config' }),
    maxContentBytes: config.config.maxContentBytes,
    maxMessageBytes: config.maxMessageBytes,
    notify: config.config.notify,
    // Members each on their own embedded store would disagree: a cluster needs the shared one.
    serving: () => sharedDb !== undefined || members.list().length <= 1,
    allowFourByteUtf8: config.config.allowFourByteUtf8,
    metricsRegistry: metrics.registry,
    shared:
      sharedDb === undefined
        ? undefined
        : {
            peers: memberPeers,
            sync: { catchUpMs: config.config.catchUpMs, announce: config.config.announce, announceTimeoutMs: config.config.announceTimeoutMs },
            probe: { probeIntervalMs: sharedDb.probeIntervalMs, probeMaxIntervalMs: sharedDb.probeMaxIntervalMs },
            reads: { readThrough: config.config.readThrough },
          },
  });
  const cluster = new ClusterLoader(server, members, logger, { ...DEFAULT_LOADER_TIMEOUTS, ...config.loaderTimeouts });
  const balancer = new Balancer(
    {
      self,
      load: () => cluster.load(),
      movableIds: (cooldownMs) => {
        const bornBefore = Date.now() - cooldownMs;
        return new Set(server.manager.sheddable().filter((c) => isSdkSource(c.meta.labels) && c.meta.createTime <= bornBefore).map((c) => c.id));
      },
      shed: (budget, ratePerSecond, eligible, redirect) => server.manager.shed(budget, { ratePerSecond, eligible, redirect, priority: ShedPriority.BALANCER }),
      shedding: () => server.manager.shedProgress.active,
      timers: systemTimers,
      random: Math.random,
      logger: logger.child({ component: 'balancer' }),
    },
    balancerOptionsOf(config),
  );
  // Any operator move on this member holds every member's balancer (docs/balancing.md).
  server.manager.onOperatorMove = () => balancer.holdForOperator();

  let closing: Promise<void> | undefined;
  let draining: Promise<void> | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  const close = (): Promise<void> => {
    closing ??= (async () => {
      // A fresh view of the cluster, so shutdown's redirects skip members that are draining.
      await cluster.load();
      balancer.stop();
      // Server first: the connections it closes are released, and naming sends their deletes.
      await server.close();
      await naming.close();
      await members.close();
      await closeServer(loopbackHttp);
      await http.close();
      await configModule.close();
      resolveClosed();
    })();
    return closing;
  };
  const drain = (): Promise<void> => {
    draining ??= (async () => {
      balancer.stop();
      server.refuseNewSetups();
      await drainClients(
        {
          self,
          manager: server.manager,
          load: () => cluster.load(),
          upOthers: () => members.upOthers(),
          timers: systemTimers,
          random: Math.random,
          logger,
        },
        config.drainWindowMs,
      );
      await close();
    })();
    return draining;
  };
  const https = config.tls.https ? server.tls?.secureContextOptions : undefined;
  const http = createAdminApp({ server, cluster, members, metrics, naming: naming.reader, limitRuleFile, auth: config.auth, policy: config.admin, logger,
    ...(https === undefined ? {} : { https }),
    config: { service: configModule.service, maxContentBytes: config.config.maxContentBytes },
    drain: () => {
      drain().catch((error: unknown) => logger.error({ err: error }, 'drain failed'));
    },
  });
  // The HTTPS listener takes each reloaded certificate as the gRPC ports do.
  if (https !== undefined) server.tls?.onReload((options) => (http.server as unknown as TlsServer).setSecureContext(options));
  let loopbackHttp: HttpServer | undefined;
  try {
    await http.listen({ host: config.host, port: config.port });
    if (https !== undefined && config.tls.plaintextLoopbackPort !== undefined) {
      loopbackHttp = await listenPlaintextLoopback(http, config.tls.plaintextLoopbackPort);
    }
    // Hostname members are trusted from their first connection.
    await members.resolveAddresses();
    await server.start();
  } catch (error) {
    // Naming's sync timers and the config store are already open: a failed start must not leave
    // them running (or the SQLite file locked) in the host process.
    await server.close();
    await naming.close();
    await members.close();
    await closeServer(loopbackHttp);
    await http.close();
    await configModule.close();
    throw error;
  }
  members.start();
  balancer.start();
  logger.info({ host: config.host, port: config.port, grpcPort: server.ports.sdk, clusterPort: server.ports.cluster, home: config.home }, 'node started');

  return { config, server, cluster, members, balancer, naming, metrics, http, logger, configModule, close, drain, closed };
}

/**
 * A plaintext HTTP listener on 127.0.0.1 in front of the same routes, for health checks on the
 * host itself while the main port speaks HTTPS.
 */
function listenPlaintextLoopback(app: FastifyInstance, port: number): Promise<HttpServer> {
  const server = createHttpServer((request, reply) => app.routing(request, reply));
  applyHttpTimeouts(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function closeServer(server: HttpServer | undefined): Promise<void> {
  if (server === undefined || !server.listening) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The gRPC ports' TLS options, when TLS is on (the schema has checked the files are named). */
function serverTls(config: NodeConfig): ServerTlsOptions | undefined {
  const { enabled, certFile, keyFile, caFile, mutual, compatibility, reloadIntervalMs } = config.tls;
  if (!enabled || certFile === undefined || keyFile === undefined) return undefined;
  return { certFile, keyFile, ...(caFile === undefined ? {} : { caFile }), mutual, compatibility, reloadIntervalMs };
}

/**
 * The member clients' TLS, when cluster.tls is on: its files are read and the credentials built
 * once, here, so a bad file stops the start instead of failing each member link, and a member
 * added to cluster.conf later gets a client whatever has become of the files since.
 * @throws InvalidClientOptionError naming the file
 */
function memberClientTls(config: NodeConfig): { channelSecurity?: ChannelSecurity } {
  const { enabled, caFile, certFile, keyFile, serverName } = config.cluster.tls ?? { enabled: false };
  if (!enabled) return {};
  const tls: ClientTlsOptions = {
    ...(caFile === undefined ? {} : { caFile }),
    ...(certFile === undefined ? {} : { certFile }),
    ...(keyFile === undefined ? {} : { keyFile }),
    ...(serverName === undefined ? {} : { serverName }),
  };
  return { channelSecurity: channelSecurity(tls) };
}

/** Members from --members, else `<home>/conf/cluster.conf`, else this node alone. Self must be listed. */
async function resolveMembers(config: NodeConfig, self: string): Promise<{ members: MemberAddress[]; confPath?: string }> {
  if (config.members !== undefined) {
    const members = parseMembersOption(config.members);
    requireSelf(members, self, '--members');
    return { members };
  }
  const confPath = clusterConfPath(config.home);
  const fromFile = await readClusterConf(confPath);
  if (fromFile === undefined) return { members: [parseMember(self, 'this node')] };
  requireSelf(fromFile, self, confPath);
  return { members: fromFile, confPath };
}
