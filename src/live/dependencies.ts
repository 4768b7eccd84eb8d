import { Kind, type FieldNode, type OperationDefinitionNode, valueFromASTUntyped } from 'graphql';
import type { Viewer } from '../auth/viewer.js';
import type { Channel } from '../pubsub/index.js';
import type { TopicName } from '../pubsub/topics.js';

/**
 * What a live query's result can depend on, as the PubSub channels whose
 * events may change it: per root field, from its arguments and the viewer
 * (who sees which orders). An event on none of them re-executes nothing. A
 * root field this table does not know depends on every outbox event and
 * every presence change: correct, if not cheap.
 */
export function dependencies(operation: OperationDefinitionNode, variables: Record<string, unknown> | null | undefined, viewer: Viewer | null): Channel<TopicName>[] {
  const channels = new Map<string, Channel<TopicName>>();
  const add = (...found: Channel<TopicName>[]) => {
    for (const channel of found) channels.set(channel.join('\u0000'), channel);
  };
  for (const selection of operation.selectionSet.selections) {
    // Fragments at the root are rare; whatever they select is covered by the catch-all.
    if (selection.kind !== Kind.FIELD) {
      add(...EVERYTHING);
      continue;
    }
    add(...rootFieldChannels(selection, variables, viewer));
  }
  return [...channels.values()];
}

const EVERYTHING: Channel<TopicName>[] = [
  ['activity', 'all'],
  ['presence.all', 'all'],
];

/** Whether the field selects `name` directly (a fragment might: then yes). */
function selects(field: FieldNode, name: string): boolean {
  return field.selectionSet?.selections.some((selection) => selection.kind !== Kind.FIELD || selection.name.value === name) ?? false;
}

function argument(field: FieldNode, name: string, variables: Record<string, unknown> | null | undefined): unknown {
  const node = field.arguments?.find((arg) => arg.name.value === name);
  return node ? valueFromASTUntyped(node.value, variables ?? undefined) : undefined;
}

/** The orders a viewer sees change on these channels (order.byPartner goes to the current partner; partner.event tells an old one). */
function visibleOrders(viewer: Viewer | null): Channel<TopicName>[] {
  if (!viewer) return [];
  if (viewer.role === 'ADMIN') return [['order.all', 'all']];
  if (viewer.role === 'PARTNER' && viewer.partnerId) {
    return [
      ['order.byPartner', viewer.partnerId],
      ['partner.event', viewer.partnerId],
    ];
  }
  return [['order.byCustomer', viewer.id]];
}

function rootFieldChannels(field: FieldNode, variables: Record<string, unknown> | null | undefined, viewer: Viewer | null): Channel<TopicName>[] {
  switch (field.name.value) {
    case '__typename':
      return [];
    case 'order': {
      const id = argument(field, 'id', variables);
      return typeof id === 'string' || typeof id === 'number' ? [['order.byId', String(id)]] : EVERYTHING;
    }
    case 'orders':
      return visibleOrders(viewer);
    case 'adminDashboard':
      // Earnings are written by the order's DELIVERED update, which order.all carries; presence only matters to onlineUsers.
      return selects(field, 'onlineUsers') ? [['order.all', 'all'], ['presence.all', 'all']] : [['order.all', 'all']];
    case 'partnerDashboard':
      return viewer?.partnerId
        ? [
            ['order.byPartner', viewer.partnerId],
            ['partner.event', viewer.partnerId],
          ]
        : [];
    case 'notifications':
    case 'unreadNotificationCount':
      return viewer
        ? [
            ['notification.created', viewer.id],
            ['notification.read', viewer.id],
          ]
        : [];
    case 'conversation': {
      const id = argument(field, 'id', variables);
      return typeof id === 'string' || typeof id === 'number'
        ? [
            ['message.created', String(id)],
            ['conversation.read', String(id)],
          ]
        : EVERYTHING;
    }
    default:
      return EVERYTHING;
  }
}

/**
 * The part of a live query's sharing key that names who asks. A dashboard
 * reads the same for every viewer its access rule lets in (all admins; the
 * users of one partner), so those share one execution; anything else is
 * per viewer.
 */
export function viewerPartOf(operation: OperationDefinitionNode, viewer: Viewer | null, viewerKey: () => string): string {
  const fields = operation.selectionSet.selections.map((selection) => (selection.kind === Kind.FIELD ? selection.name.value : null));
  if (fields.every((field) => field === 'adminDashboard' || field === '__typename')) return `role:${viewer?.role ?? ''}`;
  if (fields.every((field) => field === 'partnerDashboard' || field === '__typename')) return `partner:${viewer?.role ?? ''}:${viewer?.partnerId ?? ''}`;
  return viewerKey();
}
