import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './observability/log.js';
import { createServer } from './server.js';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

const log = createLogger(config.logLevel, process.env.LOG_PRETTY === '1' || process.argv.includes('--pretty'));
const server = await createServer(config, log);
await server.start();

log.info(
  {
    url: server.url,
    database: config.databaseUrl ? 'postgres' : `pglite (${config.dataDir})`,
    pubsub: config.redisUrl ? 'redis' : 'in-process',
  },
  'server started',
);
console.log(`\nGraphQL API (HTTP, WebSocket, SSE): ${server.url}`);
if (config.graphiql) console.log(`GraphiQL: open ${server.url} in a browser`);
if (server.developmentAdmin) {
  const admin = await server.developmentAdmin.token();
  console.warn(
    '\n!!! No JWT_SECRET or JWT_PUBLIC_KEY: using the DEVELOPMENT secret. Never run like this in production. !!!' +
      `\nA development admin token (12 h):\n${admin}\n` +
      'GraphiQL opens with it in its headers; more tokens: npm run token -- --sub u1 --role customer\n',
  );
}
if (config.attachments.urlSecret === null) {
  log.warn('ATTACHMENT_URL_SECRET is not set: chat attachments are off (sendMessage refuses files)');
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'stop failed');
        process.exit(1);
      },
    );
  });
}
