import type { ConnectionManager } from '../connection-manager.js';
import { healthCheckHandler } from './health-check.js';
import { serverLoaderInfoHandler } from './server-loader-info.js';
import { serverReloadHandler } from './server-reload.js';
import { HandlerRegistry } from './types.js';

export { HandlerRegistry, type RequestHandler, type RequestMeta } from './types.js';

/** The connection layer's own handlers (spec 5.3). */
export function connectionLayerHandlers(manager: ConnectionManager, cpuUsage: () => number): HandlerRegistry {
  return new HandlerRegistry()
    .register('HealthCheckRequest', healthCheckHandler)
    .register('ServerLoaderInfoRequest', serverLoaderInfoHandler(manager, cpuUsage))
    .register('ServerReloadRequest', serverReloadHandler(manager));
}
