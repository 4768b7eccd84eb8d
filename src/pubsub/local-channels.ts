import type { PubSubEngine } from 'graphql-subscriptions';
import { withTimeout } from '../basics/timeout.js';

type Listener = (event: unknown) => void;

interface ChannelEntry {
  listeners: Set<Listener>;
  /** The engine subscription behind every local listener of this channel; null for channels fed by the outbox bus. */
  engineId: Promise<number> | null;
}

/**
 * A process's subscribers by channel; events fan out to them here. An
 * ephemeral channel has one engine subscription per process, however many
 * local subscribers share it; outbox channels are fed by `receive` from the
 * one bus every process follows. Dispatch can be paused (events are held in
 * order) while missed events are delivered first.
 */
export class LocalChannels {
  private readonly channels = new Map<string, ChannelEntry>();
  private held: [channel: string, event: unknown][] | null = null;

  constructor(
    private readonly engine: PubSubEngine,
    /** Bounds how long a subscribe may wait for the engine (e.g. Redis reconnecting). */
    private readonly subscribeTimeoutMs: number,
    private readonly onEvent: ((event: { createdAt?: unknown }) => void) | undefined,
  ) {}

  /** Resolves once the channel's engine subscription is confirmed (at once for a bus channel). */
  async add(channel: string, listener: Listener, { viaEngine }: { viaEngine: boolean }): Promise<void> {
    let entry = this.channels.get(channel);
    if (!entry) {
      const created: ChannelEntry = {
        listeners: new Set(),
        engineId: viaEngine ? this.engine.subscribe(channel, (event: unknown) => this.receive(channel, event), {}) : null,
      };
      created.engineId?.catch(() => {
        if (this.channels.get(channel) === created) this.channels.delete(channel);
      });
      this.channels.set(channel, created);
      entry = created;
    }
    entry.listeners.add(listener);
    if (!entry.engineId) return;
    try {
      await withTimeout(entry.engineId, this.subscribeTimeoutMs, 'the PubSub did not confirm the subscription in time');
    } catch (error) {
      // A late confirmation is undone by remove() once the last listener is gone.
      this.remove(channel, listener);
      throw error;
    }
  }

  /** Waits for the engine's connection, within the subscribe timeout. */
  whenReady(ready: Promise<void>): Promise<void> {
    return withTimeout(ready, this.subscribeTimeoutMs, 'the PubSub is not connected');
  }

  remove(channel: string, listener: Listener): void {
    const entry = this.channels.get(channel);
    if (!entry) return;
    entry.listeners.delete(listener);
    if (entry.listeners.size > 0) return;
    this.channels.delete(channel);
    entry.engineId?.then(
      (id) => this.engine.unsubscribe(id),
      () => {},
    );
  }

  /** Channels with at least one local listener. */
  get channelNames(): string[] {
    return [...this.channels.keys()];
  }

  get listenerCount(): number {
    let count = 0;
    for (const entry of this.channels.values()) count += entry.listeners.size;
    return count;
  }

  /** Delivers to local listeners only (missed events read back from the outbox). */
  deliverLocally(channel: string, event: unknown): void {
    for (const listener of this.channels.get(channel)?.listeners ?? []) listener(event);
  }

  /** Holds engine events until `resume()`, keeping their order. */
  pause(): void {
    this.held ??= [];
  }

  resume(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const [channel, event] of held) this.deliverLocally(channel, event);
  }

  /** An event the engine or the bus brought for `channel`: to its local listeners, or held while paused. */
  receive(channel: string, event: unknown): void {
    const entry = this.channels.get(channel);
    if (!entry) return;
    if (this.onEvent && typeof event === 'object' && event !== null) this.onEvent(event);
    if (this.held) this.held.push([channel, event]);
    else for (const listener of entry.listeners) listener(event);
  }
}

