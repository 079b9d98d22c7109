/**
 * The naming module's wire types (docs/naming.md): request bodies as parsed from JSON, and the
 * registry definitions that let a node decode them and encode its answers and pushes.
 */
import { InvalidBodyError, type JsonObject, type MessageRegistry, type RequestMessage, type ResponseMessage } from '../protocol/index.js';
import type { ServiceInfoJson } from './model.js';

/** `module` of every naming request and push. */
export const NAMING_MODULE = 'naming';

/** `InstanceRequest.type` / `BatchInstanceRequest.type` values (Nacos `NamingRemoteConstants`). */
export const InstanceOperation = {
  REGISTER: 'registerInstance',
  DEREGISTER: 'deregisterInstance',
  BATCH_REGISTER: 'batchRegisterInstance',
} as const;

/** An `Instance` as a client sent it: each field may be absent; shapes are checked, values are not. */
export interface InstanceInput {
  readonly instanceId?: string;
  readonly ip?: string;
  readonly port?: number;
  readonly weight?: number;
  readonly healthy?: boolean;
  readonly enabled?: boolean;
  readonly clusterName?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** `AbstractNamingRequest`'s fields, on every naming request. */
export interface NamingRequestBody {
  readonly namespace?: string;
  readonly serviceName?: string;
  readonly groupName?: string;
}

export interface NamingRequestBodies {
  InstanceRequest: NamingRequestBody & { readonly type?: string; readonly instance?: InstanceInput };
  BatchInstanceRequest: NamingRequestBody & { readonly type?: string; readonly instances?: readonly InstanceInput[] };
  ServiceQueryRequest: NamingRequestBody & { readonly cluster?: string; readonly healthyOnly: boolean; readonly udpPort: number };
  SubscribeServiceRequest: NamingRequestBody & { readonly subscribe: boolean; readonly clusters?: string };
  ServiceListRequest: NamingRequestBody & { readonly pageNo: number; readonly pageSize: number; readonly selector?: string };
}

export type NamingRequestType = keyof NamingRequestBodies;

/** Reads typed fields out of a JSON object, naming the field's path when one has the wrong shape. */
class FieldReader {
  constructor(
    private readonly json: JsonObject,
    private readonly path: string,
  ) {}

  private present(key: string): unknown {
    const value = this.json[key];
    return value === null ? undefined : value;
  }

  private bad(key: string, what: string): InvalidBodyError {
    return new InvalidBodyError(`field '${this.path}${key}' must be ${what}`);
  }

  string(key: string): string | undefined {
    const value = this.present(key);
    if (value === undefined || typeof value === 'string') return value;
    // Jackson coerces scalars into String fields.
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw this.bad(key, 'a string');
  }

  number(key: string): number | undefined {
    const value = this.present(key);
    if (value === undefined) return undefined;
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw this.bad(key, 'a number');
    return n;
  }

  int(key: string): number | undefined {
    const n = this.number(key);
    if (n !== undefined && !Number.isInteger(n)) throw this.bad(key, 'an integer');
    return n;
  }

  boolean(key: string): boolean | undefined {
    const value = this.present(key);
    if (value === undefined || typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    throw this.bad(key, 'a boolean');
  }

  stringMap(key: string): Record<string, string> | undefined {
    const value = this.object(key);
    if (value === undefined) return undefined;
    // fromEntries keeps a key such as "__proto__" as plain data.
    return Object.fromEntries(
      Object.keys(value)
        .map((k) => [k, new FieldReader(value, `${this.path}${key}.`).string(k)] as const)
        .filter((entry): entry is readonly [string, string] => entry[1] !== undefined),
    );
  }

  object(key: string): JsonObject | undefined {
    const value = this.present(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) throw this.bad(key, 'an object');
    return value as JsonObject;
  }

  objects(key: string): JsonObject[] | undefined {
    const value = this.present(key);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) throw this.bad(key, 'an array');
    return value.map((item: unknown, i) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) throw this.bad(`${key}[${i}]`, 'an object');
      return item as JsonObject;
    });
  }
}

/** Builds a body from the given fields, dropping absent ones (Jackson's NON_NULL). */
function compact<T>(fields: T): T {
  return Object.fromEntries(Object.entries(fields as object).filter(([, value]) => value !== undefined)) as T;
}

