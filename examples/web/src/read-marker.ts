import type { Client } from '@urql/core';
import { describeError, h } from './dom';
import { graphql } from './gql';

const ReadReceipts = graphql(`
  query ChatReadReceipts($id: ID!) {
    conversation(id: $id) {
      id
      readReceipts {
        lastReadMessageId
        user {
          id
        }
      }
    }
  }
`);

const ReadReceiptChanged = graphql(`
  subscription ChatReadReceiptChanged($conversationId: ID!) {
    readReceiptChanged(conversationId: $conversationId) {
      lastReadMessageId
      user {
        id
      }
    }
  }
`);

const MarkRead = graphql(`
  mutation ChatMarkRead($conversationId: ID!, $messageId: ID!) {
    markConversationRead(conversationId: $conversationId, messageId: $messageId) {
      id
    }
  }
`);

/** Decimal ids of any length: longer is later. */
function later(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a > b;
}

/**
 * "read" under the newest message that someone else has read (their read
 * receipts: the conversation's list, then `readReceiptChanged`), and our own
 * position moved as messages from the others are shown.
 */
export function readReceipts(list: HTMLElement, client: Client, conversationId: string, status: HTMLElement) {
  const marker = h('p', { id: 'read-marker', class: 'read-marker' }, 'read');
  let newestRead: string | null = null;
  const place = () => {
    if (newestRead === null) return;
    // The newest shown message at or before the position: ids grow within a conversation.
    const read = [...list.querySelectorAll<HTMLElement>('li[data-id]')].filter((li) => !later(li.dataset['id']!, newestRead!)).pop();
    read?.append(marker);
  };
  const seen = (messageId: string) => {
    if (newestRead !== null && !later(messageId, newestRead)) return;
    newestRead = messageId;
    place();
  };
  void client.query(ReadReceipts, { id: conversationId }).toPromise().then((result) => {
    if (result.error) status.textContent = describeError(result.error);
    for (const receipt of result.data?.conversation?.readReceipts ?? []) seen(receipt.lastReadMessageId);
  });
  client.subscription(ReadReceiptChanged, { conversationId }).subscribe((result) => {
    if (result.error) status.textContent = describeError(result.error);
    if (result.data) seen(result.data.readReceiptChanged.lastReadMessageId);
  });

  let ourPosition: string | null = null;
  return {
    /** A message was shown: keep the marker at the end of what was read, and read others' messages ourselves. */
    shown(messageId: string, fromOthers: boolean) {
      place();
      if (!fromOthers || (ourPosition !== null && !later(messageId, ourPosition))) return;
      ourPosition = messageId;
      void client.mutation(MarkRead, { conversationId, messageId }).then((result) => {
        if (result.error) status.textContent = describeError(result.error);
      });
    },
  };
}
