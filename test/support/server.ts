import pino from 'pino';
import { NacosServer, type NacosServerOptions } from '../../src/server/nacos-server.js';
import { DEFAULT_TRANSPORT, TRANSPORT_KINDS, type TransportKind } from '../../src/server/transport/types.js';
import { findMainPort } from './ports.js';

/**
 * The gRPC transport test servers and nodes use: the node's default, or NACOS_TRANSPORT
 * (`grpc-js`, `http2`, or `other`: whichever is not the default, as CI's transport lane runs;
 * docs/server.md). An explicit `transport` option wins.
 */
export function transportUnderTest(): TransportKind {
  const chosen = process.env['NACOS_TRANSPORT'] ?? DEFAULT_TRANSPORT;
  if (chosen === 'other') return TRANSPORT_KINDS.find((kind) => kind !== DEFAULT_TRANSPORT)!;
  const kind = TRANSPORT_KINDS.find((k) => k === chosen);
  if (kind === undefined) throw new Error(`NACOS_TRANSPORT must be ${TRANSPORT_KINDS.join(', ')} or other, not ${chosen}`);
  return kind;
}

/** A silent logger for tests; set LOG_LEVEL to see the server's logs. */
export const testLogger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });

/** Starts a NacosServer on loopback with a free port; the caller closes it. */
export async function startTestServer(
  options: Partial<NacosServerOptions> & { start?: boolean } = {},
): Promise<{ server: NacosServer; port: number; sdkPort: number; host: string }> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await findMainPort([host]));
  const server = new NacosServer({ logger: testLogger, shutdownResetWaitMs: 200, transport: transportUnderTest(), ...options, host, port });
  if (options.start === false) await server.listen();
  else await server.start();
  return { server, port, sdkPort: server.ports.sdk, host };
}
