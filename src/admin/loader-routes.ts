import type { FastifyInstance } from 'fastify';
import type { ClusterLoader } from '../cluster/cluster-loader.js';
import { DEFAULT_LOADER_FACTOR } from '../cluster/loader-metrics.js';
import { isClusterSource, isSdkSource, type Connection } from '../server/connection.js';
import type { NacosServer } from '../server/nacos-server.js';
import type { Access } from './auth.js';
import { NotFoundError } from './errors.js';
import { fraction, integer, optionalString, requiredString, type Query } from './params.js';
import type { RedirectParameter } from './redirect.js';

export const LOADER_PREFIX = '/nacos/v2/core/loader';

/** A connection as `/current` shows it: Nacos's GrpcConnection JSON, createTime in epoch ms (decision 10.4). */
export function connectionView(connection: Connection): Record<string, unknown> {
  const { meta } = connection;
  return {
    labels: meta.labels,
    traced: connection.traced,
    abilities: meta.abilities ?? null,
    connected: connection.connected,
    metaInfo: {
      connectType: meta.connectType,
      clientIp: meta.clientIp,
      version: meta.version,
      connectionId: meta.connectionId,
      createTime: meta.createTime,
      lastActiveTime: connection.lastActiveTime,
      appName: meta.appName,
      tenant: meta.tenant,
      labels: meta.labels,
      localPort: meta.localPort,
      // Ours (Nacos has none): whether the connection is TLS, as the node saw it.
      tls: meta.tls,
      tag: meta.labels['Vipserver-Tag'] ?? null,
      sdkSource: isSdkSource(meta.labels),
      clusterSource: isClusterSource(meta.labels),
    },
  };
}

/** `current` filters: clientIp, appName, label.<key>=<value>, limit. */
function currentFilter(query: Query): { matches: (c: Connection) => boolean; limit: number | undefined } {
  const clientIp = optionalString(query, 'clientIp');
  const appName = optionalString(query, 'appName');
  const labels = Object.keys(query)
    .filter((k) => k.startsWith('label.') && k.length > 'label.'.length)
    .map((k) => [k.slice('label.'.length), requiredString(query, k)] as const);
  const limit = integer(query, 'limit', { min: 1 });
  return {
    limit,
    matches: (c) =>
      (clientIp === undefined || c.meta.clientIp === clientIp) &&
      (appName === undefined || c.meta.appName === appName) &&
      labels.every(([k, v]) => c.meta.labels[k] === v),
  };
}

/**
 * The loader API, Nacos's paths and shapes (spec 6): GET as Nacos (operators' scripts), and POST
 * with the same query parameters.
 */
export function registerLoaderRoutes(
  app: FastifyInstance,
  deps: { server: NacosServer; cluster: ClusterLoader; redirectAddress: RedirectParameter },
): void {
  const { server, cluster, redirectAddress } = deps;
  const route = (path: string, access: Access, handler: (query: Query) => Promise<unknown> | unknown) =>
    app.route({
      method: ['GET', 'POST'],
      url: `${LOADER_PREFIX}/${path}`,
      config: { access },
      // A HEAD would run a write's handler too: writes answer only what they are asked with.
            exposeHeadRoute: access !== 'write',
      handler: async (request, reply) => {
        const body = await handler(request.query as Query);
        return typeof body === 'string' ? reply.type('text/plain').send(body) : reply.send(body);
      },
    });

  route('current', 'read', (query) => {
    const { matches, limit } = currentFilter(query);
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const c of server.manager.list()) {
      if (limit !== undefined && n >= limit) break;
      if (!matches(c)) continue;
      out[c.id] = connectionView(c);
      n++;
    }
    return out;
  });

  route('reloadCurrent', 'write', (query) => {
    const count = integer(query, 'count', { required: true, min: 0 });
    server.manager.loadCount(count, redirectAddress(query));
    return 'success';
  });

  route('reloadClient', 'write', async (query) => {
    const connectionId = requiredString(query, 'connectionId');
    const redirect = redirectAddress(query);
    if (!server.manager.checkValid(connectionId)) throw new NotFoundError(`no connection '${connectionId}' on this node`);
    await server.manager.reloadClient(connectionId, redirect);
    return 'success';
  });

  route('smartReloadCluster', 'write', async (query) => {
    const factor = fraction(query, 'loaderFactor') ?? DEFAULT_LOADER_FACTOR;
    const result = await cluster.smartReload(factor);
    return result.ok ? 'Ok' : 'Fail';
  });

  route('cluster', 'read', () => cluster.load());
}
