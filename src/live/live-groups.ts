import type { ExecutionArgs, ExecutionResult } from 'graphql';
import type { EventStream } from '../pubsub/event-stream.js';
import type { Channel, PubSub } from '../pubsub/index.js';
import type { TopicEvent, TopicName } from '../pubsub/topics.js';
import { latestResultStream, type LatestResultStream } from './latest-result.js';

export type Execute = (args: ExecutionArgs) => Promise<ExecutionResult>;

export interface LiveGroupsOptions {
  pubsub: PubSub;
  /** Each execution of a group, named by the operation's root fields. */
  onExecution: (fields: string) => void;
  /** Each result sent to one client. */
  onResult: () => void;
  /** Live queries and groups held now. */
  onCount: (members: number, groups: number) => void;
}

export interface LiveRequest {
  /** Identical live queries (document, operation, variables, the viewer where it matters) share this key. */
  key: string;
  args: ExecutionArgs;
  execute: Execute;
  channels: Channel<TopicName>[];
  throttleMs: number;
  /** The operation's root fields, for metrics. */
  fields: string;
}

/** A result that ends the operation after it is sent: the caller may no longer see what it asked for. */
function isForbidden(result: ExecutionResult): boolean {
  return result.errors?.some((error) => error.extensions?.['code'] === 'FORBIDDEN') ?? false;
}

/**
 * Identical live queries of this process, executed once per change for all
 * who hold them. A group listens to the channels its result depends on; an
 * event there schedules one execution, at most one per throttle window
 * (changes in between coalesce into it), and a result equal to the last one
 * is not sent. Every process runs its own groups from the events every
 * process receives, so a change anywhere in the cluster reaches them all.
 */
export class LiveGroups {
  private readonly groups = new Map<string, LiveGroup>();
  private members = 0;

  constructor(private readonly options: LiveGroupsOptions) {}

  async join(request: LiveRequest): Promise<AsyncIterableIterator<ExecutionResult>> {
    let group = this.groups.get(request.key);
    if (!group) {
      group = new LiveGroup(request, this.options, () => {
        this.groups.delete(request.key);
        this.count();
      });
      this.groups.set(request.key, group);
      this.count();
    }
    const stream = latestResultStream(() => {
      this.members -= 1;
      group.leave(stream);
      this.count();
    });
    this.members += 1;
    this.count();
    await group.add(stream, request.args);
    return stream;
  }

  private count(): void {
    this.options.onCount(this.members, this.groups.size);
  }
}

class LiveGroup {
  private readonly members = new Map<LatestResultStream, ExecutionArgs>();
  private lastJson: string | null = null;
  private last: ExecutionResult | null = null;
  private started: Promise<void> | null = null;
  private running = false;
  private pending = false;
  private timer: NodeJS.Timeout | null = null;
  private lastRunAt = 0;
  private source: EventStream<TopicEvent<TopicName>> | null = null;
  private closed = false;

  constructor(
    private readonly request: LiveRequest,
    private readonly options: LiveGroupsOptions,
    private readonly onClosed: () => void,
  ) {}

  /** A new holder gets the group's latest result at once, or the first one when it is ready. */
  async add(stream: LatestResultStream, args: ExecutionArgs): Promise<void> {
    this.members.set(stream, args);
    this.started ??= this.start();
    await this.started;
    if (this.last && !stream.ended) this.send(stream, this.last);
  }

  leave(stream: LatestResultStream): void {
    this.members.delete(stream);
    if (this.members.size === 0) this.close();
  }

  /** Listens first, then executes: a change committed while the first result is computed schedules the next. */
  private async start(): Promise<void> {
    const source = await this.options.pubsub.subscribe(this.request.channels, { dedupe: false });
    // Everyone left while the channels were being subscribed.
    if (this.closed) return void (await source.return());
    this.source = source;
    void this.listen(source);
    await this.run();
  }

  private async listen(source: EventStream<TopicEvent<TopicName>>): Promise<void> {
    try {
      // What changed does not matter, only that something did.
      for await (const _change of source) this.schedule();
    } catch (error) {
      // The source failed (a slow group cannot be: it only schedules): end every holder with it.
      for (const stream of [...this.members.keys()]) stream.fail(error);
    }
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.running || this.timer) {
      this.pending = true;
      return;
    }
    const wait = Math.max(0, this.lastRunAt + this.request.throttleMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run();
    }, wait);
  }

  private async run(): Promise<void> {
    const representative = this.members.values().next();
    if (representative.done || this.closed) return;
    this.running = true;
    this.pending = false;
    this.lastRunAt = Date.now();
    try {
      this.options.onExecution(this.request.fields);
      const result = await this.request.execute(representative.value);
      const json = JSON.stringify(result);
      if (json !== this.lastJson) {
        this.lastJson = json;
        this.last = result;
        for (const stream of [...this.members.keys()]) this.send(stream, result);
      }
    } catch (error) {
      for (const stream of [...this.members.keys()]) stream.fail(error);
    } finally {
      this.running = false;
      if (this.pending) this.schedule();
    }
  }

  private send(stream: LatestResultStream, result: ExecutionResult): void {
    stream.push(result);
    this.options.onResult();
    if (isForbidden(result)) stream.finish();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    void this.source?.return();
    this.onClosed();
  }
}
