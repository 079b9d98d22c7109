import { groupKey, type ConfigKey } from '../../protocol/config/index.js';
import type { Timers } from '../../protocol/index.js';
import { ConfigReadRacedError, ConfigStoreUnavailableError } from '../errors.js';
import { NOT_AT_HAND, type ChangeMark, type ConfirmedRecord, type ChangeSource, type ConfigRecord, type ConfigStore, type HistoryEntry, type HistorySummary, type Page, type PublishInput, type PublishResult } from './types.js';

/** Rows read per page when the whole table is loaded. */
const LOAD_PAGE = 500;
/** Reads of the whole table when writes keep overlapping them. */
const LOAD_TRIES = 3;
/** Reads of one key by a refresh when stores of it keep overlapping them. */
const REFRESH_TRIES = 3;

interface RereadResult {
  readonly record: ConfigRecord | undefined;
  readonly changed: boolean;
}

interface WatchedRead {
  readonly record: ConfigRecord | undefined;
  /** A store of the key here finished during the read: it may hold an older row. */
  readonly overlapped: boolean;
}

interface KeyRereads {
  running: Promise<RereadResult> | undefined;
  next: Promise<RereadResult> | undefined;
}

/** How the copy finds out that the database answers again (node config `db`, docs/config.md). */
export interface OutageProbeOptions {
  /** The first probe after a read found the database away; each further one waits twice as long. */
  readonly probeIntervalMs: number;
  /** The longest wait between two probes. */
  readonly probeMaxIntervalMs: number;
}

export const DEFAULT_OUTAGE_PROBE_OPTIONS: OutageProbeOptions = { probeIntervalMs: 1000, probeMaxIntervalMs: 30_000 };

/** How reads use the copy (node config `config.readThrough`, docs/config.md). */
export interface CopyReadOptions {
  /** Every read asks the database while it answers, as before reads came from the copy (a mixed cluster, where a Nacos member's change may reach the copy only at a catch-up round). */
  readonly readThrough: boolean;
}

/**
 * A member's copy of every config in the shared database, as Nacos keeps its dump. Reads are
 * answered from the copy while it is known current ({@link readNow}): the whole table loaded,
 * and since then every change this member made, was announced or found by a catch-up round
 * applied, with nothing that could have been missed (a failed re-read or write, the database
 * found away, an overlapped load) not yet followed by a whole catch-up round ({@link caughtUp}).
 * Otherwise reads go to the database and refresh the copy. While the database cannot be reached,
 * reads are answered from the copy (a key the copy does not hold is absent once the whole table
 * has been loaded) and writes fail with {@link ConfigStoreUnavailableError}. Once a read found the
 * database away, reads are answered from the copy at once (a frozen database would hold each for
 * the driver's timeouts) while one probe at a time, backing off, asks the database until it
 * answers. {@link refresh} re-reads one key for an announcement or a catch-up and says whether its
 * content changed.
 */
export class CachedConfigStore implements ConfigStore {
  private readonly records = new Map<string, ConfigRecord>();
  /** Rows stored by a publish, remove or refresh so far: a whole-table read that overlapped one may hold an older row. */
  private writes = 0;
  /**
   * Per key with reads in flight, how many, and the rows stored by a publish, remove or refresh
   * since the first began: a read that overlapped a store may hold an older row. Dropped when the
   * last read ends, so keys published once are not kept here for good.
   */
  private readonly reading = new Map<string, { reads: number; stores: number }>();
  /** Per key being re-read: the read under way, and the one callers that came during it share. */
  private readonly rereads = new Map<string, KeyRereads>();
  private loaded = false;
  /** Why the database was last found away; undefined while it answers. */
  private away: ConfigStoreUnavailableError | undefined;
  private cancelProbe: (() => void) | undefined;
  private closed = false;
  /** Events after which the copy may miss a change; {@link settled} of them are covered by a catch-up round begun after them. */
  private doubts = 0;
  private settled = 0;

