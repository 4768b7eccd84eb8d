import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './users.js';
import './partners.js';
import './notifications.js';
import '../resolvers/users.js';
import '../resolvers/notifications.js';

export const schema = lexicographicSortSchema(builder.toSchema());
