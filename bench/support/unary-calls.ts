// The unary calls a load driver can make (unary-load-worker.ts): what each sends on a connection
// and the reply type that counts as success. Calls that change state (register, publish) cycle
// through a ring of messages so that every call changes what the server stores, as real traffic
// does, while the driver encodes each message once.
import { CONFIG_MODULE, ConfigMessages, ConfigTypes } from '../../src/protocol/config/index.js';
import { decodePayload, encodePayload, MessageRegistry, request, type RequestMessage, type ResponseMessage } from '../../src/protocol/index.js';
import { InstanceOperation, NamingMessages } from '../../src/protocol/naming/index.js';
import { encodeFrame } from './grpc-framing.js';
import { H2GrpcConnection } from './h2-grpc-client.js';

export type UnaryCall = 'ServerCheck' | 'HealthCheck' | 'ConfigQuery' | 'ConfigPublish' | 'InstanceRegister' | 'BatchInstanceRegister';

/** The config key ConfigQuery reads: the benchmark publishes it before the load. */
export const QUERIED_CONFIG = { dataId: 'bench.properties', group: 'DEFAULT_GROUP', tenant: '' } as const;

/** Instances in each BatchInstanceRequest. */
export const BATCH_SIZE = 10;

/** Services (and config keys) a connection's state-changing calls spread over. */
const KEYS = 16;
/** Versions of each key's value a ring cycles through: consecutive calls on a key always differ. */
const VERSIONS = 4;

/**
 * Naming and config types, requests with the `module` Java's SDK sends (Nacos routes by type alone,
 * but a peer may read it). Our ConfigClient sends config requests as 'internal': its registry has none.
 */
export const SDK_REGISTRY = MessageRegistry.connectionLayer().register(...Object.values(NamingMessages), ...Object.values(ConfigMessages));
for (const type of [ConfigTypes.QUERY, ConfigTypes.PUBLISH, ConfigTypes.BATCH_LISTEN]) SDK_REGISTRY.defineRequest(type, { module: CONFIG_MODULE });

const EXPECTED_REPLY: Record<UnaryCall, string> = {
  ServerCheck: 'ServerCheckResponse',
  HealthCheck: 'HealthCheckResponse',
  ConfigQuery: 'ConfigQueryResponse',
  ConfigPublish: 'ConfigPublishResponse',
  InstanceRegister: 'InstanceResponse',
  BatchInstanceRegister: 'BatchInstanceResponse',
};

export function expectedReply(call: UnaryCall): string {
  return EXPECTED_REPLY[call];
}

/** The `module` label a connection making this call sets up with, as our SDK's clients do. */
export function moduleLabel(call: UnaryCall): string | undefined {
  if (call === 'ConfigQuery' || call === 'ConfigPublish') return 'config';
  if (call === 'InstanceRegister' || call === 'BatchInstanceRegister') return 'naming';
  return undefined;
}

/** An instance address no other connection uses: derived from this end's (source ip, port). */
function instanceIp(localAddress: string, localPort: number): string {
  const lastOctet = Number(localAddress.split('.').at(-1) ?? 0);
  return `10.${lastOctet % 256}.${localPort >> 8}.${localPort & 255}`;
}

/** A naming request in the public namespace and the default group. */
export function namingRequest(type: 'InstanceRequest' | 'BatchInstanceRequest' | 'SubscribeServiceRequest', body: Record<string, unknown>): RequestMessage {
  return { kind: 'request', type, headers: {}, body: { namespace: 'public', groupName: 'DEFAULT_GROUP', ...body } };
}

function messages(call: UnaryCall, localAddress: string, localPort: number): RequestMessage[] {
  const ring = Array.from({ length: KEYS * VERSIONS }, (_, i) => ({ key: i % KEYS, version: Math.floor(i / KEYS) }));
  const ip = instanceIp(localAddress, localPort);
  switch (call) {
    case 'ServerCheck':
    case 'HealthCheck':
      return [request(`${call}Request`)];
    case 'ConfigQuery':
      return [{ kind: 'request', type: 'ConfigQueryRequest', headers: {}, body: { ...QUERIED_CONFIG } }];
    case 'ConfigPublish':
      return ring.map(({ key, version }) => ({
        kind: 'request',
        type: 'ConfigPublishRequest',
        headers: {},
        body: { dataId: `bench-publish-${key}`, group: 'DEFAULT_GROUP', tenant: '', content: `publisher=${ip}\nversion=${version}\n`, additionMap: {} },
      }));
    case 'InstanceRegister':
      // One instance per (connection, service), as Nacos 2.x keeps: a register replaces it.
      return ring.map(({ key, version }) =>
        namingRequest('InstanceRequest', { serviceName: `bench-register-${key}`, type: InstanceOperation.REGISTER, instance: { ip, port: 8000 + version, weight: 1, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT', metadata: {} } }),
      );
    case 'BatchInstanceRegister':
      return ring.map(({ key, version }) =>
        namingRequest('BatchInstanceRequest', {
          serviceName: `bench-batch-${key}`,
          type: InstanceOperation.BATCH_REGISTER,
          instances: Array.from({ length: BATCH_SIZE }, (_, i) => ({ ip, port: 8000 + version * BATCH_SIZE + i, weight: 1, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT', metadata: {} })),
        }),
      );
  }
}

/** The framed messages a connection sends, in turn, for this call. */
export function callFrames(call: UnaryCall, localAddress: string, localPort: number): Buffer[] {
  return messages(call, localAddress, localPort).map((m) => encodeFrame(encodePayload(m, { clientIp: localAddress, registry: SDK_REGISTRY })));
}

/** One naming or config request on a raw connection, as our SDK encodes it; the reply must be 200. */
export async function sdkCall(connection: H2GrpcConnection, message: RequestMessage, timeoutMs = 10_000): Promise<ResponseMessage> {
  const reply = decodePayload(await connection.unary(encodePayload(message, { clientIp: connection.localAddress, registry: SDK_REGISTRY }), timeoutMs), SDK_REGISTRY);
  if (reply.kind !== 'response' || reply.resultCode !== 200) throw new Error(`${message.type} answered ${JSON.stringify(reply)}`);
  return reply;
}

/** A raw connection registered as a naming or config SDK client. */
export async function sdkConnection(host: string, port: number, module: 'naming' | 'config', localAddress?: string): Promise<H2GrpcConnection> {
  const connection = await H2GrpcConnection.connect({ host, port, ...(localAddress === undefined ? {} : { localAddress }) });
  connection.openBiStream({ registry: SDK_REGISTRY });
  await connection.register({ source: 'sdk', module });
  return connection;
}
