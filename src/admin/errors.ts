import { NacosRemoteError } from '../protocol/index.js';

/** A missing or bad HTTP parameter (HTTP 400); the message names it. */
export class BadParameterError extends NacosRemoteError {
  constructor(parameter: string, problem: string) {
    super('BAD_PARAMETER', 400, `parameter '${parameter}' ${problem}`);
  }
}

/** The thing asked for does not exist (HTTP 404). */
export class NotFoundError extends NacosRemoteError {
  constructor(message: string) {
    super('NOT_FOUND', 404, message);
  }
}

/** Auth is on and the token is missing or wrong (HTTP 403). */
export class ForbiddenError extends NacosRemoteError {
  constructor(message: string) {
    super('FORBIDDEN', 403, message);
  }
}

/** The one place errors become HTTP statuses. */
export function httpStatusOf(error: unknown): number {
  if (error instanceof BadParameterError) return 400;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof ForbiddenError) return 403;
  if (error instanceof NacosRemoteError && error.code === 'INVALID_LIMIT_RULE') return 400;
  const status = (error as { statusCode?: unknown }).statusCode;
  // fastify's own errors (bad JSON body, body too large) carry their 4xx status.
  if (typeof status === 'number' && status >= 400 && status < 500) return status;
  return 500;
}
