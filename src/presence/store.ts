/**
 * Where presence is counted. A process tells the store only when it starts or
 * stops holding a user (its first connection of that user opened, its last
 * closed); the store counts processes per user and reports the moments a
 * user comes online or goes offline for the whole cluster.
 */
export interface PresenceState {
  online: boolean;
  /** Increases with every change of the user's presence; 0 for a user never seen by this store. */
  version: number;
  /** When the user went offline, if this store knows. */
  lastSeenAt: Date | null;
}

export interface Transition {
  userId: string;
  online: boolean;
  version: number;
  at: Date;
}

export interface PresenceStore {
  /** This process now holds the user. A transition when the user came online cluster-wide. */
  acquire(userId: string): Promise<Transition | null>;
  /** This process no longer holds the user. A transition when the user went offline cluster-wide. */
  release(userId: string): Promise<Transition | null>;
  read(userIds: readonly string[]): Promise<Map<string, PresenceState>>;
  /** Users held by at least one process. */
  countOnline(): Promise<number>;
  /**
   * Periodic upkeep with the users this process holds: renews its heartbeat,
   * repairs its own entries when asked (`resync`) or when the store lost them,
   * and takes dead processes' users offline. Returns the transitions it caused.
   */
  maintain(held: readonly string[], resync: boolean): Promise<Transition[]>;
  /** Releases everything this process holds (a graceful stop). */
  leave(): Promise<Transition[]>;
  close(): Promise<void>;
}

interface Entry {
  holders: number;
  version: number;
  lastSeenAt: Date | null;
}

/** Without Redis there is one process: its own memory is the whole cluster. */
export function inProcessStore(): PresenceStore {
  const users = new Map<string, Entry>();
  const entry = (userId: string): Entry => {
    let found = users.get(userId);
    if (!found) users.set(userId, (found = { holders: 0, version: 0, lastSeenAt: null }));
    return found;
  };
  const release = (userId: string): Transition | null => {
    const found = users.get(userId);
    if (!found || found.holders === 0) return null;
    found.holders = 0;
    found.version += 1;
    found.lastSeenAt = new Date();
    return { userId, online: false, version: found.version, at: found.lastSeenAt };
  };
  return {
    async acquire(userId) {
      const found = entry(userId);
      found.holders += 1;
      if (found.holders !== 1) return null;
      found.version += 1;
      return { userId, online: true, version: found.version, at: new Date() };
    },
    release: async (userId) => release(userId),
    async countOnline() {
      let online = 0;
      for (const found of users.values()) if (found.holders > 0) online += 1;
      return online;
    },
    async read(userIds) {
      return new Map(
        userIds.map((userId) => {
          const found = users.get(userId);
          return [userId, { online: (found?.holders ?? 0) > 0, version: found?.version ?? 0, lastSeenAt: found?.lastSeenAt ?? null }];
        }),
      );
    },
    maintain: async () => [],
    async leave() {
      return [...users.keys()].map(release).filter((transition): transition is Transition => transition !== null);
    },
    close: async () => {},
  };
}
