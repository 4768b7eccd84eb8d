import { findPartner } from '../db/users.js';
import type { PartnerRow, UserRow } from '../db/types.js';
import { builder } from './builder.js';

export const Role = builder.enumType('Role', { values: ['CUSTOMER', 'PARTNER', 'ADMIN'] as const });

export const Partner = builder.objectRef<PartnerRow>('Partner');

export const User = builder.objectRef<UserRow>('User').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    displayName: t.exposeString('display_name'),
    role: t.field({ type: Role, resolve: (user) => user.role }),
    partner: t.field({
      type: Partner,
      nullable: true,
      description: 'Set for users whose role is PARTNER.',
      resolve: async (user, _args, { services }) => (user.partner_id ? ((await findPartner(services.db, user.partner_id)) ?? null) : null),
    }),
  }),
});
