import type { ConnectionManager } from '../connection-manager.js';
import { healthCheckHandler } from './health-check.js';
import { serverLoaderInfoHandler } from './server-loader-info.js';
import { serverReloadHandler } from './server-reload.js';
import { HandlerRegistry } from './types.js';

export { HandlerRegistry, type RequestHandler, type RequestMeta } from './types.js';

/** The connection layer's own handlers (spec 5.3). */
export function connectionLayerHandlers(manager: ConnectionManager, metrics: () => Record<string, string>): HandlerRegistry {
  return new HandlerRegistry()
    .register('HealthCheckRequest', healthCheckHandler)
    .register('ServerLoaderInfoRequest', serverLoaderInfoHandler(metrics))
    .register('ServerReloadRequest', serverReloadHandler(manager));
}
