/**
 * Naming's message types (docs/naming.md) and their parsers: request bodies as a server reads
 * them, answers and pushes as a client reads them.
 */
import { InvalidBodyError } from '../errors.js';
import { compact, FieldReader } from '../fields.js';
import type { JsonObject, RequestMessage, ResponseMessage } from '../messages.js';
import { defineRequestType, defineResponseType } from '../message-types.js';
import type { MessageRegistry } from '../registry.js';
import { DEFAULT_CLUSTER, NAMING_MODULE, type InstanceInput, type InstanceJson, type NamingRequestBodies, type NamingRequestBody, type NamingRequestType, type ServiceInfoJson } from './wire.js';

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

function parseInstanceJson(json: JsonObject, path: string): InstanceJson {
  const fields = new FieldReader(json, path);
  const instanceId = fields.string('instanceId');
  const generator = fields.string('instanceIdGenerator');
  // Defaults are Instance's own, so a server that leaves a field out (r-nacos) reads as Nacos.
  return {
    ...(instanceId === undefined ? {} : { instanceId }),
    ip: fields.string('ip') ?? '',
    port: fields.int('port') ?? 0,
    weight: fields.number('weight') ?? 1,
    healthy: fields.boolean('healthy') ?? true,
    enabled: fields.boolean('enabled') ?? true,
    ephemeral: fields.boolean('ephemeral') ?? true,
    clusterName: fields.string('clusterName') ?? DEFAULT_CLUSTER,
    serviceName: fields.string('serviceName') ?? '',
    metadata: fields.stringMap('metadata') ?? {},
    instanceHeartBeatInterval: fields.int('instanceHeartBeatInterval') ?? 5000,
    instanceHeartBeatTimeOut: fields.int('instanceHeartBeatTimeOut') ?? 15_000,
    ipDeleteTimeout: fields.int('ipDeleteTimeout') ?? 30_000,
    ...(generator === undefined ? {} : { instanceIdGenerator: generator }),
  };
}

/** A `ServiceInfo` as a client reads it from an answer or a push. @throws InvalidBodyError */
function parseServiceInfo(json: JsonObject, path = 'serviceInfo.'): ServiceInfoJson {
  const fields = new FieldReader(json, path);
  const clusters = fields.string('clusters');
  return {
    name: fields.string('name') ?? '',
    groupName: fields.string('groupName') ?? '',
    ...(clusters === undefined ? {} : { clusters }),
    cacheMillis: fields.int('cacheMillis') ?? 1000,
    hosts: (fields.objects('hosts') ?? []).map((host, i) => parseInstanceJson(host, `${path}hosts[${i}].`)),
    lastRefTime: fields.int('lastRefTime') ?? 0,
    checksum: fields.string('checksum') ?? '',
    allIPs: fields.boolean('allIPs') ?? false,
    reachProtectionThreshold: fields.boolean('reachProtectionThreshold') ?? false,
    valid: fields.boolean('valid') ?? true,
  };
}

function serviceInfoBody(json: JsonObject): { readonly serviceInfo: ServiceInfoJson } {
  const serviceInfo = new FieldReader(json, '').object('serviceInfo');
  if (serviceInfo === undefined) throw new InvalidBodyError("field 'serviceInfo' is required");
  return { serviceInfo: parseServiceInfo(serviceInfo) };
}

function operationBody(json: JsonObject): { readonly type?: string } {
  return compact({ type: new FieldReader(json, '').string('type') });
}

/**
 * Naming's message types, for both sides: the server decodes the requests with these parsers,
 * the client decodes the answers and the push with theirs.
 */
export const NamingMessages = {
  InstanceRequest: defineRequestType('InstanceRequest', { module: NAMING_MODULE, parseBody: NAMING_REQUEST_PARSERS.InstanceRequest }),
  BatchInstanceRequest: defineRequestType('BatchInstanceRequest', { module: NAMING_MODULE, parseBody: NAMING_REQUEST_PARSERS.BatchInstanceRequest }),
  ServiceQueryRequest: defineRequestType('ServiceQueryRequest', { module: NAMING_MODULE, parseBody: NAMING_REQUEST_PARSERS.ServiceQueryRequest }),
  SubscribeServiceRequest: defineRequestType('SubscribeServiceRequest', {
    module: NAMING_MODULE,
    parseBody: NAMING_REQUEST_PARSERS.SubscribeServiceRequest,
  }),
  ServiceListRequest: defineRequestType('ServiceListRequest', { module: NAMING_MODULE, parseBody: NAMING_REQUEST_PARSERS.ServiceListRequest }),
  NotifySubscriberRequest: defineRequestType('NotifySubscriberRequest', { module: NAMING_MODULE, parseBody: serviceInfoBody }),
  InstanceResponse: defineResponseType('InstanceResponse', { parseBody: operationBody }),
  BatchInstanceResponse: defineResponseType('BatchInstanceResponse', { parseBody: operationBody }),
  QueryServiceResponse: defineResponseType('QueryServiceResponse', { parseBody: serviceInfoBody }),
  SubscribeServiceResponse: defineResponseType('SubscribeServiceResponse', { parseBody: serviceInfoBody }),
  ServiceListResponse: defineResponseType('ServiceListResponse', {
    parseBody: (json) => {
      const fields = new FieldReader(json, '');
      const names = json['serviceNames'];
      if (names !== undefined && names !== null && (!Array.isArray(names) || names.some((n) => typeof n !== 'string'))) {
        throw new InvalidBodyError("field 'serviceNames' must be an array of strings");
      }
      return { count: fields.int('count') ?? 0, serviceNames: (names ?? []) as readonly string[] };
    },
  }),
  NotifySubscriberResponse: defineResponseType('NotifySubscriberResponse', { parseBody: () => ({}) }),
} as const;

type NamingResponseType = {
  [K in keyof typeof NamingMessages]: (typeof NamingMessages)[K] extends { readonly kind: 'response' } ? K : never;
}[keyof typeof NamingMessages];

/** Adds the naming request, push and response types to a registry. */
export function defineNamingTypes(registry: MessageRegistry): void {
  registry.register(...Object.values(NamingMessages));
}

/** The request's body, typed by its wire type (the registry parsed it with that type's parser). */
export function namingBody<T extends NamingRequestType>(request: RequestMessage, type: T): NamingRequestBodies[T] {
  if (request.type !== type) throw new InvalidBodyError('Invalid request');
  return request.body as unknown as NamingRequestBodies[T];
}

/** A successful naming answer. */
export function namingResponse(type: NamingResponseType, body: JsonObject = {}, message?: string): ResponseMessage {
  return { kind: 'response', type, resultCode: 200, errorCode: 0, ...(message === undefined ? {} : { message }), body };
}

/**
 * The push a subscriber gets when its service changes: only `serviceInfo` is set, as Nacos. The
 * push engine prepares it once for every subscriber of the same clusters (one encode).
 */
export function notifySubscriberRequest(serviceInfo: ServiceInfoJson): RequestMessage<'NotifySubscriberRequest', { readonly serviceInfo: ServiceInfoJson }> {
  return { kind: 'request', type: 'NotifySubscriberRequest', headers: {}, body: { serviceInfo } };
}
