import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { signToken, type TokenClaims } from '../auth/token.js';

const { values } = parseArgs({
  options: {
    sub: { type: 'string' },
    role: { type: 'string', default: 'customer' },
    name: { type: 'string' },
    'partner-id': { type: 'string' },
    'partner-name': { type: 'string' },
    expires: { type: 'string', default: '12h' },
  },
});

const config = loadConfig();
if (config.jwt.kind !== 'secret') {
  console.error('npm run token signs with JWT_SECRET; with JWT_PUBLIC_KEY tokens come from your identity provider.');
  process.exit(1);
}
const role = values.role as TokenClaims['role'];
if (!values.sub || !['customer', 'partner', 'admin'].includes(role)) {
  console.error('usage: npm run token -- --sub <user id> --role customer|partner|admin [--name N] [--partner-id P] [--expires 12h]');
  process.exit(1);
}
if (role === 'partner' && !values['partner-id']) {
  console.error('--partner-id is required for role partner');
  process.exit(1);
}
const claims: TokenClaims = {
  sub: values.sub,
  role,
  ...(values.name ? { name: values.name } : {}),
  ...(values['partner-id'] ? { partner_id: values['partner-id'] } : {}),
  ...(values['partner-name'] ? { partner_name: values['partner-name'] } : {}),
};
console.log(await signToken(config.jwt.secret, claims, values.expires));
