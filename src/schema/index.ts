import { GraphQLSchema, lexicographicSortSchema, specifiedDirectives } from 'graphql';
import { builder } from './builder.js';
import { liveDirective } from './live-directive.js';
import './scalars.js';
import './users.js';
import './partners.js';
import './notifications.js';
import './orders.js';
import './chat.js';
import './preferences.js';
import './activity.js';
import './presence.js';
import './dashboards.js';
import '../resolvers/users.js';
import '../resolvers/notifications.js';
import '../resolvers/orders.js';
import '../resolvers/chat.js';
import '../resolvers/read-receipts.js';
import '../resolvers/preferences.js';
import '../resolvers/activity.js';
import '../resolvers/presence.js';
import '../resolvers/dashboards.js';

// @live is read by the live-query engine (src/live/), not by a field: Pothos declares no operation directives.
const built = builder.toSchema();
export const schema = lexicographicSortSchema(new GraphQLSchema({ ...built.toConfig(), directives: [...specifiedDirectives, liveDirective] }));
