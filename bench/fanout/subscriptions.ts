/** The subscriptions the load process's connections hold, one document per scenario (idle holds the first three). */
export const NOTIFICATION_ADDED = 'subscription { notificationAdded { id title body createdAt } }';
export const UNREAD_COUNT = 'subscription { unreadCountChanged }';
export const ORDER_UPDATED = 'subscription { orderUpdated { id status updatedAt } }';
export const ACTIVITY_ADDED = 'subscription { activityAdded { id topic summary occurredAt } }';
export const ORDER_TRACKING = 'subscription ($orderId: ID) { orderUpdated(orderId: $orderId) { id status updatedAt lastLocation { latitude longitude } } }';
/** With since (the conversation's first message), a message sent before the subscription went live is replayed, not lost. */
export const MESSAGE_ADDED = 'subscription ($conversationId: ID!, $since: ID) { messageAdded(conversationId: $conversationId, since: $since) { id body createdAt sender { id displayName } } }';
