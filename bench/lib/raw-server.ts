/**
 * The limit to compare with: a plain `ws` server that sends one
 * pre-serialized frame to every socket. IPC: → { kind: 'broadcast', frame }.
 */
import { WebSocketServer } from 'ws';

const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
server.on('listening', () => {
  const address = server.address();
  process.send!({ kind: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
});
type Message = { kind: 'broadcast'; frame: string } | { kind: 'unicast'; index: number; frame: string } | { kind: 'close' };

process.on('message', (message: Message) => {
  if (message.kind === 'close') {
    server.close();
    process.exit(0);
  }
  // Serialized once; every socket gets the same bytes.
  const bytes = Buffer.from(message.frame);
  if (message.kind === 'broadcast') {
    for (const socket of server.clients) socket.send(bytes);
    return;
  }
  const sockets = [...server.clients];
  sockets[message.index % sockets.length]?.send(bytes);
});
