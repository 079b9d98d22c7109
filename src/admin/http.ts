import { randomUUID } from 'node:crypto';
import type { RequestListener, Server as HttpServer } from 'node:http';
import https from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ClusterLoader } from '../cluster/cluster-loader.js';
import type { ClusterMembers } from '../cluster/cluster-members.js';
import { NacosRemoteError } from '../protocol/index.js';
import type { ConfigService } from '../config/service.js';
import type { NamingReader } from '../naming/index.js';
import type { NacosServer } from '../server/nacos-server.js';
import { AUTH_OFF, createAccessCheck, type AnonymousWrites, type AuthOptions } from './auth.js';
import { registerClusterRoutes } from './cluster-routes.js';
import { registerConfigRoutes } from './config-routes.js';
import { registerControlRoutes } from './control-routes.js';
import { httpStatusOf, UndeclaredAccessError } from './errors.js';
import { registerLoaderRoutes } from './loader-routes.js';
import { registerNamingRoutes } from './naming-routes.js';
import type { NodeMetrics } from './metrics.js';
import { createRedirectParameter } from './redirect.js';

/** How open the admin API is beyond tokens (config `admin`); the defaults are the safe ones. */
export interface AdminPolicy {
  /** Who may change state while no token is configured: loopback and members, or anyone. */
  readonly anonymousWrites: AnonymousWrites;
  /** Whether `redirectAddress` may name a server that is not a member. */
  readonly allowExternalRedirect: boolean;
}

const SAFE_ADMIN_POLICY: AdminPolicy = { anonymousWrites: 'local', allowExternalRedirect: false };

/** What the admin HTTP API works on. */
export interface AdminContext {
  readonly server: NacosServer;
  readonly cluster: ClusterLoader;
  readonly members: ClusterMembers;
  readonly metrics: NodeMetrics;
  /** Naming reads for the v2 open API; without it those routes are absent. */
  readonly naming?: NamingReader;
  /** Where PUT control/connection persists the rule. */
  readonly limitRuleFile: string;
  readonly auth?: AuthOptions;
  readonly policy?: AdminPolicy;
  readonly logger: Logger;
  /** Starts a graceful drain (the node closes when it is done). */
  readonly drain?: () => void;
  /** Config's open API; absent, the config routes are not served. */
  readonly config?: { readonly service: ConfigService; readonly maxContentBytes: number };
  /** Serve HTTPS with this certificate and key (the gRPC ports'; docs/security.md); plaintext HTTP when absent. */
  readonly https?: SecureContextOptions;
}

/** The HTTP timeouts of every listener of the API (Fastify's defaults: 72 s keep-alive, no request or idle limit). */
export const HTTP_TIMEOUTS = { keepAliveTimeout: 72_000, requestTimeout: 0, connectionTimeout: 0 } as const;

/**
 * Gives a server {@link HTTP_TIMEOUTS}: Fastify sets them only on servers it makes itself, not on
 * one from serverFactory (HTTPS) or one beside it (the plaintext loopback listener), which would
 * keep Node's (5 s keep-alive, 300 s per request).
 */
export function applyHttpTimeouts(server: HttpServer): void {
  server.keepAliveTimeout = HTTP_TIMEOUTS.keepAliveTimeout;
  server.requestTimeout = HTTP_TIMEOUTS.requestTimeout;
  server.setTimeout(HTTP_TIMEOUTS.connectionTimeout);
}

/**
 * The node's HTTP API on the main port, under Nacos's context path `/nacos`: health (readiness
 * 500 until started, as Nacos, and 503 once leaving), the loader API, connection control, and
 * `/metrics`. Every route says its access (`config.access`) and one hook checks it.
 */
export function createAdminApp(context: AdminContext): FastifyInstance {
  const { server, logger } = context;
  const policy = context.policy ?? SAFE_ADMIN_POLICY;
  // Request lines would drown connection events at info; HTTP logs warnings and up.
  const httpLogger = logger.child({ component: 'http' }, { level: logger.levelVal > 40 ? logger.level : 'warn' });
  // Request ids are random: a caller who has one may ask for its log lines, not guess others'.
  const secure = context.https;
  const app = Fastify({
    loggerInstance: httpLogger as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    genReqId: () => randomUUID(),
    ...HTTP_TIMEOUTS,
    ...(secure === undefined ? {} : { serverFactory: (handler: RequestListener) => https.createServer({ ...secure }, handler) }),
  });
  if (secure !== undefined) applyHttpTimeouts(app.server);
  const checkAccess = createAccessCheck(
    context.auth ?? AUTH_OFF,
    policy.anonymousWrites,
    (ip) => context.members.isMemberIp(ip),
    (name) => context.members.list().some((m) => m.ip.toLowerCase() === name),
  );
  const redirectAddress = createRedirectParameter(context.members, policy.allowExternalRedirect);

  // Every route says who may call it: one that forgot fails here, when the app is built, not
  // silently as a write.
  app.addHook('onRoute', (route) => {
    if (route.config?.access === undefined) throw new UndeclaredAccessError(String(route.method), route.url);
  });
  app.addHook('onRequest', async (request) => {
    if (!request.is404) checkAccess(request, request.routeOptions.config.access ?? 'write');
  });

  app.setErrorHandler((error, request, reply) => {
    const status = httpStatusOf(error);
    if (status >= 500) {
      // Internal text (paths, system errors) stays in the log; the caller gets the id to find it.
      request.log.error({ err: error }, 'request failed');
      const message = `internal error, request id ${request.id}`;
      return reply.code(500).header('x-request-id', request.id).send({ code: 500, error: 'INTERNAL_ERROR', message, requestId: request.id });
    }
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof NacosRemoteError ? error.code : 'ERROR';
    return reply.code(status).send({ code: status, error: code, message });
  });

  const open = { config: { access: 'open' as const } };
  app.get('/nacos/v1/console/health/liveness', open, async (_request, reply) => reply.code(200).type('text/plain').send('OK'));
  app.get('/nacos/v1/console/health/readiness', open, async (_request, reply) => {
    // A node that is draining or closing is leaving: load balancers should stop sending to it.
    if (server.draining) return reply.code(503).type('text/plain').send('Nacos server is draining.');
    // Starting until it takes SDK clients: after a restart, not before it has the other members' naming data.
    if (server.takesClients) return reply.code(200).type('text/plain').send('OK');
    return reply.code(500).type('text/plain').send('Nacos server is starting.');
  });

  registerLoaderRoutes(app, { server, cluster: context.cluster, redirectAddress });
  registerClusterRoutes(app, { members: context.members });
  registerControlRoutes(app, { manager: server.manager, limitRuleFile: context.limitRuleFile, redirectAddress });
  if (context.naming !== undefined) registerNamingRoutes(app, { naming: context.naming });
  if (context.config !== undefined) registerConfigRoutes(app, { config: context.config.service, maxContentBytes: context.config.maxContentBytes });

  app.post('/nacos/v2/core/ops/drain', { config: { access: 'write' } }, async (_request, reply) => {
    if (context.drain === undefined) return reply.code(501).send({ code: 501, error: 'NOT_SUPPORTED', message: 'this node cannot drain' });
    const clients = server.manager.sheddable().length;
    context.drain();
    return reply.code(202).send({ draining: true, clients });
  });

  app.get('/metrics', { config: { access: 'read' } }, async (_request, reply) =>
    reply.type(context.metrics.contentType).send(await context.metrics.scrape()),
  );

  return app;
}
