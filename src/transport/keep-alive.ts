import type { WebSocket, WebSocketServer } from 'ws';

/**
 * Notices clients that vanished without closing (a phone out of coverage, a
 * sleeping laptop, a NAT that forgot the flow): every `intervalMs` each
 * connection of `wsServer` gets a WebSocket ping, whatever its subprotocol,
 * and one that has not answered the previous ping by then is terminated. Its
 * `close` event then runs every close handler as for a closed socket (slot,
 * presence, subscriptions), at most 2 × `intervalMs` after the client went.
 *
 * One timer for the whole server, not one per socket. The timer stops when
 * `wsServer` closes; until then it also cuts sockets that a shutdown asked to
 * close but whose client no longer answers.
 */
export function keepAlive(wsServer: WebSocketServer, intervalMs: number): void {
  const unanswered = new WeakSet<WebSocket>();
  // One listener function for every socket: `this` is the socket that answered.
  function answered(this: WebSocket): void {
    unanswered.delete(this);
  }
  wsServer.on('connection', (socket) => socket.on('pong', answered));
  const timer = setInterval(() => {
    for (const socket of wsServer.clients) {
      if (unanswered.has(socket)) {
        socket.terminate();
        continue;
      }
      unanswered.add(socket);
      // A socket already closing gets no ping: it has until the next round to finish its close.
      if (socket.readyState === socket.OPEN) socket.ping();
    }
  }, intervalMs);
  timer.unref();
  wsServer.once('close', () => clearInterval(timer));
}
