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
  UnusableResponseError,
  UnknownResponseTypeError,
  InvalidResponseError,
  UnexpectedResponseTypeError,
} from './errors.js';
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
