import { createServer, connect, type Socket } from 'node:net';

/**
 * A TCP path between clients and a server that can go silent on command, as
 * a client's network does when it vanishes (a phone out of coverage, a
 * sleeping laptop, a NAT that forgot the flow): nothing more gets through in
 * either direction, and neither end is told (no FIN, no RST).
 */
export interface TcpProxy {
  /** The target's URL (path and query kept), through the proxy. */
  url: string;
  /** Stops forwarding and reading on every connection, closing nothing. */
  freeze(): void;
  /**
   * As `freeze`, then the server's next bytes on each connection are answered
   * with a reset, as a rebooted client host answers them: the server's write fails.
   */
  rebootClient(): void;
  /** Cuts every connection and stops listening. */
  close(): Promise<void>;
}

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let mode: 'forward' | 'frozen' | 'reset' = 'forward';

  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    const pair = { client, upstream };
    pairs.add(pair);
    client.on('data', (chunk) => {
      if (mode === 'forward') upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (mode === 'forward') client.write(chunk);
      else if (mode === 'reset') upstream.resetAndDestroy();
    });
    client.on('end', () => mode === 'forward' && upstream.end());
    upstream.on('end', () => mode === 'forward' && client.end());
    const cut = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', cut);
    upstream.on('error', cut);
    client.on('close', () => mode === 'forward' && cut());
    upstream.on('close', () => mode === 'forward' && cut());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the proxy has no port');
  const url = new URL(targetUrl);
  url.host = `127.0.0.1:${address.port}`;

  return {
    url: url.toString(),
    freeze() {
      mode = 'frozen';
      for (const { client, upstream } of pairs) {
        client.pause();
        upstream.pause();
      }
    },
    rebootClient() {
      mode = 'reset';
      for (const { client, upstream } of pairs) {
        client.pause();
        upstream.resume();
      }
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
