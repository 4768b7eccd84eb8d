import { useMutation, useQuery, useSubscription } from '@apollo/client/react';
import { useEffect, useRef, useState } from 'react';
import { describeError, time } from '../format';
import { graphql } from '../gql';
import type { NotificationItemFragment } from '../gql/graphql';

graphql(`
  fragment NotificationItem on Notification {
    id
    kind
    priority
    title
    body
    read
    readAt
    createdAt
  }
`);

const RecentNotifications = graphql(`
  query RecentNotifications($first: Int!) {
    notifications(first: $first) {
      edges {
        node {
          ...NotificationItem
        }
      }
    }
  }
`);

const UnreadCount = graphql(`
  subscription UnreadCount {
    unreadCountChanged
  }
`);

const NotificationAdded = graphql(`
  subscription NotificationAdded($since: ID) {
    notificationAdded(since: $since) {
      ...NotificationItem
    }
  }
`);

// Both return the notifications they changed: the cache updates them, and with them the list.
const MarkRead = graphql(`
  mutation MarkRead($ids: [ID!]!) {
    markRead(ids: $ids) {
      unreadCount
      notifications {
        id
        read
        readAt
      }
    }
  }
`);

const MarkAllRead = graphql(`
  mutation MarkAllRead {
    markAllRead {
      unreadCount
      notifications {
        id
        read
        readAt
      }
    }
  }
`);

const SHOWN = 8;

/**
 * The notification bell: the unread count is `unreadCountChanged` (current
 * value first, then every change from any device); the list is the latest
 * page, then `notificationAdded` from the newest id on it, so nothing
 * committed in between is missed.
 */
export function Bell() {
  const [open, setOpen] = useState(false);
  const unread = useSubscription(UnreadCount);
  const recent = useQuery(RecentNotifications, { variables: { first: SHOWN } });
  const [markRead, marking] = useMutation(MarkRead);
  const [markAllRead, markingAll] = useMutation(MarkAllRead);
  const { subscribeToMore } = recent;

  // The resume point is the first page's newest id, fixed once the page has loaded.
  const since = useRef<string | null | undefined>(undefined);
  if (since.current === undefined && recent.data) since.current = recent.data.notifications.edges[0]?.node.id ?? null;
  const loaded = since.current !== undefined;
  useEffect(() => {
    if (since.current === undefined) return;
    return subscribeToMore({
      document: NotificationAdded,
      variables: { since: since.current },
      updateQuery: (previous, { subscriptionData }) => {
        const added = subscriptionData.data.notificationAdded;
        const edges = previous.notifications.edges;
        // A reconnect re-subscribes with the same `since`: what is shown already is skipped.
        if (edges.some((edge) => edge.node.id === added.id)) return previous;
        return { ...previous, notifications: { ...previous.notifications, edges: [{ __typename: 'NotificationEdge' as const, node: added }, ...edges].slice(0, SHOWN) } };
      },
    });
  }, [loaded, subscribeToMore]);

  const count = unread.data?.unreadCountChanged;
  const shown = recent.data?.notifications.edges.map((edge) => edge.node) ?? [];
  const error = unread.error ?? recent.error ?? marking.error ?? markingAll.error;

  return (
    <>
      <button id="bell-button" type="button" className="bell-button" aria-label="Notifications" aria-expanded={open} onClick={() => setOpen(!open)}>
        <BellIcon />
        <span id="unread-count" className={`badge${count === 0 ? ' zero' : ''}`} data-ready={count !== undefined}>
          {count ?? '…'}
        </span>
      </button>
      {open && (
        <div className="bell-panel">
          <div className="bell-head">
            <strong>Notifications</strong>
            <button id="mark-all-read" type="button" disabled={markingAll.loading} onClick={() => void markAllRead().catch(() => {})}>
              Mark all read
            </button>
          </div>
          <ul id="notification-list" className="notifications">
            {shown.length ? (
              shown.map((n) => <NotificationRow key={n.id} notification={n} onRead={() => void markRead({ variables: { ids: [n.id] } }).catch(() => {})} />)
            ) : (
              <li className="empty">Nothing yet</li>
            )}
          </ul>
          <p className="status">{error && describeError(error)}</p>
        </div>
      )}
    </>
  );
}

function NotificationRow({ notification: n, onRead }: { notification: NotificationItemFragment; onRead(): void }) {
  return (
    <li className={n.read ? 'read' : 'unread'} data-id={n.id} data-priority={n.priority} onClick={n.read ? undefined : onRead} title={n.read ? undefined : 'Mark read'}>
      <span className="title">{n.title}</span>
      <span className="body">{n.body}</span>
      <time dateTime={n.createdAt}>
        {n.kind.toLowerCase().replace('_', ' ')} · {time(n.createdAt)}
      </time>
    </li>
  );
}

function BellIcon() {
  return (
    <svg viewBox="0 0 24 24" aria-hidden="true" className="bell-icon">
      <path d="M12 2a6 6 0 0 0-6 6v3.6L4.3 15a1 1 0 0 0 .9 1.5h13.6a1 1 0 0 0 .9-1.5L18 11.6V8a6 6 0 0 0-6-6Zm0 20a3 3 0 0 0 3-3H9a3 3 0 0 0 3 3Z" />
    </svg>
  );
}
