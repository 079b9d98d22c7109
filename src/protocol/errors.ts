import { ErrorCode } from './codes.js';

/**
 * Base of every error this project throws. `code` is a stable string for programs,
 * `errorCode` the Nacos numeric code that travels in an `ErrorResponse`.
 */
export class NacosRemoteError extends Error {
  readonly code: string;
  readonly errorCode: number;

  constructor(code: string, errorCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.errorCode = errorCode;
  }

  /** Normalises anything thrown into a NacosRemoteError (500 unless it already is one). */
  static from(error: unknown): NacosRemoteError {
    if (error instanceof NacosRemoteError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new NacosRemoteError('SERVER_ERROR', ErrorCode.SERVER_ERROR, message, { cause: error });
  }
}

/** The bytes are not a valid Payload protobuf. */
export class MalformedPayloadError extends NacosRemoteError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MALFORMED_PAYLOAD', ErrorCode.BAD_GATEWAY, message, options);
  }
}

/** `metadata.type` names no registered message type (Nacos: "Unknown payload type:"). */
export class UnknownPayloadTypeError extends NacosRemoteError {
  readonly payloadType: string;
  constructor(payloadType: string) {
    super('UNKNOWN_PAYLOAD_TYPE', ErrorCode.SERVER_ERROR, `Unknown payload type:${payloadType}`);
    this.payloadType = payloadType;
  }
}

/** The JSON body could not be parsed, or a field has the wrong shape. */
export class InvalidBodyError extends NacosRemoteError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_BODY', ErrorCode.BAD_GATEWAY, message, options);
  }
}

/** A remote peer answered with a failed response (resultCode != 200). */
export class RemoteResponseError extends NacosRemoteError {
  constructor(errorCode: number, message: string) {
    super('REMOTE_ERROR', errorCode, message);
  }
}

/** A request or push got no answer in time. */
export class RequestTimeoutError extends NacosRemoteError {
  constructor(message: string) {
    super('TIMEOUT', ErrorCode.SERVER_ERROR, message);
  }
}

/** The connection the operation needed is closed or gone. */
export class ConnectionClosedError extends NacosRemoteError {
  constructor(message: string) {
    super('CONNECTION_CLOSED', ErrorCode.SERVER_ERROR, message);
  }
}

/** No registered connection has the given id. */
export class UnknownConnectionError extends NacosRemoteError {
  readonly connectionId: string;
  constructor(connectionId: string) {
    super('UNKNOWN_CONNECTION', ErrorCode.INVALID_PARAM, `no registered connection ${connectionId}`);
    this.connectionId = connectionId;
  }
}

/** The caller may not do this (Nacos NO_RIGHT, 403). */
export class NoRightError extends NacosRemoteError {
  constructor(message: string) {
    super('NO_RIGHT', ErrorCode.NO_RIGHT, message);
  }
}
