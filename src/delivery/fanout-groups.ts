import { execute, type ExecutionArgs, type ExecutionResult, type GraphQLError } from 'graphql';
import type { WebSocket } from 'ws';
import { asGraphQLError, maskedResult, type MaskError } from './error-masking.js';
import { WS_CLOSE } from '../errors.js';
import type { SubscriptionObserver } from '../observability/subscription-observer.js';

/**
 * Where a graphql-ws subscription's frames go: its socket and its id. Put in
 * the operation's context by the server, so a group can write the frames.
 */
export interface WsTarget {
  socket: WebSocket;
  id: string;
  /** The message type of a result on the socket's protocol: graphql-ws `next`, the legacy protocol's `data`. */
  resultType: 'next' | 'data';
}

export interface FanoutGroupsOptions {
  /** Masks an internal error exactly as every other result is masked (see error-masking.ts). */
  maskError: MaskError;
  /** A member whose socket holds more unsent bytes than this is a slow consumer (1013). */
  bufferLimitBytes: number;
  /** Once per event and group (one execution), with how many members it reached. */
  onDelivered?: (field: string, members: number) => void;
}

/** Members written to in one turn of the event loop. */
const DELIVERY_SLICE = 1000;


/**
 * Subscribers over graphql-ws whose streams are the same by construction
 * (their root field says so with a fan-out key: all admins' activity feed, a
 * partner's events) share one group: one source stream, one execution and
 * one serialization per event, and a plain loop that writes the same bytes
 * behind each member's subscription id. graphql-ws keeps everything else:
 * the member is the iterator graphql-ws holds for that id, so `complete`,
 * errors, the end of the stream and closing the socket all go through it.
 *
 * A member joins the group's live stream: its first event is the first one
 * the group receives after it joined.
 */
export class FanoutGroups {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly options: FanoutGroupsOptions) {}

  /**
   * Joins the group of `key`, or starts it with `source` (this subscriber's
   * own stream, already checked for access). A joiner's own stream is closed:
   * the group's serves it.
   */
  join(
    key: string,
    field: string,
    source: AsyncIterator<unknown>,
    args: ExecutionArgs,
    target: WsTarget,
    observer: SubscriptionObserver | undefined,
  ): AsyncIterableIterator<ExecutionResult> {
    let group = this.groups.get(key);
    if (group) {
      void Promise.resolve(source.return?.()).catch(() => {});
    } else {
      group = new Group(source, args, field, this.options, () => this.groups.delete(key));
      this.groups.set(key, group);
      void group.pump();
    }
    return group.add(target, observer);
  }
}

class Group {
  private readonly members = new Set<Member>();
  private closed = false;

  constructor(
    private readonly source: AsyncIterator<unknown>,
    /** The first member's: the fan-out key promises the result does not depend on whose they are. */
    private readonly args: ExecutionArgs,
    private readonly field: string,
    private readonly options: FanoutGroupsOptions,
    private readonly onClose: () => void,
  ) {}

  add(target: WsTarget, observer: SubscriptionObserver | undefined): Member {
    const member = new Member(target, this, observer);
    this.members.add(member);
    return member;
  }

  async pump(): Promise<void> {
    try {
      for (;;) {
        const step = await this.source.next();
        if (step.done) break;
        await this.deliver(await execute({ ...this.args, rootValue: step.value }));
      }
      this.end(null);
    } catch (error) {
      this.end(this.options.maskError(asGraphQLError(error)));
    }
  }

  /**
   * Writes one event to every member, a slice at a time with a turn of the
   * event loop in between: a large group (or a backlog of events) must not
   * keep the process from reading its sockets and flushing what it wrote.
   */
  private async deliver(result: ExecutionResult): Promise<void> {
    const payload = JSON.stringify(maskedResult(result, this.options.maskError));
    const members = [...this.members];
    let delivered = 0;
    for (let start = 0; start < members.length; start += DELIVERY_SLICE) {
      if (start > 0) await new Promise((resolve) => setImmediate(resolve));
      delivered += this.deliverSlice(members, start, payload);
    }
    this.options.onDelivered?.(this.field, delivered);
    // Between events too, so a backlog is not written in one go.
    if (members.length >= DELIVERY_SLICE / 10) await new Promise((resolve) => setImmediate(resolve));
  }

  private deliverSlice(members: Member[], start: number, payload: string): number {
    let delivered = 0;
    for (let i = start; i < Math.min(start + DELIVERY_SLICE, members.length); i += 1) {
      const member = members[i]!;
      // Left (complete, socket closed) while an earlier slice was written.
      if (!this.members.has(member)) continue;
      const socket = member.target.socket;
      if (socket.readyState !== socket.OPEN) continue;
      if (socket.bufferedAmount > this.options.bufferLimitBytes) {
        socket.close(WS_CLOSE.slowConsumer.code, WS_CLOSE.slowConsumer.reason);
        continue;
      }
      socket.send(`${member.frameStart}${payload}}`);
      delivered += 1;
    }
    return delivered;
  }

  /** The source ended (null) or failed: every member's iterator ends the same way. */
  private end(error: GraphQLError | null): void {
    this.close();
    for (const member of this.members) member.finish(error);
    this.members.clear();
  }

  remove(member: Member): void {
    this.members.delete(member);
    if (this.members.size === 0) this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    void Promise.resolve(this.source.return?.()).catch(() => {});
  }
}

/**
 * The iterator graphql-ws holds for a member's subscription id. It yields
 * nothing (the group writes the frames); it ends when the group's source
 * does, and leaves the group when graphql-ws returns it.
 */
class Member implements AsyncIterableIterator<ExecutionResult> {
  /** The frame up to its payload, so a delivery is one concatenation. */
  readonly frameStart: string;
  private parked: { resolve: (result: IteratorResult<ExecutionResult>) => void; reject: (error: unknown) => void } | null = null;
  private ending: { error: GraphQLError | null } | null = null;

  constructor(
    readonly target: WsTarget,
    private readonly group: Group,
    private observer: SubscriptionObserver | undefined,
  ) {
    this.frameStart = `{"id":${JSON.stringify(target.id)},"type":"${target.resultType}","payload":`;
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.ending) return this.settle(this.ending);
    return new Promise((resolve, reject) => (this.parked = { resolve, reject }));
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    this.finish(null);
    this.group.remove(this);
    return Promise.resolve({ done: true, value: undefined });
  }

  throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
    this.finish(null);
    this.group.remove(this);
    return Promise.reject(error);
  }

  finish(error: GraphQLError | null): void {
    if (this.ending) return;
    this.ending = { error };
    this.observer?.ended();
    this.observer = undefined;
    const parked = this.parked;
    this.parked = null;
    if (!parked) return;
    if (error) parked.reject(error);
    else parked.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private settle(ending: { error: GraphQLError | null }): Promise<IteratorResult<ExecutionResult>> {
    if (!ending.error) return Promise.resolve({ done: true, value: undefined });
    const error = ending.error;
    // The error is reported once; a later next() just ends.
    ending.error = null;
    return Promise.reject(error);
  }
}
