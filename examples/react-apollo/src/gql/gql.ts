/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query Me {\n    me {\n      id\n      displayName\n      role\n      partner {\n        id\n        businessName\n      }\n    }\n  }\n": typeof types.MeDocument,
    "\n  fragment NotificationItem on Notification {\n    id\n    kind\n    priority\n    title\n    body\n    read\n    readAt\n    createdAt\n  }\n": typeof types.NotificationItemFragmentDoc,
    "\n  query RecentNotifications($first: Int!) {\n    notifications(first: $first) {\n      edges {\n        node {\n          ...NotificationItem\n        }\n      }\n    }\n  }\n": typeof types.RecentNotificationsDocument,
    "\n  subscription UnreadCount {\n    unreadCountChanged\n  }\n": typeof types.UnreadCountDocument,
    "\n  subscription NotificationAdded($since: ID) {\n    notificationAdded(since: $since) {\n      ...NotificationItem\n    }\n  }\n": typeof types.NotificationAddedDocument,
    "\n  mutation MarkRead($ids: [ID!]!) {\n    markRead(ids: $ids) {\n      unreadCount\n      notifications {\n        id\n        read\n        readAt\n      }\n    }\n  }\n": typeof types.MarkReadDocument,
    "\n  mutation MarkAllRead {\n    markAllRead {\n      unreadCount\n      notifications {\n        id\n        read\n        readAt\n      }\n    }\n  }\n": typeof types.MarkAllReadDocument,
    "\n  fragment BoardOrder on Order {\n    id\n    description\n    status\n    totalCents\n    updatedAt\n    customer {\n      id\n      displayName\n    }\n    partner {\n      id\n      businessName\n    }\n    lastLocation {\n      latitude\n      longitude\n      recordedAt\n    }\n  }\n": typeof types.BoardOrderFragmentDoc,
    "\n  query BoardOrders($first: Int!) {\n    orders(first: $first) {\n      edges {\n        node {\n          ...BoardOrder\n        }\n      }\n    }\n  }\n": typeof types.BoardOrdersDocument,
    "\n  subscription BoardUpdates {\n    orderUpdated {\n      ...BoardOrder\n    }\n  }\n": typeof types.BoardUpdatesDocument,
    "\n  query MyOrders($first: Int!) {\n    orders(first: $first) {\n      edges {\n        node {\n          id\n          description\n          status\n          updatedAt\n        }\n      }\n    }\n  }\n": typeof types.MyOrdersDocument,
    "\n  fragment TrackedOrder on Order {\n    id\n    description\n    status\n    totalCents\n    updatedAt\n    partner {\n      id\n      businessName\n    }\n    lastLocation {\n      latitude\n      longitude\n      recordedAt\n    }\n    statusHistory {\n      status\n      changedAt\n      note\n    }\n  }\n": typeof types.TrackedOrderFragmentDoc,
    "\n  subscription TrackOrder($orderId: ID!) {\n    orderUpdated(orderId: $orderId) {\n      ...TrackedOrder\n    }\n  }\n": typeof types.TrackOrderDocument,
};
const documents: Documents = {
    "\n  query Me {\n    me {\n      id\n      displayName\n      role\n      partner {\n        id\n        businessName\n      }\n    }\n  }\n": types.MeDocument,
    "\n  fragment NotificationItem on Notification {\n    id\n    kind\n    priority\n    title\n    body\n    read\n    readAt\n    createdAt\n  }\n": types.NotificationItemFragmentDoc,
    "\n  query RecentNotifications($first: Int!) {\n    notifications(first: $first) {\n      edges {\n        node {\n          ...NotificationItem\n        }\n      }\n    }\n  }\n": types.RecentNotificationsDocument,
    "\n  subscription UnreadCount {\n    unreadCountChanged\n  }\n": types.UnreadCountDocument,
    "\n  subscription NotificationAdded($since: ID) {\n    notificationAdded(since: $since) {\n      ...NotificationItem\n    }\n  }\n": types.NotificationAddedDocument,
    "\n  mutation MarkRead($ids: [ID!]!) {\n    markRead(ids: $ids) {\n      unreadCount\n      notifications {\n        id\n        read\n        readAt\n      }\n    }\n  }\n": types.MarkReadDocument,
    "\n  mutation MarkAllRead {\n    markAllRead {\n      unreadCount\n      notifications {\n        id\n        read\n        readAt\n      }\n    }\n  }\n": types.MarkAllReadDocument,
    "\n  fragment BoardOrder on Order {\n    id\n    description\n    status\n    totalCents\n    updatedAt\n    customer {\n      id\n      displayName\n    }\n    partner {\n      id\n      businessName\n    }\n    lastLocation {\n      latitude\n      longitude\n      recordedAt\n    }\n  }\n": types.BoardOrderFragmentDoc,
    "\n  query BoardOrders($first: Int!) {\n    orders(first: $first) {\n      edges {\n        node {\n          ...BoardOrder\n        }\n      }\n    }\n  }\n": types.BoardOrdersDocument,
    "\n  subscription BoardUpdates {\n    orderUpdated {\n      ...BoardOrder\n    }\n  }\n": types.BoardUpdatesDocument,
    "\n  query MyOrders($first: Int!) {\n    orders(first: $first) {\n      edges {\n        node {\n          id\n          description\n          status\n          updatedAt\n        }\n      }\n    }\n  }\n": types.MyOrdersDocument,
    "\n  fragment TrackedOrder on Order {\n    id\n    description\n    status\n    totalCents\n    updatedAt\n    partner {\n      id\n      businessName\n    }\n    lastLocation {\n      latitude\n      longitude\n      recordedAt\n    }\n    statusHistory {\n      status\n      changedAt\n      note\n    }\n  }\n": types.TrackedOrderFragmentDoc,
    "\n  subscription TrackOrder($orderId: ID!) {\n    orderUpdated(orderId: $orderId) {\n      ...TrackedOrder\n    }\n  }\n": types.TrackOrderDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Me {\n    me {\n      id\n      displayName\n      role\n      partner {\n        id\n        businessName\n      }\n    }\n  }\n"): (typeof documents)["\n  query Me {\n    me {\n      id\n      displayName\n      role\n      partner {\n        id\n        businessName\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment NotificationItem on Notification {\n    id\n    kind\n    priority\n    title\n    body\n    read\n    readAt\n    createdAt\n  }\n"): (typeof documents)["\n  fragment NotificationItem on Notification {\n    id\n    kind\n    priority\n    title\n    body\n    read\n    readAt\n    createdAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RecentNotifications($first: Int!) {\n    notifications(first: $first) {\n      edges {\n        node {\n          ...NotificationItem\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query RecentNotifications($first: Int!) {\n    notifications(first: $first) {\n      edges {\n        node {\n          ...NotificationItem\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription UnreadCount {\n    unreadCountChanged\n  }\n"): (typeof documents)["\n  subscription UnreadCount {\n    unreadCountChanged\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription NotificationAdded($since: ID) {\n    notificationAdded(since: $since) {\n      ...NotificationItem\n    }\n  }\n"): (typeof documents)["\n  subscription NotificationAdded($since: ID) {\n    notificationAdded(since: $since) {\n      ...NotificationItem\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation MarkRead($ids: [ID!]!) {\n    markRead(ids: $ids) {\n      unreadCount\n      notifications {\n        id\n        read\n        readAt\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation MarkRead($ids: [ID!]!) {\n    markRead(ids: $ids) {\n      unreadCount\n      notifications {\n        id\n        read\n        readAt\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation MarkAllRead {\n    markAllRead {\n      unreadCount\n      notifications {\n        id\n        read\n        readAt\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation MarkAllRead {\n    markAllRead {\n      unreadCount\n      notifications {\n        id\n        read\n        readAt\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment BoardOrder on Order {\n    id\n    description\n    status\n    totalCents\n    updatedAt\n    customer {\n      id\n      displayName\n    }\n    partner {\n      id\n      businessName\n    }\n    lastLocation {\n      latitude\n      longitude\n      recordedAt\n    }\n  }\n"): (typeof documents)["\n  fragment BoardOrder on Order {\n    id\n    description\n    status\n    totalCents\n    updatedAt\n    customer {\n      id\n      displayName\n    }\n    partner {\n      id\n      businessName\n    }\n    lastLocation {\n      latitude\n      longitude\n      recordedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query BoardOrders($first: Int!) {\n    orders(first: $first) {\n      edges {\n        node {\n          ...BoardOrder\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query BoardOrders($first: Int!) {\n    orders(first: $first) {\n      edges {\n        node {\n          ...BoardOrder\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription BoardUpdates {\n    orderUpdated {\n      ...BoardOrder\n    }\n  }\n"): (typeof documents)["\n  subscription BoardUpdates {\n    orderUpdated {\n      ...BoardOrder\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MyOrders($first: Int!) {\n    orders(first: $first) {\n      edges {\n        node {\n          id\n          description\n          status\n          updatedAt\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query MyOrders($first: Int!) {\n    orders(first: $first) {\n      edges {\n        node {\n          id\n          description\n          status\n          updatedAt\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment TrackedOrder on Order {\n    id\n    description\n    status\n    totalCents\n    updatedAt\n    partner {\n      id\n      businessName\n    }\n    lastLocation {\n      latitude\n      longitude\n      recordedAt\n    }\n    statusHistory {\n      status\n      changedAt\n      note\n    }\n  }\n"): (typeof documents)["\n  fragment TrackedOrder on Order {\n    id\n    description\n    status\n    totalCents\n    updatedAt\n    partner {\n      id\n      businessName\n    }\n    lastLocation {\n      latitude\n      longitude\n      recordedAt\n    }\n    statusHistory {\n      status\n      changedAt\n      note\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription TrackOrder($orderId: ID!) {\n    orderUpdated(orderId: $orderId) {\n      ...TrackedOrder\n    }\n  }\n"): (typeof documents)["\n  subscription TrackOrder($orderId: ID!) {\n    orderUpdated(orderId: $orderId) {\n      ...TrackedOrder\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;