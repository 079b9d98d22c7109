/**
 * What a naming client has registered and subscribed, kept so that it can be done again on a new
 * connection: Java 2.2.4's `NamingGrpcRedoService` and `RedoData`, one entry per key.
 */

/** What redo must do for an entry now (Java's `RedoData.RedoType`). */
export const RedoAction = {
  NONE: 'none',
  REGISTER: 'register',
  UNREGISTER: 'unregister',
  /** The entry is done with: deregistered on purpose, or never to be registered again. */
  REMOVE: 'remove',
} as const;
export type RedoAction = (typeof RedoAction)[keyof typeof RedoAction];

/** One registration or subscription and where it stands on the server. */
export interface RedoEntry<T> {
  readonly key: string;
  readonly data: T;
  /** The server holds it on the current connection. */
  readonly registered: boolean;
  /** A deregister (or unsubscribe) has been asked for or sent. */
  readonly unregistering: boolean;
  /** What the application wants: false once it deregistered. */
  readonly expectedRegistered: boolean;
}

interface MutableEntry<T> {
  key: string;
  data: T;
  registered: boolean;
  unregistering: boolean;
  expectedRegistered: boolean;
}

/**
 * Java's `RedoData.getRedoType`. A deregister that races a redo is settled by `expectedRegistered`:
 * if the redo's register lands after the application deregistered, the entry reads UNREGISTER
 * and the next redo deregisters it again.
 */
export function redoAction(entry: RedoEntry<unknown>): RedoAction {
  if (entry.registered && !entry.unregistering) return entry.expectedRegistered ? RedoAction.NONE : RedoAction.UNREGISTER;
  if (entry.registered) return RedoAction.UNREGISTER;
  if (!entry.unregistering) return RedoAction.REGISTER;
  return entry.expectedRegistered ? RedoAction.REGISTER : RedoAction.REMOVE;
}

/** Entries of one kind (instances, or subscriptions), by key. */
export class RedoEntries<T> {
  private readonly entries = new Map<string, MutableEntry<T>>();

  /** Before the first request: the application wants `data` registered under `key`. */
  cache(key: string, data: T): void {
    this.entries.set(key, { key, data, registered: false, unregistering: false, expectedRegistered: true });
  }

  /** The server accepted a register (or subscribe). */
  registered(key: string): void {
    this.update(key, { registered: true, unregistering: false });
  }

  /** The application deregisters: from now on the entry is not wanted, whatever a redo does. */
  deregister(key: string): void {
    this.update(key, { unregistering: true, expectedRegistered: false });
  }

  /** The server accepted a deregister (or unsubscribe). */
  deregistered(key: string): void {
    this.update(key, { registered: false, unregistering: true });
  }

  /** Drops the entry unless the application wants it again (it registered anew meanwhile). */
  remove(key: string): void {
    if (this.entries.get(key)?.expectedRegistered === false) this.entries.delete(key);
  }

  /** The connection is gone: nothing is registered on the server any more. */
  markUnregistered(): void {
    for (const entry of this.entries.values()) entry.registered = false;
  }

  get(key: string): RedoEntry<T> | undefined {
    return this.entries.get(key);
  }

  /** Wanted and held by the server right now. */
  isRegistered(key: string): boolean {
    const entry = this.entries.get(key);
    return entry !== undefined && entry.registered && entry.expectedRegistered;
  }

  /** Entries with something to do, and what (a snapshot: redo awaits between them). */
  pending(): { readonly entry: RedoEntry<T>; readonly action: RedoAction }[] {
    return [...this.entries.values()]
      .map((entry) => ({ entry: { ...entry }, action: redoAction(entry) }))
      .filter(({ action }) => action !== RedoAction.NONE);
  }

  clear(): void {
    this.entries.clear();
  }

  private update(key: string, flags: Partial<Pick<MutableEntry<T>, 'registered' | 'unregistering' | 'expectedRegistered'>>): void {
    const entry = this.entries.get(key);
    if (entry !== undefined) Object.assign(entry, flags);
  }
}