  constructor(
    private readonly inner: ConfigStore,
    private readonly timers: Timers,
    private readonly probe: OutageProbeOptions = DEFAULT_OUTAGE_PROBE_OPTIONS,
    private readonly reads: CopyReadOptions = { readThrough: false },
  ) {}

  /** Whether the whole table has been loaded: then a key not held is known absent. */
  get complete(): boolean {
    return this.loaded;
  }

  /**
   * Loads every config, replacing the copy. Resolves with the keys whose content differs from
   * what the copy held (added, changed or gone), for listeners to be told; the first load leaves
   * out keys the copy never held.
   */
  async load(): Promise<ConfigKey[]> {
    let fresh = await this.readAll();
    // A write here during the read may be missing from it: read again (the next catch-up round
    // would also set it right).
    for (let tries = 1; fresh.writes !== this.writes && tries < LOAD_TRIES; tries++) fresh = await this.readAll();
    const changed: ConfigKey[] = [];
    for (const [id, record] of fresh.records) {
      // Before the first load the copy holds only what was read here: a key it never held has
      // told no listener anything yet, and telling every one at once (a database down at start)
      // would push to every listener of the node together.
      if (!this.loaded && !this.records.has(id)) continue;
      if (this.records.get(id)?.md5 !== record.md5) changed.push(record);
    }
    for (const [id, record] of this.records) if (!fresh.records.has(id)) changed.push(record);
    // Writes kept overlapping the reads: a row read before one of them may be older than it.
    if (fresh.writes !== this.writes) this.doubt();
    this.records.clear();
    for (const [id, record] of fresh.records) this.records.set(id, record);
    this.loaded = true;
    this.answered();
    return changed;
  }

  /**
   * Re-reads a key from the database; true when its md5 (or presence) differs from the copy's.
   * Never answered from the copy: a database that cannot be reached fails the refresh, so the
   * change it was asked about is not taken as seen.
   * @throws ConfigReadRacedError when stores of the key kept overlapping every read (the copy is then doubted)
   */
  async refresh(key: ConfigKey): Promise<boolean> {
    return (await this.reread(key)).changed;
  }

  /**
   * What the database holds for a key the copy answered but a caller doubts (a listener moved
   * here holds another md5: it may have read a change this member has not applied yet); the copy
   * takes it. `changed` when the copy's content changed: its listeners are to be told. While the
   * database is away, the copy's answer, not `confirmed`: the caller cannot tell who is behind.
   */
  async confirm(key: ConfigKey): Promise<ConfirmedRecord> {
    if (this.away !== undefined) return { record: this.records.get(groupKey(key)), changed: false, confirmed: false };
    try {
      return { ...(await this.reread(key)), confirmed: true };
    } catch (error) {
      if (!(error instanceof ConfigStoreUnavailableError)) throw error;
      this.wentAway(error);
      return { record: this.records.get(groupKey(key)), changed: false, confirmed: false };
    }
  }

  /**
   * One re-read of a key at a time, so reads of a hot key never overlap (and fail) each other: a
   * caller that comes while one is under way, which may have begun before what the caller knows
   * of, shares the next one, begun after it. Only this member's own writes can then overlap a read.
   * A change the shared read finds is reported to the caller that queued it only: each caller
   * tells the key's listeners, and one change is pushed to them once.
   */
  private reread(key: ConfigKey): Promise<RereadResult> {
    const id = groupKey(key);
    const queued = this.rereads.get(id);
    if (queued?.next !== undefined) return queued.next.then((result) => (result.changed ? { ...result, changed: false } : result));
    const entry: KeyRereads = queued ?? { running: undefined, next: undefined };
    const begin = (): Promise<RereadResult> => {
      entry.next = undefined;
      const running = this.readFresh(key, id);
      entry.running = running;
      const ended = () => {
        if (entry.running === running && entry.next === undefined) this.rereads.delete(id);
      };
      running.then(ended, ended);
      return running;
    };
    if (entry.running === undefined) {
      this.rereads.set(id, entry);
      return begin();
    }
    entry.next = entry.running.then(begin, begin);
    return entry.next;
  }

