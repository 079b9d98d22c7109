/**
 * The config client's local view of the keys it listens to (Java 2.2.4's `CacheData`): the
 * content and md5 last read, whether that md5 is known to match the server's, and each listener's
 * own last md5, so a listener is called once per md5 whatever path (push, reconnect, periodic
 * check) brought the change.
 */
import { ABSENT_MD5, groupKey, md5Hex, type ConfigKey } from '../protocol/config/index.js';

/** What a listener is told: the key and its content now. */
export interface ConfigChangeEvent extends ConfigKey {
  /** The new content; undefined when the config was removed. */
  readonly content: string | undefined;
  /** md5 of the content; `''` when removed. */
  readonly md5: string;
}

/** Called with a key's content each time it changes (once per md5). */
export type ConfigListener = (event: ConfigChangeEvent) => void;

/** One listened key. */
export interface ConfigEntry {
  readonly key: ConfigKey;
  content: string | undefined;
  md5: string;
  /** The server confirmed this md5 on the current connection (Java `isSyncWithServer`). */
  synced: boolean;
  /** Each listener with the md5 it was last called with (or added at). */
  readonly listeners: Map<ConfigListener, string>;
}

export class ConfigCache {
  private readonly entries = new Map<string, ConfigEntry>();

  constructor(private readonly onListenerError: (error: unknown, key: ConfigKey) => void) {}

  get(key: ConfigKey): ConfigEntry | undefined {
    return this.entries.get(groupKey(key));
  }

  all(): IterableIterator<ConfigEntry> {
    return this.entries.values();
  }

  /**
   * Adds a listener to a key, making the entry with `initial` content (a snapshot, or none) when
   * the key is new. The listener starts at the entry's md5: it is called for the next content
   * that differs. Returns the entry.
   */
  addListener(key: ConfigKey, listener: ConfigListener, initial: string | undefined): ConfigEntry {
    const id = groupKey(key);
    let entry = this.entries.get(id);
    if (entry === undefined) {
      entry = { key, content: initial, md5: initial === undefined ? ABSENT_MD5 : md5Hex(initial), synced: false, listeners: new Map() };
      this.entries.set(id, entry);
    }
    if (!entry.listeners.has(listener)) entry.listeners.set(listener, entry.md5);
    return entry;
  }

  /** Removes a listener; the key's entry goes with its last listener. Returns whether the entry is gone. */
  removeListener(key: ConfigKey, listener: ConfigListener): boolean {
    const id = groupKey(key);
    const entry = this.entries.get(id);
    if (entry === undefined) return false;
    entry.listeners.delete(listener);
    if (entry.listeners.size > 0) return false;
    this.entries.delete(id);
    return true;
  }

  /** Marks every entry as not known to match the server (the connection changed). */
  unsyncAll(): void {
    for (const entry of this.entries.values()) entry.synced = false;
  }

  /** Takes content read from the server and calls each listener whose last md5 differs. */
  apply(entry: ConfigEntry, content: string | undefined, md5: string): void {
    entry.content = content;
    entry.md5 = md5;
    for (const [listener, lastMd5] of entry.listeners) {
      if (lastMd5 === md5) continue;
      entry.listeners.set(listener, md5);
      try {
        listener({ ...entry.key, content, md5 });
      } catch (error) {
        this.onListenerError(error, entry.key);
      }
    }
  }

  clear(): void {
    this.entries.clear();
  }
}

