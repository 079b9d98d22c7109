import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { NoRightError } from '../protocol/index.js';
import { normalizeIp } from '../server/transport/address.js';

/** With tokens, writes need one; reads too when `protectReads`. */
export interface AuthOptions {
  readonly tokens: readonly string[];
  readonly protectReads: boolean;
}

export const AUTH_OFF: AuthOptions = { tokens: [], protectReads: false };

/**
 * Who may change state without a token: `local` = loopback and cluster members (our default);
 * `anywhere` = any caller that reaches the port (Nacos's behaviour with auth off).
 */
export type AnonymousWrites = 'local' | 'anywhere';

/** `open`: health, for anyone; `read`: shows state; `write`: changes it. */
export type Access = 'open' | 'read' | 'write';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What a route does, for the access check; a route that does not say is a write. */
    access?: Access;
  }
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** 127.0.0.0/8 or ::1; `ip` is normalized (IPv4-mapped IPv6 already plain IPv4). */
function isLoopback(ip: string): boolean {
  return ip === '::1' || (isIP(ip) === 4 && ip.startsWith('127.'));
}

/**
 * Whether a browser sent this request on behalf of another site's page: `Sec-Fetch-Site` other
 * than `same-origin` or `none` (a typed URL), or an `Origin` whose host is not the request's Host.
 * `same-site` counts as cross-site: a page on another port of the same host is same-site.
 */
function crossSiteReason(request: FastifyRequest): string | undefined {
  const fetchSite = request.headers['sec-fetch-site'];
  if (fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none') return `Sec-Fetch-Site: ${String(fetchSite)}`;
  const origin = request.headers.origin;
  if (origin === undefined) return undefined;
  let originHost: string | undefined;
  try {
    originHost = new URL(origin).host;
  } catch {
    // 'null' (sandboxed frames, file: pages) or garbage: no origin we could trust.
  }
  const host = request.headers.host;
  if (originHost === undefined || host === undefined || originHost.toLowerCase() !== host.toLowerCase()) return `Origin: ${origin}`;
  return undefined;
}

/**
 * The name the request was addressed to (Host without its port), when it is one a browser cannot
 * be pointed at by DNS rebinding: an IP literal, `localhost`, or a member's configured name. A
 * rebound page sends its own site's name, which is none of these.
 */
function rebindingReason(request: FastifyRequest, isMemberName: (name: string) => boolean): string | undefined {
  const host = request.headers.host;
  let name: string | undefined;
  try {
    name = host === undefined ? undefined : new URL(`http://${host}`).hostname.toLowerCase();
  } catch {
    // Not a host at all: refused below like an unknown name.
  }
  if (name === undefined) return 'no valid Host header';
  const bare = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
  if (isIP(bare) !== 0 || bare === 'localhost' || isMemberName(bare)) return undefined;
  return `Host: ${String(host)}`;
}

/**
 * The admin API's one access rule. A write sent cross-site by a browser is refused whatever its
 * source or token. Then, with tokens configured, writes (and reads with `protectReads`) need
 * `accessToken` (query parameter or header, as Nacos clients send it); without tokens they are
 * taken only from loopback and members, unless `anonymousWrites` is `anywhere`, and only when
 * addressed to an IP, `localhost` or a member's name (`isMemberName`, lower case): a browser page
 * whose own name was rebound to 127.0.0.1 would otherwise pass as same-origin from loopback.
 */
export function createAccessCheck(
  options: AuthOptions,
  anonymousWrites: AnonymousWrites,
  isMemberIp: (ip: string) => boolean,
  isMemberName: (name: string) => boolean,
): (request: FastifyRequest, access: Access) => void {
  const expected = options.tokens.map(digest);
  return (request, access) => {
    if (access === 'open' || (access === 'read' && !options.protectReads)) return;
    if (access === 'write') {
      const reason = crossSiteReason(request);
      if (reason !== undefined) throw new NoRightError(`a cross-site request cannot change this node (${reason}); send it without a browser`);
    }
    if (expected.length > 0) {
      checkToken(request, access, expected);
      return;
    }
    if (anonymousWrites === 'anywhere') return;
    const source = normalizeIp(request.socket.remoteAddress);
    if (isLoopback(source) || isMemberIp(source)) {
      const reason = rebindingReason(request, isMemberName);
      if (reason === undefined) return;
      throw new NoRightError(
        `without a token, this node takes ${access === 'write' ? 'changes' : 'reads'} only when addressed by IP, localhost or a member's name (${reason}); ` +
          `use http://127.0.0.1:<port>, or configure a token and pass accessToken`,
      );
    }
    throw new NoRightError(
      `${access === 'write' ? 'changes' : 'reads'} are taken only from loopback and cluster members while no token is configured (this request came from ${source}); ` +
        `start the node with --auth-token <token> or set auth.tokens in the config file, then pass accessToken`,
    );
  };
}

/** Digests make the compared buffers equal in length, so the comparison takes the same time whatever the token. */
function checkToken(request: FastifyRequest, access: Access, expected: readonly Buffer[]): void {
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
}
