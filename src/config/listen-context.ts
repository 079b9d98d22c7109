/**
 * Who listens to what (Nacos `ConfigChangeListenContext`): per connection the keys it listens to
 * with the md5 it holds, and per key its listening connections. Plain maps, no I/O.
 */
export class ListenContext {
  private readonly byKey = new Map<string, Set<string>>();
  private readonly byConnection = new Map<string, Map<string, string>>();
  /** Per connection and key, the namespace as the client spelled it, where that is not as stored. */
  private readonly spelledTenants = new Map<string, Map<string, string>>();

  /**
   * Records that a connection listens to a group key holding `md5` (a repeat updates the md5).
   * `spelledTenant`: the client's own name of the key's namespace (`public` for the stored `""`),
   * which its notifications must carry for the client to find its key.
   */
  listen(connectionId: string, groupKey: string, md5: string, spelledTenant?: string): void {
    let connections = this.byKey.get(groupKey);
    if (connections === undefined) this.byKey.set(groupKey, (connections = new Set()));
    connections.add(connectionId);
    let keys = this.byConnection.get(connectionId);
    if (keys === undefined) this.byConnection.set(connectionId, (keys = new Map()));
    keys.set(groupKey, md5);
    const spelled = this.spelledTenants.get(connectionId);
    if (spelledTenant !== undefined) {
      if (spelled === undefined) this.spelledTenants.set(connectionId, new Map([[groupKey, spelledTenant]]));
      else spelled.set(groupKey, spelledTenant);
    } else spelled?.delete(groupKey);
  }

  /** The namespace as the connection spelled it when it listened to the key, if not as stored. */
  spelledTenantOf(connectionId: string, groupKey: string): string | undefined {
    return this.spelledTenants.get(connectionId)?.get(groupKey);
  }

  unlisten(connectionId: string, groupKey: string): void {
    const connections = this.byKey.get(groupKey);
    if (connections !== undefined) {
      connections.delete(connectionId);
      if (connections.size === 0) this.byKey.delete(groupKey);
    }
    this.spelledTenants.get(connectionId)?.delete(groupKey);
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
    this.spelledTenants.delete(connectionId);
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
