import { isRequestOf, response, type RequestMessage, type ResponseMessage } from '../../protocol/index.js';
import { InvalidBodyError, NoRightError } from '../../protocol/index.js';
import type { ConnectionManager } from '../connection-manager.js';
import type { RequestHandler } from './types.js';

/** Nacos sheds at most about this fraction of SDK connections per ServerReloadRequest. */
export const RELOAD_STEP_FACTOR = 0.1;

/**
 * ServerReloadRequest semantics (spec 6): when this node has more SDK connections than
 * `reloadCount`, shed down to max(reloadCount, 90 % of them) toward `reloadServer`; "ok", else
 * "ignore". Unlike 2.2.4, the shedding really happens (decision 10.2).
 */
export function applyServerReload(manager: ConnectionManager, reloadCount: number, reloadServer: string | undefined): 'ok' | 'ignore' {
  const sdk = manager.currentSdkClientCount();
  if (sdk <= reloadCount) return 'ignore';
  manager.loadCount(Math.max(reloadCount, Math.trunc(sdk * (1 - RELOAD_STEP_FACTOR))), reloadServer);
  return 'ok';
}

/** The member-to-member handler around {@link applyServerReload}. */
export function serverReloadHandler(manager: ConnectionManager): RequestHandler {
  return (req: RequestMessage, meta): ResponseMessage => {
    if (!isRequestOf(req, 'ServerReloadRequest')) throw new InvalidBodyError('Invalid request');
    // It really sheds (decision 10.2), so only a trusted member may ask (decision 10.11).
    if (!meta.connection.meta.trustedCluster) throw new NoRightError('ServerReloadRequest is accepted from cluster members only');
    const message = applyServerReload(manager, req.body.reloadCount, req.body.reloadServer);
    return { ...response('ServerReloadResponse'), message };
  };
}
