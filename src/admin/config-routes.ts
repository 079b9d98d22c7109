import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CasMismatchError, ConfigErrorCode, ConfigStoreUnavailableError, InvalidConfigParamError } from '../config/errors.js';
import type { ConfigService } from '../config/service.js';
import type { HistorySummary } from '../config/store/types.js';
import { NacosRemoteError } from '../protocol/index.js';
import { BadParameterError, NotFoundError } from './errors.js';
import { integer, optionalString, single, type Query } from './params.js';
import { v2Success } from './v2-result.js';

/** Nacos's v2 `Result` codes (`api/model/v2/ErrorCode`) the config routes answer with. */
const ResultCode = { PARAMETER_MISSING: 10000, PARAMETER_VALIDATE_ERROR: 20002, RESOURCE_NOT_FOUND: 20004, RESOURCE_CONFLICT: 20005, SERVER_ERROR: 30000 } as const;

export interface ConfigRoutesContext {
  readonly config: ConfigService;
  /** Largest content in UTF-8 bytes; request bodies may be about twice that (form encoding). */
  readonly maxContentBytes: number;
}

/** A parameter from the query string or a form body (Nacos's @RequestParam reads both). */
function params(request: FastifyRequest): Query {
  const body = request.body;
  const form = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Query) : {};
  return { ...(request.query as Query), ...form };
}

function required(query: Query, name: string): string {
  const value = single(query, name);
  if (value === undefined) throw new BadParameterError(name, 'is required');
  return value;
}

function keyOf(query: Query, tenantParam: 'namespaceId' | 'tenant') {
  return { dataId: required(query, 'dataId'), group: required(query, 'group'), tenant: single(query, tenantParam) ?? '', tag: optionalString(query, 'tag') };
}

/** Nacos's ConfigHistoryInfo as JSON (times as epoch ms, as Jackson writes a Timestamp). */
function historyJson(entry: HistorySummary & { content?: string; md5?: string; encryptedDataKey?: string }): Record<string, unknown> {
  return {
    id: entry.nid,
    lastId: -1,
    dataId: entry.dataId,
    group: entry.group,
    tenant: entry.tenant,
    appName: entry.appName ?? '',
    srcIp: entry.srcIp ?? '',
    srcUser: entry.srcUser ?? null,
    opType: entry.opType,
    createdTime: entry.createdAt,
    lastModifiedTime: entry.modifiedAt,
    ...(entry.content === undefined ? {} : { content: entry.content, md5: entry.md5, encryptedDataKey: entry.encryptedDataKey }),
  };
}

/** The v2 failure body and status for a config error; undefined for errors the global handler maps. */
function v2Failure(error: unknown): { status: number; body: Record<string, unknown> } | undefined {
  if (error instanceof NotFoundError) return { status: 404, body: { code: ResultCode.RESOURCE_NOT_FOUND, message: 'resource not found', data: error.message } };
  if (error instanceof BadParameterError) return { status: 400, body: { code: ResultCode.PARAMETER_MISSING, message: 'parameter missing', data: error.message } };
  if (error instanceof InvalidConfigParamError) return { status: 400, body: { code: ResultCode.PARAMETER_VALIDATE_ERROR, message: 'parameter validate error', data: error.message } };
  // Nacos answers 500 here; a lost race is the caller's to retry, not a server fault.
  if (error instanceof CasMismatchError) return { status: 409, body: { code: ResultCode.RESOURCE_CONFLICT, message: 'resource conflict', data: error.message } };
  // The shared database is away: the caller may retry, as with any 503.
  if (error instanceof ConfigStoreUnavailableError) return { status: 503, body: { code: ResultCode.SERVER_ERROR, message: 'config database unavailable', data: error.message } };
  if (error instanceof NacosRemoteError && error.errorCode === ConfigErrorCode.NOT_SUPPORTED) {
    return { status: 501, body: { code: ResultCode.SERVER_ERROR, message: 'not supported', data: error.message } };
  }
  return undefined;
}

/** Runs a v2 route: `{code: 0, message: "success", data}`, or a config failure in the same shape. */
async function v2(reply: FastifyReply, run: () => Promise<unknown>): Promise<FastifyReply> {
  try {
    return reply.send(v2Success(await run()));
  } catch (error) {
    const failure = v2Failure(error);
    if (failure === undefined) throw error;
    return reply.code(failure.status).send(failure.body);
  }
}

/** Runs a v1 route: Nacos v1 answers plain text. */
async function v1(reply: FastifyReply, run: () => Promise<FastifyReply>): Promise<FastifyReply> {
  try {
    return await run();
  } catch (error) {
    const failure = v2Failure(error);
    if (failure === undefined) throw error;
    return reply.code(failure.status).type('text/plain').send(String(failure.body['data']));
  }
}

