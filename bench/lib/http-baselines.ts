/**
 * The baselines of bench/http.ts, one per process:
 *   plain  a node:http server answering every request with a fixed JSON body
 *          (after reading the request body, as any handler must)
 *   yoga   a bare `createYoga` hello-world schema mounted on node:http
 *          the way Yoga's documentation shows (`createServer(yoga)`)
 * Reports { kind: 'listening', port } over IPC.
 */
import { createServer, type RequestListener } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';

const which = process.argv[2];

const BODY = JSON.stringify({ data: { __typename: 'Query' } });

const plain: RequestListener = (request, response) => {
  request.on('data', () => {});
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/graphql-response+json; charset=utf-8', 'content-length': Buffer.byteLength(BODY) });
    response.end(BODY);
  });
};

function bareYoga(): RequestListener {
  const yoga = createYoga({
    schema: createSchema({ typeDefs: 'type Query { hello: String }', resolvers: { Query: { hello: () => 'world' } } }),
    logging: false,
  });
  return yoga;
}

const server = createServer(which === 'yoga' ? bareYoga() : plain);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send!({ kind: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
});
process.on('message', (message: { kind: string }) => {
  if (message.kind === 'close') process.exit(0);
});
