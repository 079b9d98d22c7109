import { InvalidBodyError, NoRightError, response, type ResponseMessage } from '../../protocol/index.js';
import type { RequestHandler, RequestMeta } from '../../server/handlers/index.js';
import type { NamingState } from '../naming-state.js';
import { NamingSnapshotAskRequest, NamingSyncRequest, NamingVerifyRequest } from './messages.js';

/** Sync data changes what every subscriber is shown, so only a trusted member may send it (decision 10.11). */
function requireMember(meta: RequestMeta, type: string): void {
  if (!meta.connection.meta.trustedCluster) throw new NoRightError(`${type} is accepted from cluster members only`);
}

/** Who the members are, as the handlers check a sender's claim. */
export interface SyncMembers {
  /** This member's id. */
  readonly self: string;
  /** Ids of the other members now (none when standalone). */
  others(): readonly string[];
}

/**
 * A body speaks for one of the other members only: data owned by this member's id would be taken
 * for clients of its own connections (synced out again, never released when a connection ends),
 * and data of a member not listed would sit here until it expired.
 */
function requireOtherMember(member: string, members: SyncMembers, type: string): void {
  if (member === members.self) throw new NoRightError(`${type} names this member's own id '${member}' as its sender`);
  if (!members.others().includes(member)) throw new NoRightError(`${type} names '${member}' as its sender, not a member of this cluster`);
}

/**
 * The receiving end of NamingSync: one handler per sync request type. `snapshotAsked` is told of a
 * member that asks for this member's snapshot (NamingSync sends it, in order with its other messages).
 */
export function namingSyncHandlers(
  state: NamingState,
  members: SyncMembers,
  snapshotAsked: (member: string) => void,
  snapshotReceived: (member: string) => void = () => undefined,
): Record<string, RequestHandler> {
  return {
    [NamingSyncRequest.type]: (request, meta): ResponseMessage => {
      requireMember(meta, request.type);
      if (!NamingSyncRequest.is(request)) throw new InvalidBodyError('Invalid request');
      requireOtherMember(request.body.member, members, request.type);
      const { member, snapshot, owned = [], clients, deleted, last } = request.body;
      if (snapshot) state.replaceMemberClients(member, owned, clients);
      else for (const client of clients) state.applyRemote(member, client);
      for (const clientId of deleted) state.removeRemote(member, clientId);
      // Told at a snapshot's last message; an older member's first message (no `last`) is a whole one.
      if (snapshot ? last !== false : last === true) snapshotReceived(member);
      return response('NamingSyncResponse');
    },
    [NamingVerifyRequest.type]: (request, meta): ResponseMessage => {
      requireMember(meta, request.type);
      if (!NamingVerifyRequest.is(request)) throw new InvalidBodyError('Invalid request');
      requireOtherMember(request.body.member, members, request.type);
      const { member, clients } = request.body;
      const mismatched = clients.filter((c) => !state.verifyRemote(member, c.clientId, c.revision)).map((c) => c.clientId);
      return response('NamingVerifyResponse', { mismatched });
    },
    [NamingSnapshotAskRequest.type]: (request, meta): ResponseMessage => {
      requireMember(meta, request.type);
      if (!NamingSnapshotAskRequest.is(request)) throw new InvalidBodyError('Invalid request');
      requireOtherMember(request.body.member, members, request.type);
      snapshotAsked(request.body.member);
      return response('NamingSyncResponse');
    },
  };
}
