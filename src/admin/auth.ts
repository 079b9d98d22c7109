import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { NoRightError } from '../protocol/index.js';

/** Off by default, as Nacos. With tokens, writes need one; reads too when `protectReads`. */
export interface AuthOptions {
  readonly tokens: readonly string[];
  readonly protectReads: boolean;
}

export const AUTH_OFF: AuthOptions = { tokens: [], protectReads: false };

export type Access = 'read' | 'write';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * Checks `accessToken` (query parameter or header, as Nacos clients send it). Digests make the
 * compared buffers equal in length, so the comparison takes the same time whatever the token.
 */
export function createAccessCheck(options: AuthOptions): (request: FastifyRequest, access: Access) => void {
  const expected = options.tokens.map(digest);
  return (request, access) => {
    if (expected.length === 0 || (access === 'read' && !options.protectReads)) return;
    const query = request.query as Record<string, unknown> | undefined;
    const fromQuery = typeof query?.['accessToken'] === 'string' ? query['accessToken'] : undefined;
    const header = request.headers['accesstoken'];
    const token = fromQuery ?? (typeof header === 'string' ? header : undefined);
    if (token === undefined || token === '') {
      throw new NoRightError(`this endpoint needs ${access} access: pass accessToken as a query parameter or header`);
    }
    const given = digest(token);
    let ok = false;
    for (const candidate of expected) ok = timingSafeEqual(given, candidate) || ok;
    if (!ok) throw new NoRightError('accessToken is not valid');
  };
}
