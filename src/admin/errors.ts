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

/**
 * The one place errors become HTTP statuses: our errors carry theirs as a 4xx errorCode (bad
 * parameter, bad limit rule or config 400, no right 403, not found 404); anything else is 500.
 */
export function httpStatusOf(error: unknown): number {
  if (error instanceof NacosRemoteError) return error.errorCode >= 400 && error.errorCode < 500 ? error.errorCode : 500;
  const status = (error as { statusCode?: unknown }).statusCode;
  // fastify's own errors (bad JSON body, body too large) carry their 4xx status.
  if (typeof status === 'number' && status >= 400 && status < 500) return status;
  return 500;
}

/** A route registered without saying its access: a programming error, caught when the app is built. */
export class UndeclaredAccessError extends NacosRemoteError {
  constructor(method: string, url: string) {
    super('UNDECLARED_ACCESS', 500, `admin route ${method} ${url} does not declare config.access ('open', 'read' or 'write')`);
  }
}
