import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** int8 columns come back as strings from both drivers, so ids never lose precision. */
type Id = ColumnType<string, string | number | bigint | undefined, never>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

export type RoleName = 'CUSTOMER' | 'PARTNER' | 'ADMIN';

export interface UsersTable {
  id: string;
  role: RoleName;
  display_name: string;
  partner_id: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface PartnersTable {
  id: string;
  business_name: string;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface NotificationsTable {
  id: Id;
  user_id: string;
  kind: Generated<string>;
  priority: Generated<string>;
  title: string;
  body: string;
  data: unknown;
  read_at: Date | null;
  created_at: CreatedAt;
}

export interface OutboxTable {
  id: Id;
  topic: string;
  payload: unknown;
  /** The delivery order, given by the relay once the row has committed; null until then. */
  position: ColumnType<string | null, never, string>;
  created_at: CreatedAt;
}

export interface OutboxRelayTable {
  id: number;
  last_published_position: ColumnType<string, never, string>;
  /** The highest position handed out: positions never go back, however much of the outbox is pruned. */
  last_position: ColumnType<string, never, string>;
  updated_at: UpdatedAt;
}

export interface NotificationPreferencesTable {
  user_id: string;
  kind: string;
  in_app: Generated<boolean>;
  offline: Generated<boolean>;
  updated_at: UpdatedAt;
}

/** When each user's last connection closed, kept across restarts. */
export interface UserPresenceTable {
  user_id: string;
  last_seen_at: Date;
}

export type WebhookDeliveryState = 'pending' | 'sent' | 'skipped' | 'failed';

export interface WebhookDeliveriesTable {
  notification_id: ColumnType<string, string, never>;
  state: Generated<WebhookDeliveryState>;
  attempts: Generated<number>;
  next_attempt_at: ColumnType<Date, Date | string, Date | string>;
  last_error: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface WebhookCursorTable {
  id: number;
  last_outbox_position: ColumnType<string, never, string>;
}

export type ConversationKindName = 'ORDER' | 'DIRECT';

export interface ConversationsTable {
  id: Id;
  kind: ConversationKindName;
  order_id: ColumnType<string | null, string | number | bigint | null | undefined, never>;
  direct_user_low: string | null;
  direct_user_high: string | null;
  created_at: CreatedAt;
}

export interface ConversationParticipantsTable {
  conversation_id: ColumnType<string, string | number | bigint, never>;
  user_id: string;
  last_read_message_id: ColumnType<string | null, string | number | bigint | null | undefined, string | number | bigint | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface MessagesTable {
  id: Id;
  conversation_id: ColumnType<string, string | number | bigint, never>;
  sender_id: string;
  body: string;
  reply_to_id: ColumnType<string | null, string | number | bigint | null | undefined, never>;
  client_message_id: string | null;
  /** SYSTEM messages are written by the orders trigger (migrations/…_chat_extras.sql). */
  kind: ColumnType<MessageKindName, MessageKindName | undefined, never>;
  /** Participants the sender mentioned, in the order given. */
  mention_user_ids: ColumnType<string[], string[] | undefined, never>;
  created_at: CreatedAt;
}

export type MessageKindName = 'TEXT' | 'SYSTEM';

export interface MessageAttachmentsTable {
  id: Id;
  message_id: ColumnType<string, string | number | bigint, never>;
  position: number;
  file_name: string;
  content_type: string;
  size_bytes: number;
  bytes: ColumnType<Buffer, Buffer, never>;
  created_at: CreatedAt;
}

export type OrderStatusName = 'PENDING' | 'CONFIRMED' | 'PICKED_UP' | 'IN_PROGRESS' | 'READY' | 'OUT_FOR_DELIVERY' | 'DELIVERED' | 'CANCELLED';

export interface OrdersTable {
  id: Id;
  customer_id: string;
  partner_id: string | null;
  status: ColumnType<OrderStatusName, OrderStatusName | undefined, OrderStatusName>;
  description: string;
  total_cents: number;
  /** Computed by a trigger from platform_settings when left out. */
  payout_cents: ColumnType<number, number | undefined, number>;
  last_latitude: number | null;
  last_longitude: number | null;
  last_location_at: Date | null;
  /** Bumped by a trigger on every update. */
  version: ColumnType<string, never, never>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface OrderStatusHistoryTable {
  id: Id;
  order_id: string;
  status: OrderStatusName;
  note: string | null;
  /** orders.version the change produced. */
  order_version: ColumnType<string, string | number | undefined, never>;
  changed_at: CreatedAt;
}

export interface EarningsTable {
  id: Id;
  partner_id: string;
  order_id: string;
  amount_cents: number;
  created_at: CreatedAt;
}

export interface PlatformSettingsTable {
  id: number;
  fee_percent: number;
  updated_at: UpdatedAt;
}

export interface Database {
  users: UsersTable;
  partners: PartnersTable;
  notifications: NotificationsTable;
  outbox: OutboxTable;
  outbox_relay: OutboxRelayTable;
  notification_preferences: NotificationPreferencesTable;
  user_presence: UserPresenceTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_cursor: WebhookCursorTable;
  conversations: ConversationsTable;
  conversation_participants: ConversationParticipantsTable;
  messages: MessagesTable;
  message_attachments: MessageAttachmentsTable;
  orders: OrdersTable;
  order_status_history: OrderStatusHistoryTable;
  earnings: EarningsTable;
  platform_settings: PlatformSettingsTable;
}

export type UserRow = Selectable<UsersTable>;
export type PartnerRow = Selectable<PartnersTable>;
export type NotificationRow = Selectable<NotificationsTable>;
export type NewNotification = Insertable<NotificationsTable>;
export type OutboxRow = Selectable<OutboxTable>;
export type NotificationPreferenceRow = Selectable<NotificationPreferencesTable>;
export type ConversationRow = Selectable<ConversationsTable>;
export type MessageRow = Selectable<MessagesTable>;
/** An attachment without its bytes: what a message lists. */
export type AttachmentRow = Omit<Selectable<MessageAttachmentsTable>, 'bytes'>;
export type ConversationParticipantRow = Selectable<ConversationParticipantsTable>;
export type OrderRow = Selectable<OrdersTable>;
export type OrderStatusChangeRow = Selectable<OrderStatusHistoryTable>;
