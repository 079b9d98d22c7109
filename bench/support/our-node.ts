// Our node as a benchmark server process: started with startNode (the CLI's path, without the
// signal handling), answering the connection benchmark's commands (standalone.ts). A fan-out is
// one awaited ClientDetectionRequest push per registered connection; a close is logged when the
// connection is unregistered and listeners are told (this logger is the last listener).
// Its gRPC transport: NACOS_TRANSPORT (grpc-js or http2), as in the tests.
// Standalone: node --expose-gc --import tsx bench/support/our-node.ts [--host H] [--port P] [--config F]
//   (--port: the SDK gRPC port wanted, 0 = any free main port; HTTP is 1000 below it;
//    --config: a node config file as the CLI takes, e.g. a `db` section for the config store)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PortOffset, request } from '../../src/protocol/index.js';
import { readConfigFile } from '../../src/node/config.js';
import { startNode } from '../../src/node/index.js';
import { findMainPort } from '../../test/support/ports.js';
import { transportUnderTest } from '../../test/support/server.js';
import { CloseLog } from './fan-out.js';
import { isEntryPoint, serveStandalone, type RunningServer, type ServerModuleOptions } from './standalone.js';

export async function startOurNodeServer(host: string, sdkPort: number, options: ServerModuleOptions = {}): Promise<RunningServer> {
  const port = sdkPort === 0 ? await findMainPort([host]) : sdkPort - PortOffset.SDK_GRPC;
  // A home the parent made is the parent's to remove (startStandaloneServer).
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'nacos-remote-bench-'));
  const removeOwnHome = () => {
    if (options.home === undefined) rmSync(home, { recursive: true, force: true });
  };
  let node: Awaited<ReturnType<typeof startNode>>;
  try {
    const fromFile = options.configFile === undefined ? {} : await readConfigFile(options.configFile);
    // The target's transport wins over the file's: `ours` and `ours-other` must differ.
    node = await startNode({ ...fromFile, transport: transportUnderTest(), host, port, home, logLevel: 'warn' });
  } catch (error) {
    removeOwnHome();
    throw error;
  }
  const closes = new CloseLog();
  node.server.addConnectionListener({ name: 'bench-close-log', onDisconnected: (c) => closes.record(`${c.meta.remoteIp}:${c.meta.remotePort}`) });
  const detection = request('ClientDetectionRequest');
  return {
    port: port + PortOffset.SDK_GRPC,
    close: async () => {
      await node.close();
      removeOwnHome();
    },
    fanOut: async (timeoutMs) => {
      const connections = node.server.connections();
      const started = performance.now();
      const answers = await Promise.allSettled(connections.map((c) => node.server.push(c.connectionId, detection, timeoutMs)));
      const ms = performance.now() - started;
      const failed = answers.find((a): a is PromiseRejectedResult => a.status === 'rejected');
      if (failed !== undefined) throw new Error(`fan-out: ${answers.filter((a) => a.status === 'rejected').length} pushes failed, first: ${String(failed.reason)}`);
      return { streams: connections.length, acks: answers.length, ms };
    },
    takeCloses: () => closes.take(),
  };
}

if (isEntryPoint(import.meta.url)) await serveStandalone(startOurNodeServer);
