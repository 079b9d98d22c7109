/**
 * gRPC over HTTP/2 call metadata for a server (pure): status codes, response headers and
 * trailers, and the `grpc-timeout` header.
 */
import type { OutgoingHttpHeaders } from 'node:http2';

/** The gRPC status codes this server sends. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

export const GRPC_CONTENT_TYPE = 'application/grpc';

/** Headers of every answered call: we send no compression and accept none. */
export const RESPONSE_HEADERS: OutgoingHttpHeaders = Object.freeze({
  ':status': 200,
  'content-type': GRPC_CONTENT_TYPE,
  'grpc-accept-encoding': 'identity',
});

export const OK_TRAILERS: OutgoingHttpHeaders = Object.freeze({ 'grpc-status': '0' });

/** Trailers carrying a status; `grpc-message` percent-encoded as the gRPC spec asks. */
export function statusTrailers(code: GrpcStatusCode, message: string): OutgoingHttpHeaders {
  return code === GrpcStatus.OK && message === '' ? OK_TRAILERS : { 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message) };
}

/** A trailers-only answer (headers that end the call at once): for a call refused before any reply. */
export function trailersOnly(code: GrpcStatusCode, message: string): OutgoingHttpHeaders {
  return { ...RESPONSE_HEADERS, ...statusTrailers(code, message) };
}

/** Percent-encodes what may not travel raw in `grpc-message`: `%`, and bytes outside 0x20-0x7E (UTF-8). */
export function encodeGrpcMessage(message: string): string {
  // Most messages are plain ASCII: no work then.
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/**
 * `grpc-timeout` (1-8 digits and a unit: H M S m u n) in whole milliseconds, rounded up so a
 * sub-millisecond deadline still expires; undefined if the value is malformed.
 */
export function parseGrpcTimeout(value: string): number | undefined {
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (match === null) return undefined;
  return Math.ceil(Number(match[1]) * TIMEOUT_UNIT_MS[match[2]!]!);
}

/** Whether a request's content-type is gRPC's (`application/grpc`, optionally `+proto` or `;...`). */
export function isGrpcContentType(value: string | undefined): boolean {
  return value !== undefined && value.startsWith(GRPC_CONTENT_TYPE) && (value.length === GRPC_CONTENT_TYPE.length || value[GRPC_CONTENT_TYPE.length] === '+' || value[GRPC_CONTENT_TYPE.length] === ';');
}
