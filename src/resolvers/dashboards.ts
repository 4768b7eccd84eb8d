import { viewerOf } from '../context.js';
import { adminFigures, partnerFigures } from '../db/dashboards.js';
import { forbidden } from '../errors.js';
import { builder } from '../schema/builder.js';
import { AdminDashboard, PartnerDashboard } from '../schema/dashboards.js';

builder.queryFields((t) => ({
  adminDashboard: t.field({
    type: AdminDashboard,
    description: 'ADMIN only.',
    authScopes: { authenticated: true },
    resolve: async (_root, _args, context) => {
      if (viewerOf(context).role !== 'ADMIN') throw forbidden('The admin dashboard is for ADMIN');
      const [figures, onlineUsers] = await Promise.all([adminFigures(context.services.db), context.services.presence.countOnline()]);
      return { ...figures, onlineUsers };
    },
  }),
  partnerDashboard: t.field({
    type: PartnerDashboard,
    description: "PARTNER only: the caller's partner.",
    authScopes: { authenticated: true },
    resolve: async (_root, _args, context) => {
      const viewer = viewerOf(context);
      if (viewer.role !== 'PARTNER' || !viewer.partnerId) throw forbidden('The partner dashboard is for PARTNER');
      return partnerFigures(context.services.db, viewer.partnerId);
    },
  }),
}));
