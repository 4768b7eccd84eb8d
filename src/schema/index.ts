import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './users.js';
import './partners.js';
import './notifications.js';
import './chat.js';
import './preferences.js';
import './activity.js';
import './presence.js';
import '../resolvers/users.js';
import '../resolvers/notifications.js';
import '../resolvers/chat.js';
import '../resolvers/preferences.js';
import '../resolvers/activity.js';
import '../resolvers/presence.js';

export const schema = lexicographicSortSchema(builder.toSchema());
