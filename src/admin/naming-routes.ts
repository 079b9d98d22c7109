import type { FastifyInstance } from 'fastify';
import { DEFAULT_GROUP, DEFAULT_NAMESPACE, type NamingReader } from '../naming/index.js';
import { BadParameterError } from './errors.js';
import { integer, optionalString, requiredString, type Query } from './params.js';
import { v2Success } from './v2-result.js';

/** Nacos's v2 open API caps a service list page at this. */
const MAX_PAGE_SIZE = 500;

function booleanParam(query: Query, name: string): boolean {
  const text = optionalString(query, name);
  if (text === undefined) return false;
  if (text !== 'true' && text !== 'false') throw new BadParameterError(name, `must be true or false, got '${text}'`);
  return text === 'true';
}

/**
 * Naming over HTTP on the main port: the v2 open API's two reads, and a clear refusal of the
 * v1 instance registration Java and Go use for persistent instances (docs/naming.md).
 */
export function registerNamingRoutes(
  app: FastifyInstance,
  deps: { naming: NamingReader },
): void {
  const { naming } = deps;
  const read = { config: { access: 'read' as const } };

  // Clients post a form (Java: application/x-www-form-urlencoded), which fastify would refuse
  // with 415 before the route answers; in this scope any body is accepted and ignored.
  void app.register(async (scope) => {
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    // Open: it changes nothing, and a remote client should learn why, not that it lacks a token.
    scope.post('/nacos/v1/ns/instance', { config: { access: 'open' } }, async (_request, reply) =>
      reply.code(501).send({
        code: 501,
        error: 'NOT_SUPPORTED',
        message: 'persistent instances are not supported: this server keeps ephemeral instances only, registered over gRPC (ephemeral=true, the Nacos 2.x client default)',
      }),
    );
  });

  app.get('/nacos/v2/ns/instance/list', read, async (request) => {
    const query = request.query as Query;
    const service = {
      namespace: optionalString(query, 'namespaceId') ?? DEFAULT_NAMESPACE,
      group: optionalString(query, 'groupName') ?? DEFAULT_GROUP,
      name: requiredString(query, 'serviceName'),
    };
    const clusters = optionalString(query, 'clusterName') ?? '';
    return v2Success(naming.query(service, { clusters, healthyOnly: booleanParam(query, 'healthyOnly') }));
  });

  app.get('/nacos/v2/ns/service/list', read, async (request) => {
    const query = request.query as Query;
    const pageNo = integer(query, 'pageNo', { min: 1 }) ?? 1;
    const pageSize = Math.min(MAX_PAGE_SIZE, integer(query, 'pageSize', { min: 1 }) ?? 20);
    const page = naming.listServices(
      optionalString(query, 'namespaceId') ?? DEFAULT_NAMESPACE,
      optionalString(query, 'groupName') ?? DEFAULT_GROUP,
      pageNo,
      pageSize,
    );
    return v2Success({ count: page.count, services: page.names });
  });
}
