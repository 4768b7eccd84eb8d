import type { Client } from '@urql/core';
import { describeError, h, time } from './dom';
import { readReceipts } from './read-marker';
import { graphql } from './gql';
import type { ChatMessageFragment } from './gql/graphql';

graphql(`
  fragment ChatMessage on Message {
    id
    kind
    body
    createdAt
    sender {
      id
      displayName
    }
    attachments {
      id
      fileName
      contentType
      url
    }
  }
`);

const OpenOrderChat = graphql(`
  mutation OpenOrderChat($orderId: ID!) {
    orderConversation(orderId: $orderId) {
      id
      participants {
        id
        displayName
        role
      }
      messages(first: 30) {
        edges {
          node {
            ...ChatMessage
          }
        }
      }
    }
  }
`);

const MessageAdded = graphql(`
  subscription ChatMessages($conversationId: ID!, $since: ID) {
    messageAdded(conversationId: $conversationId, since: $since) {
      ...ChatMessage
    }
  }
`);

const Typing = graphql(`
  subscription ChatTyping($conversationId: ID!) {
    typing(conversationId: $conversationId) {
      typing
      expiresAt
      user {
        id
        displayName
      }
    }
  }
`);

const SetTyping = graphql(`
  mutation SetTyping($conversationId: ID!, $typing: Boolean!) {
    setTyping(conversationId: $conversationId, typing: $typing)
  }
`);

const SendMessage = graphql(`
  mutation SendMessage($input: SendMessageInput!) {
    sendMessage(input: $input) {
      ...ChatMessage
    }
  }
`);

/** A typing=true signal lapses on the server after 5 s: renew it well before. */
const TYPING_RENEW_MS = 2000;
/** No keystroke for this long: tell the others we stopped. */
const TYPING_IDLE_MS = 3000;

/**
 * The order chat: the conversation (created on first use) with its latest
 * messages, then `messageAdded` from the newest one shown, and `typing` for
 * the others' typing signals. Our own keystrokes send `setTyping`, throttled
 * far below the server's rate limit.
 */
