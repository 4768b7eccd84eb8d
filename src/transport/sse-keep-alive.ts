import { GraphQLError, type ExecutionResult } from 'graphql';
import type { FetchAPI, Plugin } from 'graphql-yoga';
import { isAsyncIterable } from '../basics/async-iteration.js';
import { overHttp } from '../context.js';

type ResultProcessor = Parameters<Parameters<NonNullable<Plugin['onResultProcess']>>[0]['setResultProcessor']>[0];
type StreamController = ReadableStreamDefaultController<Uint8Array>;
type SerializableResult = ExecutionResult & { stringify?: (result: ExecutionResult) => string };

const encoder = new TextEncoder();
/** An SSE comment: clients ignore it, proxies and NATs see traffic, a dead peer makes the write fail. */
const COMMENT = encoder.encode(':\n\n');
const COMPLETE = encoder.encode('event: complete\ndata:\n\n');
const SSE_HEADERS = { 'Content-Type': 'text/event-stream', Connection: 'keep-alive', 'Cache-Control': 'no-cache', 'Content-Encoding': 'none' };

/**
 * Subscriptions over SSE with a keep-alive comment every `intervalMs` (the
 * WebSocket ping interval), where Yoga's SSE answer has a fixed 12 s (300 ms
 * under NODE_ENV=test) that no option changes. This is Yoga's SSE answer for
 * a stream otherwise: the same headers, a comment first (some browsers show
 * nothing of a response before its first bytes), `next` events, `complete`.
 *
 * A stream whose write fails ends as one whose client closed: the response
 * closes, the request's signal aborts, and the stream is returned
 * (aborted-streams.ts), with its slot and presence.
 *
 * Only subscriptions' streams: for them Yoga's one processor is SSE (its
 * JSON processors take no streams), so choosing is not repeated here. A
 * single result asked for as SSE (a refused subscription) stays Yoga's.
 */
export function useSseKeepAlive(intervalMs: number): Plugin {
  const subscriptions = new WeakSet<Request>();
  const heartbeat = new Heartbeat(intervalMs);
  return {
    onSubscribe({ args }) {
      if (overHttp(args.contextValue)) subscriptions.add((args.contextValue as { request: Request }).request);
    },
    onResultProcess({ request, result, resultProcessor, setResultProcessor }) {
      if (!resultProcessor || !isAsyncIterable(result) || !subscriptions.has(request)) return;
      setResultProcessor(sseProcessor(heartbeat, request.signal), 'text/event-stream');
    },
  };
}

function sseProcessor(heartbeat: Heartbeat, signal: AbortSignal): ResultProcessor {
  return (result, fetchAPI: FetchAPI) => {
    const iterator = (result as AsyncIterable<SerializableResult>)[Symbol.asyncIterator]();
    let beating: StreamController | null = null;
    const stop = () => {
      if (beating) heartbeat.delete(beating);
      beating = null;
    };
    const body = new fetchAPI.ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(COMMENT);
        beating = controller;
        heartbeat.add(controller);
        // The client left (or a write failed): nothing more is sent, even if the stream never says it ended.
        signal.addEventListener('abort', stop, { once: true });
      },
      pull(controller) {
        return iterator.next().then(
          ({ value, done }) => {
            if (value != null) controller.enqueue(encoder.encode(`event: next\ndata: ${serialize(value)}\n\n`));
            if (done) {
              stop();
              controller.enqueue(COMPLETE);
              controller.close();
            }
          },
          (error: unknown) => {
            stop();
            controller.error(error);
          },
        );
      },
      async cancel() {
        stop();
        await iterator.return?.();
      },
    });
    return new fetchAPI.Response(body, { status: 200, headers: SSE_HEADERS });
  };
}

/** One timer for every open stream; it runs only while there is one. */
class Heartbeat {
  private readonly streams = new Set<StreamController>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly intervalMs: number) {}

  add(stream: StreamController): void {
    this.streams.add(stream);
    this.timer ??= setInterval(() => this.beat(), this.intervalMs).unref();
  }

  delete(stream: StreamController): void {
    this.streams.delete(stream);
    if (this.streams.size > 0 || !this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
  }

  private beat(): void {
    for (const stream of this.streams) {
      // null: errored. 0: a client that does not read; its queue does not grow.
      if (stream.desiredSize === null) this.delete(stream);
      else if (stream.desiredSize > 0) stream.enqueue(COMMENT);
    }
  }
}

/** As Yoga writes a result: its own serializer if it has one, without Yoga's internal extensions (`http`, `unexpected`). */
function serialize(result: SerializableResult): string {
  const stringify = result.stringify ?? JSON.stringify;
  const internal = result.extensions?.['http'] !== undefined || result.errors?.some((error) => error.extensions['http'] !== undefined || error.extensions['unexpected'] !== undefined);
  if (!internal) return stringify(result);
  const { http: _http, ...extensions } = result.extensions ?? {};
  const errors = result.errors?.map((error) => {
    const { http: _status, unexpected: _unexpected, ...own } = error.extensions;
    return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, originalError: error.originalError, extensions: own });
  });
  return stringify({ ...result, ...(errors ? { errors } : {}), extensions: Object.keys(extensions).length ? extensions : undefined });
}
