import { viewerOf } from '../context.js';
import { findUsers } from '../db/users.js';
import { builder } from '../schema/builder.js';
import { User } from '../schema/users.js';

builder.queryField('me', (t) =>
  t.field({
    type: User,
    authScopes: { authenticated: true },
    resolve: async (_root, _args, context) => {
      const viewer = viewerOf(context);
      const [row] = await findUsers(context.services.db, [viewer.id]);
      if (!row) throw new Error(`viewer ${viewer.id} was not provisioned`);
      return row;
    },
  }),
);
