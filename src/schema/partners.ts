import { partnerLoaders } from '../db/partners.js';
import { Partner } from './users.js';

Partner.implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    businessName: t.exposeString('business_name'),
    earningsTotalCents: t.int({
      description: 'Sum of all earnings entries, in cents.',
      resolve: async (partner, _args, { services }) => (await partnerLoaders(services.db).earningsTotalCents(partner.id)) ?? 0,
    }),
  }),
});

export { Partner };
