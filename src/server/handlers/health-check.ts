import { response } from '../../protocol/index.js';
import { constantReply } from '../acceptors/unary-acceptor.js';
import type { RequestHandler } from './types.js';

/** The one answer, a constant: the acceptor encodes it once. */
const HEALTHY = constantReply(response('HealthCheckResponse'));

/** HealthCheckRequest: an empty success. The acceptor has already refreshed the active time. */
export const healthCheckHandler: RequestHandler = () => HEALTHY;
