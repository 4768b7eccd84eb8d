import type { ActivityItem } from '../db/activity.js';
import { listActivity } from '../db/activity.js';
import { badInput } from '../errors.js';
import { ActivityConnection, ActivityEvent } from '../schema/activity.js';
import { builder } from '../schema/builder.js';
import { loadPage, pageArgs } from '../schema/pagination.js';
import type { OutboxEvent } from '../pubsub/topics.js';
import { FANOUT, type FanoutKey } from '../schema/field-extensions.js';
import { closingWith } from '../streams/lean.js';
import { perEvent } from '../streams/per-event.js';

const TOPIC_MAX = 100;

const activityItem = perEvent((event: OutboxEvent<unknown>): ActivityItem => ({ id: event.id, topic: event.topic, payload: event.payload, createdAt: event.createdAt }));

function topicFilter(topic: string | null | undefined): string | null {
  if (topic === null || topic === undefined) return null;
  if (topic.length === 0 || topic.length > TOPIC_MAX) throw badInput('topic', `must be 1–${TOPIC_MAX} characters`);
  return topic;
}

builder.queryField('activity', (t) =>
  t.field({
    type: ActivityConnection,
    description: 'ADMIN only. Newest first.',
    authScopes: { admin: true },
    args: { ...pageArgs(t.arg, 50), topic: t.arg.string() },
    resolve: (_root, args, context) => {
      const { config, db } = context.services;
      return loadPage(args, 50, config.limits.pageSizeMax, (page) => listActivity(db, { ...page, topic: topicFilter(args.topic) }));
    },
  }),
);

builder.subscriptionField('activityAdded', (t) =>
  t.field({
    type: ActivityEvent,
    description: 'ADMIN only: every durable event, live.',
    authScopes: { admin: true },
    args: { topic: t.arg.string() },
    // Every admin gets the same feed (the topic is part of the operation's key).
    extensions: { [FANOUT]: (() => 'admins') satisfies FanoutKey },
    subscribe: async (_root, args, context) => {
      const topic = topicFilter(args.topic);
      // One channel carries every outbox event; filtering here costs a string compare per event.
      const live = await context.services.pubsub.subscribe([['activity', 'all']]);
      async function* run(): AsyncGenerator<ActivityItem> {
        for await (const event of live) {
          if (topic !== null && event.topic !== topic) continue;
          yield activityItem(event);
        }
      }
      return closingWith(run(), live);
    },
    resolve: (item) => item,
  }),
);
