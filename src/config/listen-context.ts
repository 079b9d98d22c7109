/**
 * Who listens to what (Nacos `ConfigChangeListenContext`): per connection the keys it listens to
 * with the md5 it holds, and per key its listening connections. Plain maps, no I/O.
 */
export class ListenContext {
  private readonly byKey = new Map<string, Set<string>>();
  private readonly byConnection = new Map<string, Map<string, string>>();

  /** Records that a connection listens to a group key holding `md5` (a repeat updates the md5). */
  listen(connectionId: string, groupKey: string, md5: string): void {
    let connections = this.byKey.get(groupKey);
    if (connections === undefined) this.byKey.set(groupKey, (connections = new Set()));
    connections.add(connectionId);
    let keys = this.byConnection.get(connectionId);
    if (keys === undefined) this.byConnection.set(connectionId, (keys = new Map()));
    keys.set(groupKey, md5);
  }

  unlisten(connectionId: string, groupKey: string): void {
    const connections = this.byKey.get(groupKey);
    if (connections !== undefined) {
      connections.delete(connectionId);
      if (connections.size === 0) this.byKey.delete(groupKey);
    }
    const keys = this.byConnection.get(connectionId);
    if (keys !== undefined) {
      keys.delete(groupKey);
      if (keys.size === 0) this.byConnection.delete(connectionId);
    }
  }

  /** Forgets everything a connection listened to: called the moment it closes. */
  clearConnection(connectionId: string): void {
    const keys = this.byConnection.get(connectionId);
    if (keys === undefined) return;
    for (const groupKey of keys.keys()) {
      const connections = this.byKey.get(groupKey);
      connections?.delete(connectionId);
      if (connections?.size === 0) this.byKey.delete(groupKey);
    }
    this.byConnection.delete(connectionId);
  }

  /** The connections listening to a key (a copy). */
  listeners(groupKey: string): string[] {
    return [...(this.byKey.get(groupKey) ?? [])];
  }

  /** The md5 a connection said it holds for a key, if it listens to it. */
  md5Of(connectionId: string, groupKey: string): string | undefined {
    return this.byConnection.get(connectionId)?.get(groupKey);
  }

  /** Keys with at least one listener. */
  get keyCount(): number {
    return this.byKey.size;
  }

  /** Connections listening to at least one key. */
  get connectionCount(): number {
    return this.byConnection.size;
  }
}
