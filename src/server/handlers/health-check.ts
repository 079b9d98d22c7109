import { response } from '../../protocol/index.js';
import type { RequestHandler } from './types.js';

/** The one answer, frozen: the acceptor encodes it once. */
const HEALTHY = Object.freeze(response('HealthCheckResponse'));

/** HealthCheckRequest: an empty success. The acceptor has already refreshed the active time. */
export const healthCheckHandler: RequestHandler = () => HEALTHY;
