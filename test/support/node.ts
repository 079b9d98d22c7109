import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode, type NacosNode, type NodeConfigInput } from '../../src/node/index.js';
import { findMainPort } from './ports.js';
import { testLogger, transportUnderTest } from './server.js';

/** A whole node (HTTP + gRPC) in this process on loopback, with a temporary home. */
export async function startTestNode(options: NodeConfigInput = {}): Promise<NacosNode & { home: string; base: string; dispose(): Promise<void> }> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await findMainPort([host]));
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'nacos-remote-home-'));
  let node: NacosNode;
  try {
    node = await startNode({ shutdownResetWaitMs: 200, transport: transportUnderTest(), ...options, host, port, home, logger: testLogger });
  } catch (error) {
    // A start that fails (some tests mean it to) leaves no temporary home behind.
    if (options.home === undefined) rmSync(home, { recursive: true, force: true });
    throw error;
  }
  return Object.assign(node, {
    home,
    base: `http://${host}:${port}`,
    async dispose() {
      await node.close();
      if (options.home === undefined) rmSync(home, { recursive: true, force: true });
    },
  });
}
