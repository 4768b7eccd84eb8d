import type { Settings } from './settings';

/** Without a token in the URL: the form reloads the page with `?endpoint=&token=&order=`. */
export function SignIn({ settings }: { settings: Settings }) {
  return (
    <main>
      <section className="card sign-in">
        <h2>Connect to the API</h2>
        <p className="muted">
          <code>npm run seed</code> at the repository root prints tokens and ready-made links to this page.
        </p>
        <form id="settings" method="get">
          <label>
            GraphQL endpoint <input name="endpoint" type="url" required defaultValue={settings.endpoint} />
          </label>
          <label>
            Token (JWT) <input name="token" required autoComplete="off" />
          </label>
          <label>
            Order id <input name="order" inputMode="numeric" defaultValue={settings.orderId ?? ''} />
          </label>
          <button type="submit">Connect</button>
        </form>
      </section>
    </main>
  );
}
