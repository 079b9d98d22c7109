import pino from 'pino';
import { NacosServer, type NacosServerOptions } from '../../src/server/nacos-server.js';
import type { TransportKind } from '../../src/server/transport/types.js';
import { findMainPort } from './ports.js';

/**
 * The gRPC transport test servers and nodes use: `NACOS_TRANSPORT=http2` runs a test file on the
 * node:http2 transport instead of grpc-js (docs/server.md). An explicit `transport` option wins.
 */
export function transportUnderTest(): TransportKind {
  const chosen = process.env['NACOS_TRANSPORT'] ?? 'grpc-js';
  if (chosen !== 'grpc-js' && chosen !== 'http2') throw new Error(`NACOS_TRANSPORT must be grpc-js or http2, not ${chosen}`);
  return chosen;
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
