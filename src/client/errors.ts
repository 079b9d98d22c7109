import { ErrorCode, NacosRemoteError } from '../protocol/index.js';

/** A parameter the application passed is refused before anything is sent (Nacos CLIENT_INVALID_PARAM, -400). */
export class InvalidParamError extends NacosRemoteError {
  constructor(message: string) {
    super('CLIENT_INVALID_PARAM', ErrorCode.CLIENT_INVALID_PARAM, message);
  }
}

/** The client has no working connection (Nacos CLIENT_DISCONNECT, -401). */
export class ClientNotConnectedError extends NacosRemoteError {
  constructor(status: string) {
    super('CLIENT_DISCONNECT', ErrorCode.CLIENT_DISCONNECT, `Client not connected, current status:${status}`);
  }
}

/** An RpcClient option that cannot work (named in the message); thrown by the constructor. */
export class InvalidClientOptionError extends NacosRemoteError {
  constructor(option: string, reason: string) {
    super('INVALID_CLIENT_OPTION', ErrorCode.CLIENT_INVALID_PARAM, `invalid client option '${option}': ${reason}`);
  }
}

/** Every start-up attempt failed; the client keeps reconnecting in the background. */
export class ClientStartError extends NacosRemoteError {
  constructor(attempts: number, options?: { cause?: unknown }) {
    super('CLIENT_START_FAILED', ErrorCode.CLIENT_DISCONNECT, `no server accepted the connection after ${attempts} attempts; reconnecting in the background`, options);
  }
}

/** The client was shut down. */
export class ClientShutdownError extends NacosRemoteError {
  constructor() {
    super('CLIENT_SHUTDOWN', ErrorCode.CLIENT_DISCONNECT, 'Client is shut down');
  }
}

/** A server could not be connected to (ServerCheck failed, setup refused, ...). */
export class ConnectFailedError extends NacosRemoteError {
  constructor(server: string, reason: string, options?: { cause?: unknown }) {
    super('CONNECT_FAILED', ErrorCode.CLIENT_DISCONNECT, `connect to ${server} failed: ${reason}`, options);
  }
}

/**
 * The server answered, but the answer cannot be used. The request is not sent again (the server
 * may already have acted on it, and would answer the same) and the connection stays healthy.
 */
export class UnusableResponseError extends NacosRemoteError {
  /** The request that got this answer. */
  readonly requestType: string;
  constructor(code: string, errorCode: number, requestType: string, message: string, options?: { cause?: unknown }) {
    super(code, errorCode, message, options);
    this.requestType = requestType;
  }
}

/** The answer's type is not registered on this client (Nacos: "Unknown payload type:"). */
export class UnknownResponseTypeError extends UnusableResponseError {
  /** The answer's wire type name. */
  readonly responseType: string;
  constructor(requestType: string, responseType: string) {
    super(
      'UNKNOWN_RESPONSE_TYPE',
      ErrorCode.SERVER_ERROR,
      requestType,
      `${requestType} was answered with ${responseType}, a response type this client does not know; register it with defineMessageTypes()`,
    );
    this.responseType = responseType;
  }
}

/** The answer could not be decoded: not a Payload, not JSON, a field its parser refused, or not a response. */
export class InvalidResponseError extends UnusableResponseError {
  constructor(requestType: string, reason: string, options?: { cause?: unknown }) {
    super('INVALID_RESPONSE', ErrorCode.BAD_GATEWAY, requestType, `the answer to ${requestType} is invalid: ${reason}`, options);
  }
}

/** The answer decoded, but is not the type the caller expected (`request(..., { expect })`). */
export class UnexpectedResponseTypeError extends UnusableResponseError {
  readonly expectedType: string;
  readonly responseType: string;
  constructor(requestType: string, expectedType: string, responseType: string) {
    super('UNEXPECTED_RESPONSE_TYPE', ErrorCode.SERVER_ERROR, requestType, `${requestType} was answered with ${responseType}, not ${expectedType}`);
    this.expectedType = expectedType;
    this.responseType = responseType;
  }
}

/**
 * A config request the server refused (a typed response with resultCode 500): bad names or content
 * (errorCode 400), a CAS publish whose md5 no longer matches (500, `Cas publish fail...`), or a
 * store failure. The server's errorCode and message are kept.
 */
export class ConfigRequestError extends NacosRemoteError {
  constructor(requestType: string, errorCode: number, message: string) {
    super('CONFIG_REQUEST_REFUSED', errorCode, `${requestType} refused: ${message}`);
  }
}