  private async readFresh(key: ConfigKey, id: string): Promise<RereadResult> {
    let asked = key;
    for (let tries = 0; tries < REFRESH_TRIES; tries++) {
      const askedId = groupKey(asked);
      let read: WatchedRead;
      try {
        read = await this.watchedRead(asked, askedId);
      } catch (error) {
        this.doubt();
        throw error;
      }
      const { record } = read;
      // A publish or remove here finished during the read, which may then hold the older row: a
      // read begun after it is at least as new. A row stored under another spelling (MySQL
      // ignores trailing spaces) is read again by that name, for the copy files it so.
      if (read.overlapped) continue;
      if (record !== undefined && groupKey(record) !== askedId) {
        asked = { dataId: record.dataId, group: record.group, tenant: record.tenant };
        continue;
      }
      const before = this.records.get(askedId)?.md5;
      this.store(askedId, record);
      return { record, changed: before !== record?.md5 };
    }
    this.doubt();
    throw new ConfigReadRacedError(`config ${id} changed during each of ${REFRESH_TRIES} reads`);
  }

  /**
   * From the copy while it is known current (unless readThrough), or while the database is away
   * (then as {@link get} answers); otherwise {@link NOT_AT_HAND}.
   */
  readNow(key: ConfigKey): ConfigRecord | undefined | typeof NOT_AT_HAND {
    if (!this.loaded || (this.away === undefined && (this.reads.readThrough || this.settled !== this.doubts))) return NOT_AT_HAND;
    return this.records.get(groupKey(key));
  }

  /** Marks the start of a catch-up round: pass what it returns to {@link caughtUp} once the round has read every change. */
  catchUpBegins(): number {
    return this.doubts;
  }

  /**
   * A catch-up round begun at `mark` read every change the history held: whatever the copy may
   * have missed before the mark is in it now.
   */
  caughtUp(mark: number): void {
    this.settled = Math.max(this.settled, mark);
  }

  /** A catch-up round failed: changes it did not read (the database away, members cut off) may be missing. */
  catchUpFailed(): void {
    this.doubt();
  }

  /** Something the copy may have missed: reads go to the database until the next whole catch-up round. */
  private doubt(): void {
    this.doubts++;
  }

  async get(key: ConfigKey): Promise<ConfigRecord | undefined> {
    const id = groupKey(key);
    if (this.away !== undefined) return this.fromCopy(id, this.away);
    let read: WatchedRead;
    try {
      read = await this.watchedRead(key, id);
    } catch (error) {
      if (!(error instanceof ConfigStoreUnavailableError)) throw error;
      this.wentAway(error);
      return this.fromCopy(id, error);
    }
    const { record } = read;
    // A read that started before a change stored here may hold the older row; one that found
    // the row under another spelling (trailing spaces) is not filed under this one.
    if (!read.overlapped && (record === undefined || groupKey(record) === id)) this.remember(id, record);
    return record;
  }

  /** Reads a key from the database, telling whether a store of it here finished meanwhile. */
  private async watchedRead(key: ConfigKey, id: string): Promise<WatchedRead> {
    const watch = this.watchReads(id);
    const stores = watch.stores;
    try {
      const record = await this.inner.get(key);
      return { record, overlapped: watch.stores !== stores };
    } finally {
      this.readEnded(id, watch);
    }
  }

  private fromCopy(id: string, away: ConfigStoreUnavailableError): ConfigRecord | undefined {
    const held = this.records.get(id);
    if (held !== undefined || this.loaded) return held;
    throw away;
  }

  async publish(input: PublishInput): Promise<PublishResult> {
    const result = await this.doubtingFailure(this.inner.publish(input));
    // Filed under the key as stored: MySQL compares names with trailing spaces ignored, so a key
    // spelled "app.yaml " may have updated the row "app.yaml".
    if (result.ok) this.store(groupKey(result.record), result.record);
    return result;
  }

  async remove(key: ConfigKey, source: ChangeSource & { readonly time: number }): Promise<ConfigRecord | undefined> {
    const removed = await this.doubtingFailure(this.inner.remove(key, source));
    this.store(groupKey(removed ?? key), undefined);
    return removed;
  }

