import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

/** What the admin HTTP API needs from the node. */
export interface AdminTarget {
  /** Started: readiness answers 200. */
  readonly started: boolean;
}

/**
 * The node's HTTP API on the main port, under Nacos's context path `/nacos`. Health endpoints as
 * Nacos: readiness 500 until started, liveness 200 while the process serves.
 */
export function createAdminApp(target: AdminTarget, logger: Logger): FastifyInstance {
  // Request lines would drown connection events at info; HTTP logs warnings and up.
  const httpLogger = logger.child({ component: 'http' }, { level: logger.levelVal > 40 ? logger.level : 'warn' });
  const app = Fastify({ loggerInstance: httpLogger as FastifyBaseLogger });

  app.get('/nacos/v1/console/health/liveness', async (_request, reply) => reply.code(200).type('text/plain').send('OK'));

  app.get('/nacos/v1/console/health/readiness', async (_request, reply) => {
    if (target.started) return reply.code(200).type('text/plain').send('OK');
    return reply.code(500).type('text/plain').send('Nacos server is starting.');
  });

  return app;
}
