import { requireOtherMember, requireTrustedMember as requireMember, type KnownMembers } from '../../cluster/member-messages.js';
import { InvalidBodyError, response, type ResponseMessage } from '../../protocol/index.js';
import type { RequestHandler, RequestMeta } from '../../server/handlers/index.js';
import type { NamingState } from '../naming-state.js';
import { NamingSnapshotAskRequest, NamingSyncRequest, NamingVerifyRequest } from './messages.js';

/** Who the members are, as the handlers check a sender's claim. */
export type SyncMembers = KnownMembers;

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
      const { member, snapshot, owned = [], clients, deleted, moved = [], formerClients = [], last } = request.body;
      const movedFor = new Map(moved.map((m) => [m.clientId, m.heldForMs]));
      if (snapshot) state.replaceMemberClients(member, owned, clients, movedFor);
      else for (const client of clients) state.applyRemote(member, client);
      // An id in `moved` only counts where the body also says it is gone.
      for (const clientId of deleted) state.removeRemote(member, clientId, movedFor.get(clientId));
      state.holdFormerClients(member, formerClients);
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