  /**
   * A write whose connection was lost may still have committed (a commit whose answer was lost):
   * the copy may miss it. Any other failure is the database refusing the statement, rolled back.
   */
  private doubtingFailure<T>(write: Promise<T>): Promise<T> {
    return write.catch((error: unknown) => {
      if (error instanceof ConfigStoreUnavailableError) this.doubt();
      throw error;
    });
  }

  history(key: ConfigKey, page: { readonly offset: number; readonly limit: number }): Promise<Page<HistorySummary>> {
    return this.inner.history(key, page);
  }

  historyEntry(nid: number): Promise<HistoryEntry | undefined> {
    return this.inner.historyEntry(nid);
  }

  list(afterId: number, limit: number): Promise<readonly ConfigRecord[]> {
    return this.inner.list(afterId, limit);
  }

  changesAfter(afterNid: number, limit: number): Promise<readonly ChangeMark[]> {
    return this.inner.changesAfter(afterNid, limit);
  }

  latestChange(): Promise<number> {
    return this.inner.latestChange();
  }

  /** While the database is away, the copy's size. */
  async count(): Promise<number> {
    if (this.away !== undefined && this.loaded) return this.records.size;
    try {
      return await this.inner.count();
    } catch (error) {
      if (error instanceof ConfigStoreUnavailableError && this.loaded) return this.records.size;
      throw error;
    }
  }

  close(): Promise<void> {
    this.closed = true;
    this.cancelProbe?.();
    return this.inner.close();
  }

  private wentAway(error: ConfigStoreUnavailableError): void {
    // Other members may write while this one cannot read: their announcements here fail too.
    this.doubt();
    const probing = this.away !== undefined;
    this.away = error;
    if (!probing && !this.closed) this.probeAfter(this.probe.probeIntervalMs);
  }

  private probeAfter(delayMs: number): void {
    this.cancelProbe = this.timers.setTimeout(() => {
      this.inner.latestChange().then(
        () => this.answered(),
        (error: unknown) => {
          // Any other failure is an answer: the database is there.
          if (!(error instanceof ConfigStoreUnavailableError)) this.answered();
          else if (!this.closed && this.away !== undefined) this.probeAfter(Math.min(delayMs * 2, this.probe.probeMaxIntervalMs));
        },
      );
    }, delayMs);
  }

  /** The database answered: reads go to it again. */
  private answered(): void {
    this.away = undefined;
    this.cancelProbe?.();
    this.cancelProbe = undefined;
  }

  /** Stores a row newer than any read still under way: those are then not remembered. */
  private store(id: string, record: ConfigRecord | undefined): void {
    this.answered();
    this.writes++;
    const watch = this.reading.get(id);
    if (watch !== undefined) watch.stores++;
    this.remember(id, record);
  }

  /** A read of `id` begins: stores of it are counted until the last such read ends. */
  private watchReads(id: string): { reads: number; stores: number } {
    let watch = this.reading.get(id);
    if (watch === undefined) this.reading.set(id, (watch = { reads: 0, stores: 0 }));
    watch.reads++;
    return watch;
  }

  private readEnded(id: string, watch: { reads: number; stores: number }): void {
    if (--watch.reads === 0) this.reading.delete(id);
  }

  /** Keys with a read in flight (tests: nothing is kept per key beyond its reads). */
  get keysBeingRead(): number {
    return this.reading.size;
  }

  private remember(id: string, record: ConfigRecord | undefined): void {
    if (record === undefined) this.records.delete(id);
    else this.records.set(id, record);
  }

  private async readAll(): Promise<{ records: Map<string, ConfigRecord>; writes: number }> {
    const writes = this.writes;
    const records = new Map<string, ConfigRecord>();
    for (let afterId = 0; ; ) {
      const page = await this.inner.list(afterId, LOAD_PAGE);
      for (const record of page) records.set(groupKey(record), record);
      if (page.length < LOAD_PAGE) break;
      afterId = page[page.length - 1]!.id;
    }
    return { records, writes };
  }
}
