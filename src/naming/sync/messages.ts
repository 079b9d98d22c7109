/**
 * Our own member-to-member naming messages (docs/naming.md, Across members), sent on the cluster
 * port between members of ours only: not Nacos's Distro wire format.
 */
import { z } from 'zod';
import { bodyParser } from '../../cluster/member-messages.js';
import { defineRequestType, defineResponseType, MAX_TIMER_DELAY_MS, type MessageTypeDefinition } from '../../protocol/index.js';
import type { SyncedClient } from '../naming-state.js';

/** `module` written on the sync requests (receivers ignore it). */
export const NAMING_SYNC_MODULE = 'naming-sync';

const nonBlank = z.string().trim().min(1);

const PublishedInstanceSchema = z.object({
  ip: nonBlank,
  port: z.number().int().min(0).max(65535),
  weight: z.number().min(0),
  healthy: z.boolean(),
  enabled: z.boolean(),
  clusterName: nonBlank,
  metadata: z.record(z.string(), z.string()),
  instanceId: z.string().optional(),
});

const SyncedClientSchema = z.object({
  clientId: nonBlank,
  revision: z.number().int().min(0),
  publications: z.array(
    z.object({
      service: z.object({ namespace: nonBlank, group: nonBlank, name: nonBlank }),
      instances: z.array(PublishedInstanceSchema),
    }),
  ),
  /** The client moved away; its instances are held this much longer (older members ignore the field). */
  heldForMs: z.number().int().min(0).max(MAX_TIMER_DELAY_MS).optional(),
});

const NamingSyncBodySchema = z
  .object({
    /** The sending member's id (`ip:port`): the owner of every client in the message. */
    member: nonBlank,
    /** True: `owned` lists every client the member owns now; any other held for it goes. */
    snapshot: z.boolean(),
    /** In a snapshot only: the ids of every client the member owns now. */
    owned: z.array(nonBlank).optional(),
    /** Clients' data, whole (a snapshot's may come over several messages). */
    clients: z.array(SyncedClientSchema),
    /** Ids of clients the member no longer has. */
    deleted: z.array(nonBlank),
    /**
     * Clients gone from the sender (in `deleted`, or not in a snapshot's `owned`) that had moved
     * and were adopted on the sender before their hold reached the receiver, each with what was
     * left of its hold: the receiver holds their instances that long, at most its own move grace
     * (the adopter's data may not have reached it yet). Older members ignore the field.
     */
    moved: z.array(z.object({ clientId: nonBlank, heldForMs: z.number().int().min(0).max(MAX_TIMER_DELAY_MS) })).optional(),
    /**
     * On a snapshot's messages only: the receiver's own former clients whose instances the sender
     * holds (the receiver went down and came back without them), each with what is left of its
     * hold. The receiver holds them as long, at most its own move grace, so a restarted member lists
     * what the others list until the clients' redo adopts them (docs/naming.md, Member failures).
     * Older members ignore the field.
     */
    formerClients: z.array(SyncedClientSchema.required({ heldForMs: true })).optional(),
    /**
     * On a snapshot's messages only: false while more of it follows, true on its last. Missing on
     * a snapshot's first message (an older member's) means it is whole.
     */
    last: z.boolean().optional(),
  })
  .refine((body) => !body.snapshot || body.owned !== undefined, { path: ['owned'], message: 'a snapshot lists the clients it owns' });

const NamingVerifyBodySchema = z.object({
  member: nonBlank,
  /** Each client the member owns, by id and revision. */
  clients: z.array(z.object({ clientId: nonBlank, revision: z.number().int().min(0) })),
});

const NamingSnapshotAskBodySchema = z.object({
  /** The member that wants a snapshot of the receiver's clients. */
  member: nonBlank,
});

const NamingVerifyResponseBodySchema = z.object({
  /** Clients the receiver does not hold at that revision: the sender sends their data again. */
  mismatched: z.array(z.string()),
});

/** A client that moved and was adopted on its owner, with what was left of the owner's hold. */
export type MovedClient = { readonly clientId: string; readonly heldForMs: number };
export type NamingSyncBody = {
  readonly member: string;
  readonly snapshot: boolean;
  readonly owned?: readonly string[];
  readonly clients: readonly SyncedClient[];
  readonly deleted: readonly string[];
  readonly moved?: readonly MovedClient[];
  readonly formerClients?: readonly SyncedClient[];
  readonly last?: boolean;
};
export type NamingVerifyBody = z.infer<typeof NamingVerifyBodySchema>;
export type NamingSnapshotAskBody = z.infer<typeof NamingSnapshotAskBodySchema>;
export type NamingVerifyResponseBody = z.infer<typeof NamingVerifyResponseBodySchema>;

/** A member's changes, deletes, or its snapshot. */
export const NamingSyncRequest = defineRequestType<'NamingSyncRequest', NamingSyncBody>('NamingSyncRequest', {
  module: NAMING_SYNC_MODULE,
  parseBody: bodyParser(NamingSyncBodySchema),
});
export const NamingSyncResponse = defineResponseType('NamingSyncResponse');
/** A member's clients by id and revision, answered with those the receiver holds otherwise. */
export const NamingVerifyRequest = defineRequestType<'NamingVerifyRequest', NamingVerifyBody>('NamingVerifyRequest', {
  module: NAMING_SYNC_MODULE,
  parseBody: bodyParser(NamingVerifyBodySchema),
});
export const NamingVerifyResponse = defineResponseType<'NamingVerifyResponse', NamingVerifyResponseBody>('NamingVerifyResponse', {
  parseBody: bodyParser(NamingVerifyResponseBodySchema),
});

/** A member whose link to the receiver came up asks for the receiver's snapshot; answered NamingSyncResponse. */
export const NamingSnapshotAskRequest = defineRequestType<'NamingSnapshotAskRequest', NamingSnapshotAskBody>('NamingSnapshotAskRequest', {
  module: NAMING_SYNC_MODULE,
  parseBody: bodyParser(NamingSnapshotAskBodySchema),
});

/** Every sync message type, for the registries of both ends. */
export const NAMING_SYNC_TYPES: readonly MessageTypeDefinition[] = [
  NamingSyncRequest,
  NamingSyncResponse,
  NamingVerifyRequest,
  NamingVerifyResponse,
  NamingSnapshotAskRequest,
];
