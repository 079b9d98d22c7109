/**
 * What the services' member-to-member messages share (naming sync, config announcements): how a
 * member reaches the others, the trust rule a receiver applies, and zod body parsing.
 */
import type { z } from 'zod';
import { InvalidBodyError, NoRightError, type JsonObject, type RequestMessage, type ResponseMessage, type ResponseTypeDefinition } from '../protocol/index.js';
import type { RequestMeta } from '../server/handlers/index.js';

/**
 * Why the link to a member is down: `refused` (its port refused a connect: it is not running),
 * `left` (it was removed from the members), `no-client` (no client could be made for it, so it
 * cannot be asked anything), or the uncertain ones, which can befall a running member under load
 * or on a network blip: `lost` (its stream ended), `unreachable` (a connect that failed otherwise,
 * such as a timeout) and `unhealthy` (health checks failed).
 */
export type MemberDownReason = 'refused' | 'lost' | 'left' | 'no-client' | 'unreachable' | 'unhealthy';

/**
 * The certain down reasons: nothing can come over a link to the member (it is not running, is no
 * longer a member, or there is no client to it) until it is up again, so waiting on it is futile.
 */
export const CERTAIN_DOWN_REASONS: ReadonlySet<MemberDownReason> = new Set(['refused', 'left', 'no-client']);

/** How a service reaches the other members over their cluster clients. */
export interface MemberPeers {
  /** Ids (`ip:port`) of the other members now. */
  others(): readonly string[];
  /** Sends a request over the member's cluster client. @throws when it is not connected or fails */
  request<T extends string, B extends object>(
    member: string,
    message: RequestMessage,
    options: { readonly timeoutMs: number; readonly expect: ResponseTypeDefinition<T, B> },
  ): Promise<ResponseMessage<T, B>>;
  /** Calls back each time the link to a member comes up (at start, and when it returns); returns a remover. */
  onMemberUp(listener: (member: string) => void): () => void;
  /** Calls back each time the link to a member is lost, with why; returns a remover. */
  onMemberDown?(listener: (member: string, reason: MemberDownReason) => void): () => void;
  /** The member reached this one on its own link: a link to it backing off reconnects at once. */
  heardFrom?(member: string): void;
}

/** Who the members are, as a receiver checks a sender's claim. */
export interface KnownMembers {
  /** This member's id. */
  readonly self: string;
  /** Ids of the other members now (none when standalone). */
  others(): readonly string[];
}

/** Member messages change what clients are shown, so only a trusted member may send them (decision 10.11). */
export function requireTrustedMember(meta: RequestMeta, type: string): void {
  if (!meta.connection.meta.trustedCluster) throw new NoRightError(`${type} is accepted from cluster members only`);
}

/**
 * A body speaks for one of the other members only: data owned by this member's own id would be
 * taken for data of its own clients (synced out again, never released when a connection ends),
 * and data of a member not listed would sit here until it expired.
 */
export function requireOtherMember(member: string, members: KnownMembers, type: string): void {
  if (member === members.self) throw new NoRightError(`${type} names this member's own id '${member}' as its sender`);
  if (!members.others().includes(member)) throw new NoRightError(`${type} names '${member}' as its sender, not a member of this cluster`);
}

/** A body parser that answers InvalidBodyError naming the first bad field. */
export function bodyParser<S extends z.ZodType>(schema: S): (json: JsonObject) => z.infer<S> {
  return (json) => {
    const result = schema.safeParse(json);
    if (result.success) return result.data;
    const issue = result.error.issues[0];
    throw new InvalidBodyError(`field '${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'invalid'}`);
  };
}
