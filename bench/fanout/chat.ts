import { MeDocument, OpenDirectConversationDocument, SendMessageDocument } from '../../test/generated/graphql.js';
import { httpData } from '../../test/support/clients.js';
import { token } from '../../test/support/server.js';
import type { Bench } from './bench.js';
import { connectLoad } from './load.js';
import { measure } from './measure.js';
import { inBatches } from './pacing.js';
import type { Row } from './row.js';
import { N, scenarios } from './settings.js';
import { MESSAGE_ADDED } from './subscriptions.js';
import { unicastRows } from './unicast.js';

/** The chat agents: each in ⌈N / agents⌉ conversations, so that no one user sends most messages. */
const CHAT_AGENTS = Math.max(1, Math.min(100, Math.ceil(N / 10)));

/**
 * Customer i opens a direct conversation with agent i % agents, who says hello there: the watcher
 * subscribes since that message.
 */
async function openChats(bench: Bench) {
  const url = bench.server.url;
  const agentTokens = await Promise.all(Array.from({ length: CHAT_AGENTS }, (_, j) => token({ sub: `bench-agent-${j}`, role: 'customer', name: `Agent ${j}` }, '2h')));
  await Promise.all(agentTokens.map((jwt) => httpData(url, MeDocument, {}, jwt)));
  const chats = await inBatches(N, 50, async (i) => {
    const { openDirectConversation } = await httpData(url, OpenDirectConversationDocument, { userId: `bench-agent-${i % CHAT_AGENTS}` }, bench.tokens[i]!);
    const { sendMessage } = await httpData(url, SendMessageDocument, { input: { conversationId: openDirectConversation.id, body: 'hello' } }, agentTokens[i % CHAT_AGENTS]!);
    return { conversationId: openDirectConversation.id, since: sendMessage.id };
  });
  return { agentTokens, chats };
}

/** chat: N customers each watch their conversation's messageAdded while its agent sends sendMessage. */
export async function chatRows(bench: Bench): Promise<Row[]> {
  if (!scenarios.includes('chat')) return [];
  const { agentTokens, chats } = await openChats(bench);
  await bench.mutations.open(agentTokens);
  const { load, bytesPerConnection } = await connectLoad(bench.wsUrl, 'graphql', bench.tokens, [MESSAGE_ADDED], bench.pid, chats);
  // Round-robin over the conversations, each message from the conversation's agent.
  const say = (i: number) => {
    const k = i % N;
    return bench.mutations.mutate(SendMessageDocument, { input: { conversationId: chats[k]!.conversationId, body: `t:${Date.now()}` } }, agentTokens[k % CHAT_AGENTS]!);
  };
  // A probe message in every conversation: all N subscriptions are live once each has arrived.
  await measure(load, bench.pid, bench.mutations, N, 60_000, async () => void (await inBatches(N, 50, say)));
  const rows = await unicastRows(bench, 'chat', load, bytesPerConnection, say);
  load.send({ kind: 'close' });
  return rows;
}
