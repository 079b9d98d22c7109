import pino from 'pino';
import { NacosServer, type NacosServerOptions } from '../../src/server/nacos-server.js';
import { findMainPort } from './ports.js';

/** A silent logger for tests; set LOG_LEVEL to see the server's logs. */
export const testLogger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });

/** Starts a NacosServer on loopback with a free port; the caller closes it. */
export async function startTestServer(
  options: Partial<NacosServerOptions> & { start?: boolean } = {},
): Promise<{ server: NacosServer; port: number; sdkPort: number; host: string }> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await findMainPort([host]));
  const server = new NacosServer({ logger: testLogger, shutdownResetWaitMs: 200, ...options, host, port });
  if (options.start === false) await server.listen();
  else await server.start();
  return { server, port, sdkPort: server.ports.sdk, host };
}