function parseNames(fields: FieldReader): NamingRequestBody {
  return { namespace: fields.string('namespace'), serviceName: fields.string('serviceName'), groupName: fields.string('groupName') };
}

function parseInstance(json: JsonObject, path: string): InstanceInput {
  const fields = new FieldReader(json, path);
  // `ephemeral` and `serviceName` are read by nobody: over gRPC every instance is ephemeral and
  // the request names the service.
  return compact({
    instanceId: fields.string('instanceId'),
    ip: fields.string('ip'),
    port: fields.int('port'),
    weight: fields.number('weight'),
    healthy: fields.boolean('healthy'),
    enabled: fields.boolean('enabled'),
    clusterName: fields.string('clusterName'),
    metadata: fields.stringMap('metadata'),
  });
}

const NAMING_REQUEST_PARSERS: { [T in NamingRequestType]: (json: JsonObject) => NamingRequestBodies[T] } = {
  InstanceRequest: (json) => {
    const fields = new FieldReader(json, '');
    const instance = fields.object('instance');
    return compact({ ...parseNames(fields), type: fields.string('type'), instance: instance && parseInstance(instance, 'instance.') });
  },
  BatchInstanceRequest: (json) => {
    const fields = new FieldReader(json, '');
    const instances = fields.objects('instances')?.map((item, i) => parseInstance(item, `instances[${i}].`));
    return compact({ ...parseNames(fields), type: fields.string('type'), instances });
  },
  ServiceQueryRequest: (json) => {
    const fields = new FieldReader(json, '');
    return compact({
      ...parseNames(fields),
      cluster: fields.string('cluster'),
      healthyOnly: fields.boolean('healthyOnly') ?? false,
      udpPort: fields.int('udpPort') ?? 0,
    });
  },
  SubscribeServiceRequest: (json) => {
    const fields = new FieldReader(json, '');
    return compact({ ...parseNames(fields), subscribe: fields.boolean('subscribe') ?? false, clusters: fields.string('clusters') });
  },
  ServiceListRequest: (json) => {
    const fields = new FieldReader(json, '');
    return compact({
      ...parseNames(fields),
      pageNo: fields.int('pageNo') ?? 0,
      pageSize: fields.int('pageSize') ?? 0,
      selector: fields.string('selector'),
    });
  },
};

/** The answers and the push acknowledgement; answers are only encoded here, so any key is kept. */
const NAMING_RESPONSE_TYPES = [
  'InstanceResponse',
  'BatchInstanceResponse',
  'QueryServiceResponse',
  'SubscribeServiceResponse',
  'ServiceListResponse',
  'NotifySubscriberResponse',
] as const;

/** Adds the naming request, push and response types to a node's registry. */
export function defineNamingTypes(registry: MessageRegistry): void {
  for (const [type, parseBody] of Object.entries(NAMING_REQUEST_PARSERS)) {
    registry.defineRequest(type, { module: NAMING_MODULE, parseBody: parseBody as (json: JsonObject) => JsonObject });
  }
  registry.defineRequest('NotifySubscriberRequest', { module: NAMING_MODULE });
  for (const type of NAMING_RESPONSE_TYPES) registry.defineResponse(type);
}

/** The request's body, typed by its wire type (the registry parsed it with that type's parser). */
export function namingBody<T extends NamingRequestType>(request: RequestMessage, type: T): NamingRequestBodies[T] {
  if (request.type !== type) throw new InvalidBodyError('Invalid request');
  return request.body as unknown as NamingRequestBodies[T];
}

/** A successful naming answer. */
export function namingResponse(type: (typeof NAMING_RESPONSE_TYPES)[number], body: JsonObject = {}, message?: string): ResponseMessage {
  return { kind: 'response', type, resultCode: 200, errorCode: 0, ...(message === undefined ? {} : { message }), body };
}

/** The push a subscriber gets when its service changes: only `serviceInfo` is set, as Nacos. */
export function notifySubscriberRequest(serviceInfo: ServiceInfoJson): RequestMessage<'NotifySubscriberRequest', { readonly serviceInfo: ServiceInfoJson }> {
  return { kind: 'request', type: 'NotifySubscriberRequest', headers: {}, body: { serviceInfo } };
}
