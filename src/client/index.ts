/**
 * `nacos-remote/client`: the Nacos 2.x long-connection client for Node.js services.
 *
 * @example
 * ```ts
 * import { RpcClient, request } from 'nacos-remote/client';
 * const client = new RpcClient({ serverAddresses: ['10.0.0.5:8848', '10.0.0.6:8848'], appName: 'orders' });
 * client.on('connected', (id, server) => console.log('connected', id, server));
 * await client.start();
 * const reply = await client.request(request('HealthCheckRequest'));
 * await client.shutdown();
 * ```
 *
 * Service discovery: {@link NamingClient} (docs/naming.md, "The client"). Configuration:
 * {@link ConfigClient} (docs/config.md, "The client").
 */
export {
  RpcClient,
  ClientStatus,
  type RpcClientOptions,
  type RequestOptions,
  type ServerRequestHandler,
  type PushContext,
  type ClientEvents,
} from './rpc-client.js';
export {
  ClientNotConnectedError,
  ClientShutdownError,
  ClientStartError,
  ConnectFailedError,
  InvalidClientOptionError,
  InvalidParamError,
  UnusableResponseError,
  UnknownResponseTypeError,
  InvalidResponseError,
  UnexpectedResponseTypeError,
  ConfigRequestError,
} from './errors.js';
export {
  NamingClient,
  type NamingClientOptions,
  type NamingInstance,
  type ServiceOptions,
  type ClusterOptions,
  type ReadOptions,
} from './naming-client.js';
export type { InstancesChangeEvent, InstancesListener } from './service-cache.js';
export { ConfigClient, type ConfigClientOptions, type PublishOptions } from './config-client.js';
export type { ConfigChangeEvent, ConfigListener } from './config-cache.js';
export { ConfigMessages, type ConfigKey } from '../protocol/config/index.js';
export {
  NamingMessages,
  DEFAULT_NAMESPACE,
  DEFAULT_GROUP,
  DEFAULT_CLUSTER,
  type InstanceJson,
  type ServiceInfoJson,
} from '../protocol/naming/index.js';
export { channelSecurity, type ChannelSecurity, type ClientTlsOptions } from './tls.js';
export { parseServerAddress, formatAddress, InvalidServerAddressError, type ServerAddress } from './server-list.js';
export {
  request,
  response,
  errorResponse,
  isSuccess,
  defineRequestType,
  defineResponseType,
  NacosRemoteError,
  InvalidBodyError,
  RemoteResponseError,
  RequestTimeoutError,
  type BodyParser,
  type MessageTypeDefinition,
  type RequestTypeDefinition,
  type ResponseTypeDefinition,
  type RequestMessage,
  type ResponseMessage,
} from '../protocol/index.js';
