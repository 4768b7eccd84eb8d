import './style.css';
import { ApolloProvider } from '@apollo/client/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createApi } from './apollo';
import { App } from './App';
import { readSettings } from './settings';
import { SignIn } from './SignIn';

const settings = readSettings(window.location);
const root = createRoot(document.getElementById('root')!);

if (!settings.token) {
  root.render(<SignIn settings={settings} />);
} else {
  const api = createApi({ ...settings, token: settings.token });
  root.render(
    <StrictMode>
      <ApolloProvider client={api.client}>
        <App settings={settings} connection={api.connection} />
      </ApolloProvider>
    </StrictMode>,
  );
}
