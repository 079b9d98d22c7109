import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ClusterLoader } from '../cluster/cluster-loader.js';
import type { ClusterMembers } from '../cluster/cluster-members.js';
import { NacosRemoteError } from '../protocol/index.js';
import type { ConfigService } from '../config/service.js';
import type { NacosServer } from '../server/nacos-server.js';
import { AUTH_OFF, createAccessCheck, type AuthOptions } from './auth.js';
import { registerClusterRoutes } from './cluster-routes.js';
import { registerConfigRoutes } from './config-routes.js';
import { registerControlRoutes } from './control-routes.js';
import { httpStatusOf } from './errors.js';
import { registerLoaderRoutes } from './loader-routes.js';
import type { NodeMetrics } from './metrics.js';

/** What the admin HTTP API works on. */
export interface AdminContext {
  readonly server: NacosServer;
  readonly cluster: ClusterLoader;
  readonly members: ClusterMembers;
  readonly metrics: NodeMetrics;
  /** Where PUT control/connection persists the rule. */
  readonly limitRuleFile: string;
  readonly auth?: AuthOptions;
  readonly logger: Logger;
  /** Starts a graceful drain (the node closes when it is done). */
  readonly drain?: () => void;
  /** Config's open API; absent, the config routes are not served. */
  readonly config?: { readonly service: ConfigService; readonly maxContentBytes: number };
}

/**
 * The node's HTTP API on the main port, under Nacos's context path `/nacos`: health (readiness
 * 500 until started, as Nacos), the loader API, connection control, and `/metrics`.
 */
export function createAdminApp(context: AdminContext): FastifyInstance {
  const { server, logger } = context;
  // Request lines would drown connection events at info; HTTP logs warnings and up.
  const httpLogger = logger.child({ component: 'http' }, { level: logger.levelVal > 40 ? logger.level : 'warn' });
  const app = Fastify({ loggerInstance: httpLogger as FastifyBaseLogger, bodyLimit: 1024 * 1024 });
  const checkAccess = createAccessCheck(context.auth ?? AUTH_OFF);

  app.setErrorHandler((error, request, reply) => {
    const status = httpStatusOf(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof NacosRemoteError ? error.code : 'ERROR';
    return reply.code(status).send({ code: status, error: code, message });
  });

  app.get('/nacos/v1/console/health/liveness', async (_request, reply) => reply.code(200).type('text/plain').send('OK'));
  app.get('/nacos/v1/console/health/readiness', async (_request, reply) => {
    if (server.started) return reply.code(200).type('text/plain').send('OK');
    return reply.code(500).type('text/plain').send('Nacos server is starting.');
  });

  registerLoaderRoutes(app, { server, cluster: context.cluster, checkAccess });
  registerClusterRoutes(app, { members: context.members, checkAccess });
  registerControlRoutes(app, { manager: server.manager, limitRuleFile: context.limitRuleFile, checkAccess });
  if (context.config !== undefined) {
    // Nacos's v1 config API posts forms; parsed here so only the config routes' limit applies.
    const bodyLimit = 2 * context.config.maxContentBytes + 64 * 1024;
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    registerConfigRoutes(app, { config: context.config.service, checkAccess, bodyLimit });
  }

  app.post('/nacos/v2/core/ops/drain', async (request, reply) => {
    checkAccess(request, 'write');
    if (context.drain === undefined) return reply.code(501).send({ code: 501, error: 'NOT_SUPPORTED', message: 'this node cannot drain' });
    const clients = server.manager.sheddable().length;
    context.drain();
    return reply.code(202).send({ draining: true, clients });
  });

  app.get('/metrics', async (request, reply) => {
    checkAccess(request, 'read');
    return reply.type(context.metrics.contentType).send(await context.metrics.scrape());
  });

  return app;
}
