import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { exampleUrl, seed, SeedError } from './demo-data.js';

const { values } = parseArgs({
  options: {
    api: { type: 'string' },
    web: { type: 'string', default: 'http://127.0.0.1:5173/' },
    react: { type: 'string', default: 'http://127.0.0.1:5174/' },
    expires: { type: 'string', default: '12h' },
  },
});

// Same environment as the server: its HOST/PORT say where the API is, its JWT_SECRET signs the tokens.
const config = loadConfig();
if (config.jwt.kind !== 'secret') {
  console.error('npm run seed signs tokens with JWT_SECRET; with JWT_PUBLIC_KEY tokens come from your identity provider.');
  process.exit(1);
}
const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
const apiUrl = values.api ?? `http://${host.includes(':') ? `[${host}]` : host}:${config.port}/graphql`;

try {
  const result = await seed({ apiUrl, secret: config.jwt.secret, expiresIn: values.expires });
  const line = (label: string, user: typeof result.customer) => `${label} ${user.claims.sub} (${user.claims.name}):\n  ${user.token}`;
  console.log(
    [
      `Seeded through ${apiUrl}${config.jwt.development ? ' (tokens signed with the DEVELOPMENT secret)' : ''}`,
      `order ${result.orderId} "${result.orderDescription}", assigned to partner ${result.partnerId}`,
      '',
      line('customer', result.customer),
      line('partner ', result.partner),
      line('admin   ', result.admin),
      '',
      'The web example (cd examples/web && npm install && npm run dev), one window each:',
      `  customer: ${exampleUrl(values.web, apiUrl, result.customer.token, result.orderId)}`,
      `  partner:  ${exampleUrl(values.web, apiUrl, result.partner.token, result.orderId)}`,
      '',
      'The React + Apollo example (cd examples/react-apollo && npm install && npm run dev):',
      `  customer: ${exampleUrl(values.react, apiUrl, result.customer.token, result.orderId)}`,
      `  admin:    ${exampleUrl(values.react, apiUrl, result.admin.token, result.orderId)}#/board`,
    ].join('\n'),
  );
} catch (error) {
  if (!(error instanceof SeedError)) throw error;
  console.error(`npm run seed: ${error.message}`);
  process.exit(1);
}