const CONFIG_NOT_FOUND = 'config data not exist';
const MAX_HISTORY_PAGE_SIZE = 500;

/**
 * Nacos's config open API on the main port: v2 `/nacos/v2/cs/config` (GET, POST, DELETE), the v1
 * `/nacos/v1/cs/configs` forms, and v2 history. Each route declares its access for the admin
 * access rule: reads as reads, POST and DELETE as writes.
 */
export function registerConfigRoutes(root: FastifyInstance, context: ConfigRoutesContext): void {
  const { config } = context;
  const bodyLimit = 2 * context.maxContentBytes + 64 * 1024;
  const read = { config: { access: 'read' as const } };
  const write = { config: { access: 'write' as const }, bodyLimit };
  // In a scope of their own, so the form parser and its body limit apply to these routes only.
  void root.register(async (app) => {
    // Nacos's v1 config API (and Java's HTTP agent) posts forms.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });

    app.get('/nacos/v2/cs/config', read, async (request, reply) => {
      const query = params(request);
      return v2(reply, async () => {
        const record = await config.query(keyOf(query, 'namespaceId'));
        if (record === undefined) throw new NotFoundError(CONFIG_NOT_FOUND);
        return record.content;
      });
    });

    app.post('/nacos/v2/cs/config', write, async (request, reply) => {
      const query = params(request);
      return v2(reply, async () => {
        await config.publish(publishParams(query, 'namespaceId', request));
        return true;
      });
    });

    app.delete('/nacos/v2/cs/config', write, async (request, reply) => {
      const query = params(request);
      return v2(reply, async () => {
        await config.remove({ ...keyOf(query, 'namespaceId'), srcIp: request.ip });
        return true;
      });
    });

    app.get('/nacos/v1/cs/configs', read, async (request, reply) => {
      const query = params(request);
      return v1(reply, async () => {
        const record = await config.query(keyOf(query, 'tenant'));
        if (record === undefined) return reply.code(404).type('text/plain').send(CONFIG_NOT_FOUND);
        return reply
          .type('text/plain; charset=utf-8')
          .header('Content-MD5', record.md5)
          .header('Config-Type', record.type ?? 'text')
          .header('Last-Modified', String(record.modifiedAt))
          .send(record.content);
      });
    });

    app.post('/nacos/v1/cs/configs', write, async (request, reply) => {
      const query = params(request);
      return v1(reply, async () => {
        await config.publish(publishParams(query, 'tenant', request));
        return reply.type('application/json').send(true);
      });
    });

    app.delete('/nacos/v1/cs/configs', write, async (request, reply) => {
      const query = params(request);
      return v1(reply, async () => {
        await config.remove({ ...keyOf(query, 'tenant'), srcIp: request.ip });
        return reply.type('application/json').send(true);
      });
    });

    app.get('/nacos/v2/cs/history/list', read, async (request, reply) => {
      const query = params(request);
      return v2(reply, async () => {
        const key = keyOf(query, 'namespaceId');
        const pageSize = integer(query, 'pageSize', { min: 1, max: MAX_HISTORY_PAGE_SIZE }) ?? 100;
        // The store's offset must stay a safe integer: past that SQLite refuses it (a 500).
        const pageNo = integer(query, 'pageNo', { min: 1, max: Math.floor(Number.MAX_SAFE_INTEGER / MAX_HISTORY_PAGE_SIZE) }) ?? 1;
        const page = await config.history(key, { offset: (pageNo - 1) * pageSize, limit: pageSize });
        return { totalCount: page.total, pageNumber: pageNo, pagesAvailable: Math.ceil(page.total / pageSize), pageItems: page.items.map(historyJson) };
      });
    });

    app.get('/nacos/v2/cs/history', read, async (request, reply) => {
      const query = params(request);
      return v2(reply, async () => {
        const key = keyOf(query, 'namespaceId');
        const nid = integer(query, 'nid', { required: true, min: 1 });
        const entry = await config.historyEntry(key, nid);
        if (entry === undefined) throw new NotFoundError(`no history ${nid} of this config`);
        return historyJson(entry);
      });
    });
  });
}

function publishParams(query: Query, tenantParam: 'namespaceId' | 'tenant', request: FastifyRequest) {
  return {
    ...keyOf(query, tenantParam),
    content: single(query, 'content'),
    casMd5: optionalString(query, 'casMd5'),
    appName: optionalString(query, 'appName'),
    type: optionalString(query, 'type'),
    desc: optionalString(query, 'desc'),
    use: optionalString(query, 'use'),
    effect: optionalString(query, 'effect'),
    schema: optionalString(query, 'schema'),
    encryptedDataKey: optionalString(query, 'encryptedDataKey'),
    betaIps: single(request.headers as Query, 'betaips') ?? optionalString(query, 'betaIps'),
    srcUser: optionalString(query, 'srcUser'),
    srcIp: request.ip,
  };
}
