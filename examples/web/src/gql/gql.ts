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
    "\n  fragment NotificationItem on Notification {\n    id\n    kind\n    priority\n    title\n    body\n    read\n    createdAt\n  }\n": typeof types.NotificationItemFragmentDoc,
    "\n  query RecentNotifications($first: Int!) {\n    notifications(first: $first) {\n      edges {\n        node {\n          ...NotificationItem\n        }\n      }\n    }\n  }\n": typeof types.RecentNotificationsDocument,
    "\n  subscription UnreadCount {\n    unreadCountChanged\n  }\n": typeof types.UnreadCountDocument,
    "\n  subscription NotificationAdded($since: ID) {\n    notificationAdded(since: $since) {\n      ...NotificationItem\n    }\n  }\n": typeof types.NotificationAddedDocument,
    "\n  mutation MarkAllRead {\n    markAllRead {\n      unreadCount\n    }\n  }\n": typeof types.MarkAllReadDocument,
    "\n  query LiveAdminBoard @live {\n    adminDashboard {\n      ordersByStatus {\n        status\n        count\n      }\n      ordersToday\n      revenueTodayCents\n      activePartners\n      onlineUsers\n    }\n  }\n": typeof types.LiveAdminBoardDocument,
    "\n  fragment ChatMessage on Message {\n    id\n    kind\n    body\n    createdAt\n    sender {\n      id\n      displayName\n    }\n    attachments {\n      id\n      fileName\n      contentType\n      url\n    }\n  }\n": typeof types.ChatMessageFragmentDoc,
    "\n  mutation OpenOrderChat($orderId: ID!) {\n    orderConversation(orderId: $orderId) {\n      id\n      participants {\n        id\n        displayName\n        role\n      }\n      messages(first: 30) {\n        edges {\n          node {\n            ...ChatMessage\n          }\n        }\n      }\n    }\n  }\n": typeof types.OpenOrderChatDocument,
    "\n  subscription ChatMessages($conversationId: ID!, $since: ID) {\n    messageAdded(conversationId: $conversationId, since: $since) {\n      ...ChatMessage\n    }\n  }\n": typeof types.ChatMessagesDocument,
    "\n  subscription ChatTyping($conversationId: ID!) {\n    typing(conversationId: $conversationId) {\n      typing\n      expiresAt\n      user {\n        id\n        displayName\n      }\n    }\n  }\n": typeof types.ChatTypingDocument,
    "\n  mutation SetTyping($conversationId: ID!, $typing: Boolean!) {\n    setTyping(conversationId: $conversationId, typing: $typing)\n  }\n": typeof types.SetTypingDocument,
    "\n  mutation SendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      ...ChatMessage\n    }\n  }\n": typeof types.SendMessageDocument,
    "\n  query Me {\n    me {\n      id\n      displayName\n      role\n      partner {\n        businessName\n      }\n    }\n  }\n": typeof types.MeDocument,
    "\n  query ChatReadReceipts($id: ID!) {\n    conversation(id: $id) {\n      id\n      readReceipts {\n        lastReadMessageId\n        user {\n          id\n        }\n      }\n    }\n  }\n": typeof types.ChatReadReceiptsDocument,
    "\n  subscription ChatReadReceiptChanged($conversationId: ID!) {\n    readReceiptChanged(conversationId: $conversationId) {\n      lastReadMessageId\n      user {\n        id\n      }\n    }\n  }\n": typeof types.ChatReadReceiptChangedDocument,
    "\n  mutation ChatMarkRead($conversationId: ID!, $messageId: ID!) {\n    markConversationRead(conversationId: $conversationId, messageId: $messageId) {\n      id\n    }\n  }\n": typeof types.ChatMarkReadDocument,
    "\n  fragment TrackedOrder on Order {\n    id\n    description\n    status\n    totalCents\n    updatedAt\n    partner {\n      id\n      businessName\n    }\n    lastLocation {\n      latitude\n      longitude\n      recordedAt\n    }\n    statusHistory {\n      status\n      changedAt\n      note\n    }\n  }\n": typeof types.TrackedOrderFragmentDoc,
    "\n  subscription TrackOrder($orderId: ID!) {\n    orderUpdated(orderId: $orderId) {\n      ...TrackedOrder\n    }\n  }\n": typeof types.TrackOrderDocument,
};
const documents: Documents = {
    "\n  fragment NotificationItem on Notification {\n    id\n    kind\n    priority\n    title\n    body\n    read\n    createdAt\n  }\n": types.NotificationItemFragmentDoc,
    "\n  query RecentNotifications($first: Int!) {\n    notifications(first: $first) {\n      edges {\n        node {\n          ...NotificationItem\n        }\n      }\n    }\n  }\n": types.RecentNotificationsDocument,
    "\n  subscription UnreadCount {\n    unreadCountChanged\n  }\n": types.UnreadCountDocument,
    "\n  subscription NotificationAdded($since: ID) {\n    notificationAdded(since: $since) {\n      ...NotificationItem\n    }\n  }\n": types.NotificationAddedDocument,
    "\n  mutation MarkAllRead {\n    markAllRead {\n      unreadCount\n    }\n  }\n": types.MarkAllReadDocument,
    "\n  query LiveAdminBoard @live {\n    adminDashboard {\n      ordersByStatus {\n        status\n        count\n      }\n      ordersToday\n      revenueTodayCents\n      activePartners\n      onlineUsers\n    }\n  }\n": types.LiveAdminBoardDocument,
    "\n  fragment ChatMessage on Message {\n    id\n    kind\n    body\n    createdAt\n    sender {\n      id\n      displayName\n    }\n    attachments {\n      id\n      fileName\n      contentType\n      url\n    }\n  }\n": types.ChatMessageFragmentDoc,
    "\n  mutation OpenOrderChat($orderId: ID!) {\n    orderConversation(orderId: $orderId) {\n      id\n      participants {\n        id\n        displayName\n        role\n      }\n      messages(first: 30) {\n        edges {\n          node {\n            ...ChatMessage\n          }\n        }\n      }\n    }\n  }\n": types.OpenOrderChatDocument,
    "\n  subscription ChatMessages($conversationId: ID!, $since: ID) {\n    messageAdded(conversationId: $conversationId, since: $since) {\n      ...ChatMessage\n    }\n  }\n": types.ChatMessagesDocument,
    "\n  subscription ChatTyping($conversationId: ID!) {\n    typing(conversationId: $conversationId) {\n      typing\n      expiresAt\n      user {\n        id\n        displayName\n      }\n    }\n  }\n": types.ChatTypingDocument,
    "\n  mutation SetTyping($conversationId: ID!, $typing: Boolean!) {\n    setTyping(conversationId: $conversationId, typing: $typing)\n  }\n": types.SetTypingDocument,
    "\n  mutation SendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      ...ChatMessage\n    }\n  }\n": types.SendMessageDocument,
    "\n  query Me {\n    me {\n      id\n      displayName\n      role\n      partner {\n        businessName\n      }\n    }\n  }\n": types.MeDocument,
    "\n  query ChatReadReceipts($id: ID!) {\n    conversation(id: $id) {\n      id\n      readReceipts {\n        lastReadMessageId\n        user {\n          id\n        }\n      }\n    }\n  }\n": types.ChatReadReceiptsDocument,
    "\n  subscription ChatReadReceiptChanged($conversationId: ID!) {\n    readReceiptChanged(conversationId: $conversationId) {\n      lastReadMessageId\n      user {\n        id\n      }\n    }\n  }\n": types.ChatReadReceiptChangedDocument,
    "\n  mutation ChatMarkRead($conversationId: ID!, $messageId: ID!) {\n    markConversationRead(conversationId: $conversationId, messageId: $messageId) {\n      id\n    }\n  }\n": types.ChatMarkReadDocument,
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
export function graphql(source: "\n  fragment NotificationItem on Notification {\n    id\n    kind\n    priority\n    title\n    body\n    read\n    createdAt\n  }\n"): (typeof documents)["\n  fragment NotificationItem on Notification {\n    id\n    kind\n    priority\n    title\n    body\n    read\n    createdAt\n  }\n"];
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
export function graphql(source: "\n  mutation MarkAllRead {\n    markAllRead {\n      unreadCount\n    }\n  }\n"): (typeof documents)["\n  mutation MarkAllRead {\n    markAllRead {\n      unreadCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query LiveAdminBoard @live {\n    adminDashboard {\n      ordersByStatus {\n        status\n        count\n      }\n      ordersToday\n      revenueTodayCents\n      activePartners\n      onlineUsers\n    }\n  }\n"): (typeof documents)["\n  query LiveAdminBoard @live {\n    adminDashboard {\n      ordersByStatus {\n        status\n        count\n      }\n      ordersToday\n      revenueTodayCents\n      activePartners\n      onlineUsers\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ChatMessage on Message {\n    id\n    kind\n    body\n    createdAt\n    sender {\n      id\n      displayName\n    }\n    attachments {\n      id\n      fileName\n      contentType\n      url\n    }\n  }\n"): (typeof documents)["\n  fragment ChatMessage on Message {\n    id\n    kind\n    body\n    createdAt\n    sender {\n      id\n      displayName\n    }\n    attachments {\n      id\n      fileName\n      contentType\n      url\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation OpenOrderChat($orderId: ID!) {\n    orderConversation(orderId: $orderId) {\n      id\n      participants {\n        id\n        displayName\n        role\n      }\n      messages(first: 30) {\n        edges {\n          node {\n            ...ChatMessage\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation OpenOrderChat($orderId: ID!) {\n    orderConversation(orderId: $orderId) {\n      id\n      participants {\n        id\n        displayName\n        role\n      }\n      messages(first: 30) {\n        edges {\n          node {\n            ...ChatMessage\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ChatMessages($conversationId: ID!, $since: ID) {\n    messageAdded(conversationId: $conversationId, since: $since) {\n      ...ChatMessage\n    }\n  }\n"): (typeof documents)["\n  subscription ChatMessages($conversationId: ID!, $since: ID) {\n    messageAdded(conversationId: $conversationId, since: $since) {\n      ...ChatMessage\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ChatTyping($conversationId: ID!) {\n    typing(conversationId: $conversationId) {\n      typing\n      expiresAt\n      user {\n        id\n        displayName\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription ChatTyping($conversationId: ID!) {\n    typing(conversationId: $conversationId) {\n      typing\n      expiresAt\n      user {\n        id\n        displayName\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetTyping($conversationId: ID!, $typing: Boolean!) {\n    setTyping(conversationId: $conversationId, typing: $typing)\n  }\n"): (typeof documents)["\n  mutation SetTyping($conversationId: ID!, $typing: Boolean!) {\n    setTyping(conversationId: $conversationId, typing: $typing)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      ...ChatMessage\n    }\n  }\n"): (typeof documents)["\n  mutation SendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      ...ChatMessage\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Me {\n    me {\n      id\n      displayName\n      role\n      partner {\n        businessName\n      }\n    }\n  }\n"): (typeof documents)["\n  query Me {\n    me {\n      id\n      displayName\n      role\n      partner {\n        businessName\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ChatReadReceipts($id: ID!) {\n    conversation(id: $id) {\n      id\n      readReceipts {\n        lastReadMessageId\n        user {\n          id\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ChatReadReceipts($id: ID!) {\n    conversation(id: $id) {\n      id\n      readReceipts {\n        lastReadMessageId\n        user {\n          id\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ChatReadReceiptChanged($conversationId: ID!) {\n    readReceiptChanged(conversationId: $conversationId) {\n      lastReadMessageId\n      user {\n        id\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription ChatReadReceiptChanged($conversationId: ID!) {\n    readReceiptChanged(conversationId: $conversationId) {\n      lastReadMessageId\n      user {\n        id\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ChatMarkRead($conversationId: ID!, $messageId: ID!) {\n    markConversationRead(conversationId: $conversationId, messageId: $messageId) {\n      id\n    }\n  }\n"): (typeof documents)["\n  mutation ChatMarkRead($conversationId: ID!, $messageId: ID!) {\n    markConversationRead(conversationId: $conversationId, messageId: $messageId) {\n      id\n    }\n  }\n"];
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