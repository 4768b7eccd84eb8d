import './style.css';
import { mountBell } from './bell';
import { mountBoard } from './board';
import { mountChat } from './chat';
import { createApi, type ConnectionState } from './client';
import { byId, describeError } from './dom';
import { graphql } from './gql';
import { readSettings } from './settings';
import { mountTracker } from './tracker';

const Me = graphql(`
  query Me {
    me {
      id
      displayName
      role
      partner {
        businessName
      }
    }
  }
`);

const CONNECTION_TEXT: Record<ConnectionState, string> = {
  connecting: 'connecting…',
  connected: 'live',
  reconnecting: 'reconnecting…',
  refused: 'token refused',
};

async function start(): Promise<void> {
  const settings = readSettings(window.location.search);
  const form = byId<HTMLFormElement>('settings');
  const field = (name: string) => form.elements.namedItem(name) as HTMLInputElement;
  field('endpoint').value = settings.endpoint;
  field('token').value = settings.token ?? '';
  field('order').value = settings.orderId ?? '';
  const token = settings.token;
  if (!token) {
    byId<HTMLDetailsElement>('settings-panel').open = true;
    return;
  }

  const connection = byId('connection');
  const api = createApi({ ...settings, token }, (state, detail) => {
    connection.dataset['state'] = state;
    connection.textContent = detail ? `${CONNECTION_TEXT[state]} (${detail})` : CONNECTION_TEXT[state];
  });

  // The first request also provisions the user from the token's claims.
  const who = byId('who');
  const me = await api.urql.query(Me, {});
  if (me.error || !me.data) {
    who.textContent = me.error ? describeError(me.error) : 'unknown user';
    who.classList.add('error');
    byId<HTMLDetailsElement>('settings-panel').open = true;
    return;
  }
  const viewer = me.data.me;
  who.textContent = `${viewer.displayName} · ${viewer.role.toLowerCase()}${viewer.partner ? ` of ${viewer.partner.businessName}` : ''}`;
  who.dataset['userId'] = viewer.id;

  const mounting: Promise<void>[] = [mountBell(byId('bell'), api.urql)];
  if (viewer.role === 'ADMIN') mountBoard(byId('board'), api.urql);
  if (settings.orderId) {
    mountTracker(byId('tracker'), api.urql, settings.orderId);
    mounting.push(mountChat(byId('chat'), api.urql, settings.orderId, viewer.id));
  }
  await Promise.all(mounting);
}

start().catch((error: unknown) => {
  const who = byId('who');
  who.textContent = error instanceof Error ? error.message : String(error);
  who.classList.add('error');
});
