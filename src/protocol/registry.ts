import { InvalidBodyError, UnknownPayloadTypeError } from './errors.js';
import { INTERNAL_MODULE } from './codes.js';
import type { JsonObject, RequestType, ResponseType } from './messages.js';
import {
  defineRequestType,
  defineResponseType,
  type BodyParser,
  type MessageTypeDefinition,
} from './message-types.js';

export interface MessageTypeInfo {
  readonly kind: 'request' | 'response';
  /** `module` written on encode (requests only); receivers ignore it. */
  readonly module: string;
  readonly parseBody: BodyParser;
}

function optionalString(json: JsonObject, key: string): string | undefined {
  const value = json[key];
  if (value === undefined || value === null) return undefined;
  // Jackson coerces scalars into String fields; so do we.
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new InvalidBodyError(`field '${key}' must be a string`);
}

function stringMap(json: JsonObject, key: string): Record<string, string> | undefined {
  const value = json[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidBodyError(`field '${key}' must be an object`);
  // fromEntries keeps a key such as "__proto__" as plain data.
  const entries: [string, string][] = [];
  for (const [k, v] of Object.entries(value as JsonObject)) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'string') entries.push([k, v]);
    else if (typeof v === 'number' || typeof v === 'boolean') entries.push([k, String(v)]);
    else throw new InvalidBodyError(`field '${key}.${k}' must be a string`);
  }
  return Object.fromEntries(entries);
}

function optionalObject(json: JsonObject, key: string): JsonObject | undefined {
  const value = json[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidBodyError(`field '${key}' must be an object`);
  return value as JsonObject;
}

function optionalInt(json: JsonObject, key: string): number | undefined {
  const value = json[key];
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new InvalidBodyError(`field '${key}' must be an integer`);
  return n;
}

function boolMap(json: JsonObject, key: string): Record<string, boolean> | undefined {
  const value = optionalObject(json, key);
  if (value === undefined) return undefined;
  const entries: [string, boolean][] = [];
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'boolean') entries.push([k, v]);
    else if (v !== null && v !== undefined) throw new InvalidBodyError(`field '${key}.${k}' must be a boolean`);
  }
  return Object.fromEntries(entries);
}

/** Builds a body from the given fields, dropping absent ones (Jackson's NON_NULL). */
function compact(fields: Record<string, unknown>): JsonObject {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

const empty: BodyParser = () => ({});

const CONNECTION_LAYER_REQUESTS: Record<RequestType, BodyParser> = {
  ServerCheckRequest: empty,
  ConnectionSetupRequest: (json) =>
    compact({
      clientVersion: optionalString(json, 'clientVersion') ?? '',
      // Java would throw on null labels; we treat them as empty.
      labels: stringMap(json, 'labels') ?? {},
      tenant: optionalString(json, 'tenant'),
      abilities: optionalObject(json, 'abilities'),
    }),
  HealthCheckRequest: empty,
  ConnectResetRequest: (json) =>
    compact({
      serverIp: optionalString(json, 'serverIp'),
      serverPort: optionalString(json, 'serverPort'),
      connectionId: optionalString(json, 'connectionId'),
    }),
  ClientDetectionRequest: empty,
  ServerLoaderInfoRequest: empty,
  ServerReloadRequest: (json) =>
    compact({ reloadCount: optionalInt(json, 'reloadCount') ?? 0, reloadServer: optionalString(json, 'reloadServer') }),
  SetupAckRequest: (json) => compact({ abilityTable: boolMap(json, 'abilityTable') }),
};

const CONNECTION_LAYER_RESPONSES: Record<ResponseType, BodyParser> = {
  ServerCheckResponse: (json) => {
    const negotiation = json['supportAbilityNegotiation'];
    return compact({
      connectionId: optionalString(json, 'connectionId'),
      supportAbilityNegotiation: typeof negotiation === 'boolean' ? negotiation : undefined,
    });
  },
  HealthCheckResponse: empty,
  ConnectResetResponse: empty,
  ClientDetectionResponse: empty,
  ServerLoaderInfoResponse: (json) => ({ loaderMetrics: stringMap(json, 'loaderMetrics') ?? {} }),
  ServerReloadResponse: empty,
  SetupAckResponse: empty,
  ErrorResponse: empty,
};

/**
 * Wire type name → message type. Receivers choose how to decode by `metadata.type` alone, so
 * every type either side may see must be here. Business types (config, naming) are added with
 * {@link MessageRegistry.register}, or {@link MessageRegistry.defineRequest} /
 * {@link MessageRegistry.defineResponse} for a name alone.
 */
export class MessageRegistry {
  private readonly types = new Map<string, MessageTypeInfo>();

  /** A registry holding every connection-layer type of spec section 2. */
  static connectionLayer(): MessageRegistry {
    const registry = new MessageRegistry();
    for (const [type, parseBody] of Object.entries(CONNECTION_LAYER_REQUESTS)) {
      registry.types.set(type, { kind: 'request', module: INTERNAL_MODULE, parseBody });
    }
    for (const [type, parseBody] of Object.entries(CONNECTION_LAYER_RESPONSES)) {
      registry.types.set(type, { kind: 'response', module: INTERNAL_MODULE, parseBody });
    }
    return registry;
  }

  /**
   * Adds message types. Defining a type again with the same kind replaces it.
   * @throws Error when a name is already registered as the other kind (Nacos: a duplicate name is fatal).
   */
  register(...definitions: readonly MessageTypeDefinition[]): this {
    for (const definition of definitions) {
      const existing = this.types.get(definition.type);
      if (existing !== undefined && existing.kind !== definition.kind) {
        throw new Error(`message type ${definition.type} is already registered as a ${existing.kind}`);
      }
    }
    for (const definition of definitions) {
      this.types.set(definition.type, {
        kind: definition.kind,
        module: definition.kind === 'request' ? definition.module : INTERNAL_MODULE,
        // Messages carry bodies as JsonObject; a definition's `is` gives callers its own body type back.
        parseBody: definition.parseBody as BodyParser,
      });
    }
    return this;
  }

  /** Adds a request type; without a parser every non-base key of the body is kept. */
  defineRequest(type: string, options: { module?: string; parseBody?: BodyParser } = {}): this {
    return this.register(defineRequestType(type, options));
  }

  /** Adds a response type; without a parser every non-base key of the body is kept. */
  defineResponse(type: string, options: { parseBody?: BodyParser } = {}): this {
    return this.register(defineResponseType(type, options));
  }

  has(type: string): boolean {
    return this.types.has(type);
  }

  /** @throws UnknownPayloadTypeError when the type is not registered. */
  get(type: string): MessageTypeInfo {
    const info = this.types.get(type);
    if (info === undefined) throw new UnknownPayloadTypeError(type);
    return info;
  }
}
