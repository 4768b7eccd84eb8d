import { Partner } from './users.js';

Partner.implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    businessName: t.exposeString('business_name'),
  }),
});

export { Partner };
