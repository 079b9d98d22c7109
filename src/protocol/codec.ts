import { InvalidBodyError, MalformedPayloadError } from './errors.js';
import type { JsonObject, Message, RequestMessage, ResponseMessage } from './messages.js';
import { writePayload } from './payload-writer.js';
import { readPayload, type PayloadRead } from './payload-reader.js';
import { MessageRegistry } from './registry.js';

/** A Payload with its metadata read and its JSON body not yet parsed. */
export type Envelope = PayloadRead;

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** The registry used when none is given: every connection-layer type. */
export const defaultRegistry = MessageRegistry.connectionLayer();

/** Reads the protobuf layer only. @throws MalformedPayloadError */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  try {
    return readPayload(bytes);
  } catch (error) {
    throw new MalformedPayloadError(`malformed Payload protobuf: ${(error as Error).message}`, { cause: error });
  }
}

function parseJsonObject(bytes: Uint8Array): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(textDecoder.decode(bytes));
  } catch (error) {
    throw new InvalidBodyError(`invalid JSON body: ${(error as Error).message}`, { cause: error });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidBodyError('Invalid request');
  }
  return value as JsonObject;
}

function optionalString(json: JsonObject, key: string): string | undefined {
  const value = json[key];
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}

function intOr(json: JsonObject, key: string, fallback: number): number {
  const value = json[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  throw new InvalidBodyError(`field '${key}' must be an integer`);
}

/**
 * Parses an envelope's JSON body into a message of the type it names.
 * @throws UnknownPayloadTypeError, InvalidBodyError
 */
export function decodeMessage(envelope: Envelope, registry: MessageRegistry = defaultRegistry): Message {
  const info = registry.get(envelope.type);
  const json = parseJsonObject(envelope.body);
  const body = info.parseBody(json);
  const requestId = optionalString(json, 'requestId');
  if (info.kind === 'request') {
    // The body's headers are always {} from Java; metadata.headers are the real ones (spec 1.2).
    const bodyHeaders = json['headers'];
    const headers =
      bodyHeaders !== null && typeof bodyHeaders === 'object' && Object.keys(bodyHeaders).length > 0
        ? { ...(bodyHeaders as Record<string, string>), ...envelope.headers }
        : envelope.headers;
    const message: RequestMessage = { kind: 'request', type: envelope.type, headers, body };
    return requestId === undefined ? message : { ...message, requestId };
  }
  // `success` is deliberately not read: Go sends success:false with resultCode 200 (spec 1.3).
  const message: ResponseMessage = {
    kind: 'response',
    type: envelope.type,
    resultCode: intOr(json, 'resultCode', 200),
    errorCode: intOr(json, 'errorCode', 0),
    body,
    ...(optionalString(json, 'message') === undefined ? {} : { message: optionalString(json, 'message') }),
    ...(requestId === undefined ? {} : { requestId }),
  };
  return message;
}

/** Decodes protobuf and JSON in one step. */
export function decodePayload(bytes: Uint8Array, registry: MessageRegistry = defaultRegistry): Message {
  return decodeMessage(decodeEnvelope(bytes), registry);
}

/** JSON drops undefined on its own; nulls are dropped here (Jackson NON_NULL). */
function dropNulls(_key: string, value: unknown): unknown {
  return value === null ? undefined : value;
}

/**
 * Whether a JSON value may hold a null anywhere below it. An object with toJSON answers yes: what
 * it serialises to is not what it holds.
 */
function containsNull(value: unknown): boolean {
  if (value === null) return true;
  if (typeof value !== 'object') return false;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return true;
  if (Array.isArray(value)) return value.some(containsNull);
  for (const key in value) if (containsNull((value as Record<string, unknown>)[key])) return true;
  return false;
}

/**
 * JSON without null members. A replacer function takes JSON.stringify off its fast path (a few
 * µs per message, measurable on every call), so it is used only when there is a null to drop.
 */
function stringifyWithoutNulls(value: Record<string, unknown>): string {
  return containsNull(value) ? JSON.stringify(value, dropNulls) : JSON.stringify(value);
}

function moduleOf(message: Message, registry: MessageRegistry): string {
  return registry.has(message.type) ? registry.get(message.type).module : 'internal';
}

/** The JSON object Java would write for a message (without headers, which go to metadata). */
export function messageToJson(message: Message, registry: MessageRegistry = defaultRegistry): Record<string, unknown> {
  if (message.kind === 'request') {
    return {
      headers: {},
      ...(message.requestId === undefined ? {} : { requestId: message.requestId }),
      ...message.body,
      module: moduleOf(message, registry),
    };
  }
  return {
    resultCode: message.resultCode,
    errorCode: message.errorCode,
    ...(message.message === undefined ? {} : { message: message.message }),
    ...(message.requestId === undefined ? {} : { requestId: message.requestId }),
    ...message.body,
    // Always written: Go clients up to v2.2.4 read only this field (spec 1.3).
    success: message.resultCode === 200,
  };
}

/**
 * Encodes a message as a Payload: JSON in `Any.value`, empty `type_url`, `metadata.type` the
 * type name, request headers in `metadata.headers`, `clientIp` only on requests.
 */
export function encodePayload(
  message: Message,
  options: { clientIp?: string; registry?: MessageRegistry } = {},
): Uint8Array {
  const registry = options.registry ?? defaultRegistry;
  const json = stringifyWithoutNulls(messageToJson(message, registry));
  if (message.kind === 'response') return writePayload({ type: message.type, json });
  return writePayload({ type: message.type, clientIp: options.clientIp || undefined, headers: message.headers, json });
}