export async function mountChat(root: HTMLElement, client: Client, orderId: string, meId: string): Promise<void> {
  root.hidden = false;
  root.replaceChildren(h('h2', {}, 'Order chat'), h('p', { class: 'muted' }, 'Opening the conversation…'));
  const opened = await client.mutation(OpenOrderChat, { orderId });
  if (opened.error || !opened.data) {
    root.replaceChildren(h('h2', {}, 'Order chat'), h('p', { class: 'status error', id: 'chat-error' }, opened.error ? describeError(opened.error) : 'No conversation'));
    return;
  }
  const conversation = opened.data.orderConversation;
  const conversationId = conversation.id;

  const list = h('ol', { id: 'messages', class: 'messages', 'aria-live': 'polite' });
  const typingLine = h('p', { id: 'typing', class: 'typing', 'aria-live': 'polite' });
  const input = h('input', { id: 'chat-input', name: 'body', autocomplete: 'off', placeholder: 'Write a message', maxlength: '4000' });
  const file = h('input', { id: 'chat-file', name: 'attachment', type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain' });
  const status = h('p', { class: 'status', id: 'chat-status' });
  const form = h('form', { id: 'chat-form', class: 'chat-form', 'data-conversation-id': conversationId }, input, file, h('button', { type: 'submit' }, 'Send'));
  root.replaceChildren(
    h('h2', {}, 'Order chat'),
    h('p', { class: 'muted', id: 'participants' }, conversation.participants.map((p) => `${p.displayName} (${p.role.toLowerCase()})`).join(', ')),
    list,
    typingLine,
    form,
    status,
  );

  const receipts = readReceipts(list, client, conversationId, status);
  const shown = new Set<string>();
  const append = (message: ChatMessageFragment) => {
    if (shown.has(message.id)) return; // a reconnect replays from the same `since`; the send result races the event
    shown.add(message.id);
    const mine = message.sender.id === meId;
    const side = message.kind === 'SYSTEM' ? 'system' : mine ? 'mine' : 'theirs';
    list.append(
      h(
        'li',
        { class: side, 'data-id': message.id },
        message.kind === 'SYSTEM' ? null : h('span', { class: 'sender' }, mine ? 'You' : message.sender.displayName),
        message.body ? h('span', { class: 'body' }, message.body) : null,
        ...message.attachments.map(attachmentView),
        h('time', { datetime: message.createdAt }, time(message.createdAt)),
      ),
    );
    list.scrollTop = list.scrollHeight;
    receipts.shown(message.id, !mine);
  };
  const latestFirst = conversation.messages.edges.map((edge) => edge.node);
  for (const message of [...latestFirst].reverse()) append(message);
  list.dataset['ready'] = 'true';

  const typists = new Map<string, { name: string; lapse: ReturnType<typeof setTimeout> }>();
  const renderTyping = () => {
    const names = [...typists.values()].map((t) => t.name);
    typingLine.textContent = names.length === 0 ? '' : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
  };
  const stopTyping = (userId: string) => {
    const typist = typists.get(userId);
    if (!typist) return;
    clearTimeout(typist.lapse);
    typists.delete(userId);
    renderTyping();
  };

  client.subscription(MessageAdded, { conversationId, since: latestFirst[0]?.id ?? null }).subscribe((result) => {
    if (result.error) status.textContent = describeError(result.error);
    if (result.data) {
      append(result.data.messageAdded);
      stopTyping(result.data.messageAdded.sender.id);
    }
  });
  client.subscription(Typing, { conversationId }).subscribe((result) => {
    if (result.error) status.textContent = describeError(result.error);
    if (!result.data) return;
    const signal = result.data.typing;
    stopTyping(signal.user.id);
    if (!signal.typing) return;
    // The server lapses the signal at expiresAt; clocks differ, so cap the wait.
    const lapseMs = Math.min(Math.max(Date.parse(signal.expiresAt) - Date.now(), 1000), 10_000);
    typists.set(signal.user.id, { name: signal.user.displayName, lapse: setTimeout(() => stopTyping(signal.user.id), lapseMs) });
    renderTyping();
  });

  let typingSentAt = 0;
  let idle: ReturnType<typeof setTimeout> | undefined;
  const setTyping = (typing: boolean) => {
    typingSentAt = typing ? Date.now() : 0;
    void client.mutation(SetTyping, { conversationId, typing }).then((result) => {
      if (result.error) status.textContent = describeError(result.error);
    });
  };
  input.addEventListener('input', () => {
    clearTimeout(idle);
    if (input.value.trim() === '') {
      if (typingSentAt) setTyping(false);
      return;
    }
    if (Date.now() - typingSentAt > TYPING_RENEW_MS) setTyping(true);
    idle = setTimeout(() => setTyping(false), TYPING_IDLE_MS);
  });

  // One idempotency key per draft: sending the same draft again after a failure cannot post it twice.
  let draftKey = clientMessageId();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = input.value.trim();
    const files = [...(file.files ?? [])];
    if (!body && files.length === 0) return;
    clearTimeout(idle);
    // Sending ends our typing on the server: the next keystroke starts a new signal.
    typingSentAt = 0;
    // With a File in its variables, urql's fetchExchange sends the GraphQL multipart request.
    const sent = await client.mutation(SendMessage, { input: { conversationId, body, clientMessageId: draftKey, attachments: files } });
    if (sent.error || !sent.data) {
      status.textContent = sent.error ? describeError(sent.error) : 'Not sent';
      return;
    }
    status.textContent = '';
    input.value = '';
    file.value = '';
    draftKey = clientMessageId();
    append(sent.data.sendMessage);
  });
}

/** An image shows in the message; any other file is a link (the server sends it as a download). */
function attachmentView(attachment: ChatMessageFragment['attachments'][number]): HTMLElement {
  if (attachment.contentType.startsWith('image/')) {
    return h('img', { class: 'attachment', src: attachment.url, alt: attachment.fileName, 'data-file-name': attachment.fileName });
  }
  return h('a', { class: 'attachment', href: attachment.url, download: attachment.fileName }, attachment.fileName);
}

function clientMessageId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
