/** Wire protocol shared by client and server: proto, Payload codec, message types, errors. */
export * from './codes.js';
export * from './errors.js';
export * from './messages.js';
export { MessageRegistry, type MessageTypeInfo } from './registry.js';
export {
  defineRequestType,
  defineResponseType,
  type BodyParser,
  type MessageTypeDefinition,
  type RequestTypeDefinition,
  type ResponseTypeDefinition,
} from './message-types.js';
export {
  decodeEnvelope,
  decodeMessage,
  decodePayload,
  encodePayload,
  messageToJson,
  defaultRegistry,
  type Envelope,
} from './codec.js';
export { NACOS_GRPC_PROTO } from './proto.js';
export { isBeyondTimers, MAX_TIMER_DELAY_MS, systemTimers, sleep, type Timers } from './time.js';
export { PACKAGE_VERSION } from './version.js';
export { firstNonInternalIPv4 } from './local-ip.js';
export { caBundleProblem } from './pem.js';
