/** Nacos `ResponseCode` values carried in `resultCode`. */
export const ResultCode = {
  SUCCESS: 200,
  FAIL: 500,
} as const;

/** Nacos `NacosException` error codes used by the connection layer (spec 2.1). */
export const ErrorCode = {
  INVALID_PARAM: 400,
  INVALID_SERVER_STATUS: 300,
  UN_REGISTER: 301,
  NO_HANDLER: 302,
  NO_RIGHT: 403,
  /** NacosException.CONFLICT. */
  CONFLICT: 409,
  SERVER_ERROR: 500,
  BAD_GATEWAY: 502,
  OVER_THRESHOLD: 503,
  CLIENT_DISCONNECT: -401,
  CLIENT_INVALID_PARAM: -400,
  CLIENT_ERROR: -500,
} as const;

/** Module name carried by every connection-layer request. */
export const INTERNAL_MODULE = 'internal';

/** gRPC method paths: the proto has no package, so the service names stand alone. */
export const GrpcPaths = {
  REQUEST: '/Request/request',
  BI_STREAM: '/BiRequestStream/requestBiStream',
} as const;

/** Default message size limit on both sides (Nacos: 10 MiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

/** Port offsets from the main (HTTP) port. */
export const PortOffset = {
  SDK_GRPC: 1000,
  CLUSTER_GRPC: 1001,
} as const;
