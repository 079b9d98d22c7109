import { MessageRegistry, type RequestMessage } from '../../src/protocol/index.js';
import { RawPeer } from './raw-peer.js';

/** What a Nacos config client knows: the connection layer plus config's types. */
function configRegistry(): MessageRegistry {
  const registry = MessageRegistry.connectionLayer().defineRequest('ConfigChangeNotifyRequest', { module: 'config' });
  for (const type of ['ConfigQueryRequest', 'ConfigPublishRequest', 'ConfigRemoveRequest', 'ConfigBatchListenRequest']) {
    registry.defineRequest(type, { module: 'config' });
  }
  for (const type of ['ConfigQueryResponse', 'ConfigPublishResponse', 'ConfigRemoveResponse', 'ConfigChangeBatchListenResponse']) {
    registry.defineResponse(type);
  }
  return registry;
}

export function configRequest(type: string, body: Record<string, unknown>): RequestMessage {
  return { kind: 'request', type, headers: {}, body };
}

/** A raw config client registered on a node's SDK port. */
export async function configPeer(grpcPort: number, host = '127.0.0.1'): Promise<RawPeer> {
  const peer = new RawPeer(host, grpcPort);
  peer.registry = configRegistry();
  await peer.register({ source: 'sdk', module: 'config' });
  return peer;
}
