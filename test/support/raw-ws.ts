import WebSocket from 'ws';
import { deferred, within, type Deferred } from './deferred.js';

/** A graphql-transport-ws message as it travels. */
export interface WireMessage {
  type: string;
  id?: string;
  payload?: unknown;
}

/**
 * A bare `ws` socket speaking graphql-transport-ws by hand, for what a
 * well-behaved client never sends: malformed frames, early subscribes,
 * duplicate ids, oversize messages; or for a client that stops reading
 * (`socket.pause()`).
 */
export interface RawSocket {
  socket: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  send(message: WireMessage | Record<string, unknown>): void;
  sendRaw(data: string | Buffer): void;
  /** The next message the server sends (of `type`, if given: others are skipped). */
  next(type?: string, ms?: number): Promise<WireMessage>;
  /** Sends connection_init and waits for connection_ack. */
  init(payload?: unknown): Promise<void>;
  close(): void;
}

export async function rawConnect(httpUrl: string, protocol = 'graphql-transport-ws'): Promise<RawSocket> {
  const socket = new WebSocket(httpUrl.replace(/^http/, 'ws'), protocol);
  const closed = deferred<{ code: number; reason: string }>();
  const opened = deferred();
  const queue: WireMessage[] = [];
  let waiter: Deferred<void> | null = null;
  let isClosed = false;
  socket.on('open', () => opened.resolve());
  socket.on('error', () => {});
  socket.on('message', (data) => {
    queue.push(JSON.parse(String(data)) as WireMessage);
    waiter?.resolve();
  });
  socket.on('close', (code, reason) => {
    isClosed = true;
    closed.resolve({ code, reason: String(reason) });
    opened.reject(new Error(`closed with ${code} before opening`));
    waiter?.resolve();
  });
  await within(opened.promise, 10_000, 'the WebSocket to open');

  const raw: RawSocket = {
    socket,
    closed: closed.promise,
    send: (message) => socket.send(JSON.stringify(message)),
    sendRaw: (data) => socket.send(data),
    async next(type, ms = 10_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        while (queue.length > 0) {
          const message = queue.shift()!;
          if (!type || message.type === type) return message;
        }
        if (isClosed) throw new Error(`socket closed with ${(await closed.promise).code} while waiting for ${type ?? 'a message'}`);
        waiter = deferred();
        await within(waiter.promise, Math.max(1, deadline - Date.now()), `a ${type ?? ''} message`);
        waiter = null;
      }
    },
    async init(payload) {
      raw.send({ type: 'connection_init', ...(payload === undefined ? {} : { payload }) });
      await raw.next('connection_ack');
    },
    close: () => socket.close(1000),
  };
  return raw;
}

export function bearer(jwt: string): { authorization: string } {
  return { authorization: `Bearer ${jwt}` };
}
