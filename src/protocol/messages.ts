/**
 * Connection-layer messages as plain data. A message is its wire type name, the base fields
 * Nacos's abstract `Request` / `Response` classes carry, and a `body` with the type's own fields.
 * `success` and `module` are not stored: both are derived on encode (spec 1.3).
 */

export type Headers = Readonly<Record<string, string>>;
export type Labels = Readonly<Record<string, string>>;
export type JsonObject = { readonly [key: string]: unknown };

export interface RequestMessage<T extends string = string, B = JsonObject> {
  readonly kind: 'request';
  readonly type: T;
  readonly headers: Headers;
  /** Decimal string on server pushes; usually absent on unary requests. */
  readonly requestId?: string;
  readonly body: B;
}

export interface ResponseMessage<T extends string = string, B = JsonObject> {
  readonly kind: 'response';
  readonly type: T;
  readonly resultCode: number;
  readonly errorCode: number;
  readonly message?: string;
  readonly requestId?: string;
  readonly body: B;
}

export type Message = RequestMessage | ResponseMessage;

/** `ClientAbilities` as sent by Java 2.2.4; kept opaque beyond being an object. */
export type ClientAbilities = JsonObject;

/** The type-specific fields of every connection-layer request (spec 2). */
export interface RequestBodies {
  ServerCheckRequest: Record<string, never>;
  ConnectionSetupRequest: {
    readonly clientVersion: string;
    readonly labels: Labels;
    readonly tenant?: string;
    readonly abilities?: ClientAbilities;
  };
  HealthCheckRequest: Record<string, never>;
  ConnectResetRequest: {
    readonly serverIp?: string;
    /** A string on the wire, as Java's field. */
    readonly serverPort?: string;
    /** Newer servers (2.3.0+) also name the connection being reset. */
    readonly connectionId?: string;
  };
  ClientDetectionRequest: Record<string, never>;
  ServerLoaderInfoRequest: Record<string, never>;
  ServerReloadRequest: { readonly reloadCount: number; readonly reloadServer?: string };
  /** Sent by 2.3.0+ servers after a setup; our server never sends it. */
  SetupAckRequest: { readonly abilityTable?: Readonly<Record<string, boolean>> };
}

/** The type-specific fields of every connection-layer response (spec 2). */
export interface ResponseBodies {
  ServerCheckResponse: { readonly connectionId?: string; readonly supportAbilityNegotiation?: boolean };
  HealthCheckResponse: Record<string, never>;
  ConnectResetResponse: Record<string, never>;
  ClientDetectionResponse: Record<string, never>;
  ServerLoaderInfoResponse: { readonly loaderMetrics: Readonly<Record<string, string>> };
  ServerReloadResponse: Record<string, never>;
  SetupAckResponse: Record<string, never>;
  ErrorResponse: Record<string, never>;
}

export type RequestType = keyof RequestBodies;
export type ResponseType = keyof ResponseBodies;
export type KnownRequest<T extends RequestType> = RequestMessage<T, RequestBodies[T]>;
export type KnownResponse<T extends ResponseType> = ResponseMessage<T, ResponseBodies[T]>;

const EMPTY: Record<string, never> = Object.freeze({}) as Record<string, never>;

type BodyArg<B> = B extends Record<string, never> ? [body?: B] : [body: B];

/** A type name that is not a connection-layer one (those have typed bodies and their own overload). */
type BusinessType<T extends string, Known extends string> = T extends Known ? never : T;

/** Builds a connection-layer request. */
export function request<T extends RequestType>(type: T, ...[body]: BodyArg<RequestBodies[T]>): KnownRequest<T>;
/** Builds a business request (config, naming, ...): any other type name, with its body's fields. */
export function request<T extends string>(type: BusinessType<T, RequestType>, body?: JsonObject): RequestMessage<T>;
export function request(type: string, body?: JsonObject): RequestMessage {
  return { kind: 'request', type, headers: {}, body: body ?? EMPTY };
}

/** Builds a successful connection-layer response. */
export function response<T extends ResponseType>(type: T, ...[body]: BodyArg<ResponseBodies[T]>): KnownResponse<T>;
/** Builds a successful business response (config, naming, ...): any other type name, with its body's fields. */
export function response<T extends string>(type: BusinessType<T, ResponseType>, body?: JsonObject): ResponseMessage<T>;
export function response(type: string, body?: JsonObject): ResponseMessage {
  return { kind: 'response', type, resultCode: 200, errorCode: 0, body: body ?? EMPTY };
}

/** Nacos's `ErrorResponse.build(code, message)`: resultCode 500 with the given error code. */
export function errorResponse(errorCode: number, message: string, requestId?: string): KnownResponse<'ErrorResponse'> {
  return {
    kind: 'response',
    type: 'ErrorResponse',
    resultCode: 500,
    errorCode,
    message,
    ...(requestId === undefined ? {} : { requestId }),
    body: EMPTY,
  };
}

/** Whether a response succeeded: always from resultCode, never from the wire's `success` (spec 1.3). */
export function isSuccess(message: ResponseMessage): boolean {
  return message.resultCode === 200;
}

/** Case-insensitive header lookup, as Java's TreeMap(CASE_INSENSITIVE_ORDER). */
export function getHeader(message: RequestMessage, name: string): string | undefined {
  const direct = message.headers[name];
  if (direct !== undefined) return direct;
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(message.headers)) {
    if (key.toLowerCase() === lower) return value;
  }
  return undefined;
}

/** Narrows a message to a known request type. */
export function isRequestOf<T extends RequestType>(message: Message, type: T): message is KnownRequest<T> {
  return message.kind === 'request' && message.type === type;
}

/** Narrows a message to a known response type. */
export function isResponseOf<T extends ResponseType>(message: Message, type: T): message is KnownResponse<T> {
  return message.kind === 'response' && message.type === type;
}
