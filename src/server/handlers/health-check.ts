import { response } from '../../protocol/index.js';
import type { RequestHandler } from './types.js';

/** HealthCheckRequest: an empty success. The acceptor has already refreshed the active time. */
export const healthCheckHandler: RequestHandler = () => response('HealthCheckResponse');
