import type { Client } from '@urql/core';
import { describeError, h, time } from './dom';
import { graphql } from './gql';
import type { NotificationItemFragment } from './gql/graphql';

graphql(`
  fragment NotificationItem on Notification {
    id
    kind
    priority
    title
    body
    read
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

const MarkAllRead = graphql(`
  mutation MarkAllRead {
    markAllRead {
      unreadCount
    }
  }
`);

const SHOWN = 8;

/**
 * The notification bell: the unread count is `unreadCountChanged` (current
 * value first, then every change from any device); the list is the latest
 * page, then `notificationAdded` from the newest id shown, so nothing
 * committed in between is missed.
 */
export async function mountBell(root: HTMLElement, client: Client): Promise<void> {
  const count = h('span', { id: 'unread-count', class: 'badge', 'data-ready': 'false' }, '…');
  const list = h('ul', { id: 'notification-list', class: 'notifications' });
  const status = h('p', { class: 'status' });
  const markAll = h('button', { id: 'mark-all-read', type: 'button' }, 'Mark all read');
  const panel = h('div', { class: 'bell-panel' }, h('div', { class: 'bell-head' }, h('strong', {}, 'Notifications'), markAll), list, status);
  const toggle = h('button', { id: 'bell-button', type: 'button', class: 'bell-button', 'aria-label': 'Notifications', 'aria-expanded': 'false' }, bellIcon(), count);
  panel.hidden = true;
  root.replaceChildren(toggle, panel);
  toggle.addEventListener('click', () => {
    panel.hidden = !panel.hidden;
    toggle.setAttribute('aria-expanded', String(!panel.hidden));
  });

  // Newest first. Ids are opaque: order comes from the page (newest first) and
  // from the stream (each event newer than everything before it).
  let shown: NotificationItemFragment[] = [];
  const render = () => {
    list.replaceChildren(
      ...(shown.length
        ? shown.map((n) =>
            h(
              'li',
              { class: n.read ? 'read' : 'unread', 'data-id': n.id, 'data-priority': n.priority },
              h('span', { class: 'title' }, n.title),
              h('span', { class: 'body' }, n.body),
              h('time', { datetime: n.createdAt }, `${n.kind.toLowerCase().replace('_', ' ')} · ${time(n.createdAt)}`),
            ),
          )
        : [h('li', { class: 'empty' }, 'Nothing yet')]),
    );
  };

  client.subscription(UnreadCount, {}).subscribe((result) => {
    if (result.error) status.textContent = describeError(result.error);
    if (result.data) {
      count.textContent = String(result.data.unreadCountChanged);
      count.dataset['ready'] = 'true';
      count.classList.toggle('zero', result.data.unreadCountChanged === 0);
    }
  });

  markAll.addEventListener('click', async () => {
    markAll.disabled = true;
    const result = await client.mutation(MarkAllRead, {});
    markAll.disabled = false;
    if (result.error) {
      status.textContent = describeError(result.error);
      return;
    }
    for (const n of shown) n.read = true;
    render();
  });

  const recent = await client.query(RecentNotifications, { first: SHOWN });
  if (recent.error) status.textContent = describeError(recent.error);
  shown = recent.data?.notifications.edges.map((edge) => edge.node) ?? [];
  render();
  client.subscription(NotificationAdded, { since: shown[0]?.id ?? null }).subscribe((result) => {
    if (result.error) status.textContent = describeError(result.error);
    if (result.data) {
      const added = result.data.notificationAdded;
      // A reconnect re-subscribes with the same `since`: what is shown already is skipped.
      if (shown.some((n) => n.id === added.id)) return;
      shown = [added, ...shown].slice(0, SHOWN);
      render();
    }
  });
}

function bellIcon(): SVGSVGElement {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.classList.add('bell-icon');
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('d', 'M12 2a6 6 0 0 0-6 6v3.6L4.3 15a1 1 0 0 0 .9 1.5h13.6a1 1 0 0 0 .9-1.5L18 11.6V8a6 6 0 0 0-6-6Zm0 20a3 3 0 0 0 3-3H9a3 3 0 0 0 3 3Z');
  svg.append(path);
  return svg;
}
