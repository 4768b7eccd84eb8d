import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exampleUrl, seed, type SeedResult } from '../src/cli/demo-data.js';
import { CreateOrderDocument, SendMessageDocument, SendNotificationDocument, UpdateOrderLocationDocument, UpdateOrderStatusDocument } from './generated/graphql.js';
import { ARTIFACTS_DIR, buildExample, chromiumInstalled, CHROMIUM_PATH, launchChromium, routeOffline, serveStatic } from './support/browser.js';
import { httpData } from './support/clients.js';
import { startServerProcess, startTestServer, TEST_JWT_SECRET, type ServerProcess, type TestServer } from './support/server.js';

/**
 * The web example (examples/web) and GraphiQL in a real browser against the
 * real server. CI installs Debian's chromium (.ci/run) and always runs this;
 * elsewhere it needs /usr/bin/chromium (or CHROMIUM_PATH).
 */
const runs = chromiumInstalled() || process.env.CI === 'true';
if (!runs) console.warn(`browser tests skipped: no chromium at ${CHROMIUM_PATH} (apt-get install chromium)`);

/**
 * The page as it ships (documents as text), and built for a server with
 * TRUSTED_DOCUMENTS: then it talks to a server that runs only the example's
 * own persisted-documents.json, while the test seeds and drives through an open
 * one on the same database and Redis (as a back office would).
 */
const MODES = [
  { mode: 'documents as text', trusted: false },
  { mode: 'trusted documents', trusted: true },
];
const EXAMPLE_DOCUMENTS = 'examples/web/src/gql/persisted-documents.json';
/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

describe.runIf(runs).each(MODES)('web example and GraphiQL in chromium, $mode', ({ trusted }) => {
  let t: TestServer;
  /** The server the page talks to: `t`, or the trusted one. */
  let pageApi: string;
  let trustedServer: ServerProcess | null = null;
  let browser: Browser;
  let web: { url: string; close(): Promise<void> };
  let removeBuild: () => Promise<void> = async () => {};
  let demo: SeedResult;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    const [built, server] = await Promise.all([
      buildExample(trusted ? { VITE_TRUSTED_DOCUMENTS: 'true' } : {}),
      startTestServer(trusted ? 'postgres+redis' : 'embedded', { GRAPHIQL: 'true' }),
    ]);
    removeBuild = built.remove;
    t = server;
    trustedServer = trusted ? await startServerProcess({ ...t.env, GRAPHIQL: '', TRUSTED_DOCUMENTS: EXAMPLE_DOCUMENTS }) : null;
    pageApi = trustedServer?.url ?? t.url;
    web = await serveStatic(built.dir);
    browser = await launchChromium();
    await mkdir(ARTIFACTS_DIR, { recursive: true });
    demo = await seed({ apiUrl: t.url, secret: new TextEncoder().encode(TEST_JWT_SECRET), expiresIn: '1h' });
  }, 240_000);

  // A failed scenario leaves a picture of every open page behind.
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') {
      const pages = contexts.flatMap((context) => context.pages());
      await Promise.all(pages.map((page, i) => screenshot(page, `failed-${task.name.slice(0, 40).replace(/\W+/g, '-')}-${i}`).catch(() => {})));
    }
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await trustedServer?.kill();
    await t?.stop();
    await removeBuild();
  });

  async function newContext(viewport: { width: number; height: number }): Promise<BrowserContext> {
    const context = await browser.newContext({ viewport });
    // Well inside the test's own timeout, so a failure names the element it waited for.
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    return context;
  }

  /** A fresh browser context (its own storage, like another person's browser) on the example page. */
  async function openExample(token: string): Promise<Page> {
    const context = await newContext({ width: 1100, height: 760 });
    await routeOffline(context);
    const page = await context.newPage();
    await page.goto(exampleUrl(web.url, pageApi, token, demo.orderId));
    await page.locator('#connection[data-state="connected"]').waitFor();
    return page;
  }

  /** Resolves once the bell shows `count`; the first value proves unreadCountChanged is live. */
  async function bellShows(page: Page, count: number, timeout?: number): Promise<void> {
    await page.locator('#unread-count[data-ready="true"]', { hasText: new RegExp(`^${count}$`) }).waitFor({ timeout });
  }

  async function unreadCount(page: Page): Promise<number> {
    await page.locator('#unread-count[data-ready="true"]').waitFor();
    return Number(await page.locator('#unread-count').textContent());
  }

  const screenshot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS_DIR, `${trusted ? 'trusted-' : ''}${name}.png`), fullPage: true });

  it('shows a notification sent through the API in the bell within a second, and marks all read', async () => {
    const page = await openExample(demo.customer.token);
    const before = await unreadCount(page);
    await page.locator('#bell-button').click();
    await page.locator('#notification-list').waitFor();

    const sentAt = Date.now();
    await httpData(t.url, SendNotificationDocument, { input: { userIds: [demo.customer.claims.sub], title: 'Your courier is close', body: 'Two minutes away' } }, demo.admin.token);
    await bellShows(page, before + 1, Math.max(1, 1000 - (Date.now() - sentAt)));
    await page.locator('#notification-list li.unread', { hasText: 'Your courier is close' }).waitFor({ timeout: Math.max(1, 1000 - (Date.now() - sentAt)) });
    await screenshot(page, 'bell');

    await page.locator('#mark-all-read').click();
    await bellShows(page, 0);
    await page.locator('#notification-list li.read', { hasText: 'Your courier is close' }).waitFor();
    expect(await page.locator('#notification-list li.unread').count()).toBe(0);
  });

  it('follows the order on the tracker: status and location changes appear live', async () => {
    const page = await openExample(demo.customer.token);
    // The first event is the order as it is now.
    await page.locator('#order-status[data-status="PENDING"]').waitFor();
    await page.locator('#order-partner', { hasText: 'Speedy Couriers' }).waitFor();

    await httpData(t.url, UpdateOrderStatusDocument, { orderId: demo.orderId, status: 'CONFIRMED', note: 'On it' }, demo.partner.token);
    await page.locator('#order-status[data-status="CONFIRMED"]').waitFor();
    await page.locator('#order-history li[data-status="CONFIRMED"]', { hasText: 'On it' }).waitFor();

    await httpData(t.url, UpdateOrderLocationDocument, { orderId: demo.orderId, latitude: 52.52, longitude: 13.405 }, demo.partner.token);
    await page.locator('#order-location[data-latitude="52.52"][data-longitude="13.405"]').waitFor();
    await screenshot(page, 'tracker');
  });

  it('shows "typing…" in the other browser while one types, and the message once sent', async () => {
    const [customer, partner] = await Promise.all([openExample(demo.customer.token), openExample(demo.partner.token)]);
    await Promise.all([customer, partner].map((page) => page.locator('#messages[data-ready="true"]').waitFor({ state: 'attached' })));

    // A message through the API that reaches both pages proves their chat streams are live.
    const [conversationId] = await Promise.all([customer.locator('#chat-form').getAttribute('data-conversation-id'), partner.locator('#chat-form').waitFor()]);
    expect(conversationId).toBeTruthy();
    await httpData(t.url, SendMessageDocument, { input: { conversationId: conversationId!, body: 'Hello from the courier' } }, demo.partner.token);
    await Promise.all([
      customer.locator('#messages li.theirs', { hasText: 'Hello from the courier' }).waitFor(),
      partner.locator('#messages li.mine', { hasText: 'Hello from the courier' }).waitFor(),
    ]);

    await customer.locator('#chat-input').pressSequentially('Please ring twice');
    await partner.locator('#typing', { hasText: 'Casey Customer is typing…' }).waitFor();
    expect(await customer.locator('#typing').textContent()).toBe('');
    await Promise.all([screenshot(customer, 'chat-customer-typing'), screenshot(partner, 'chat-partner-sees-typing')]);

    await customer.locator('#chat-form button[type="submit"]').click();
    await partner.locator('#messages li.theirs', { hasText: 'Please ring twice' }).waitFor();
    await partner.locator('#typing', { hasText: /^$/ }).waitFor();
    await screenshot(partner, 'chat-partner');

    // A photo of the finished job: sent as a multipart request, shown on the other page through its signed URL.
    await customer.locator('#chat-file').setInputFiles({ name: 'done.png', mimeType: 'image/png', buffer: PNG });
    await customer.locator('#chat-input').fill('Done, see photo');
    await customer.locator('#chat-form button[type="submit"]').click();
    const photo = partner.locator('#messages li.theirs', { hasText: 'Done, see photo' }).locator('img.attachment');
    await photo.waitFor();
    await expect.poll(() => photo.evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth)).toBe(1);
    // The partner's page read it: the customer's page says so under that message.
    await customer.locator('#messages li.mine', { hasText: 'Done, see photo' }).locator('#read-marker', { hasText: 'read' }).waitFor();

    // The order moves on: a SYSTEM line in both pages.
    await httpData(t.url, UpdateOrderStatusDocument, { orderId: demo.orderId, status: 'PICKED_UP' }, demo.partner.token);
    await Promise.all([customer, partner].map((page) => page.locator('#messages li.system', { hasText: 'Order is now PICKED_UP' }).waitFor()));
    await Promise.all([screenshot(customer, 'chat-customer-photo-read'), screenshot(partner, 'chat-partner-photo-system')]);
  });

  it("keeps the admin's live board current: a new order shows without a reload", async () => {
    const page = await openExample(demo.admin.token);
    const figure = (id: string) => page.locator(`#${id} .value`);
    await figure('board-orders-today').waitFor();
    const today = Number(await figure('board-orders-today').textContent());
    await httpData(t.url, CreateOrderDocument, { input: { description: 'From the board test', totalCents: 1500 } }, demo.customer.token);
    await page.locator('#board-orders-today .value', { hasText: new RegExp(`^${today + 1}$`) }).waitFor();
    expect(Number(await page.locator('#board-statuses li[data-status="PENDING"]').textContent().then((text) => /\d+$/.exec(text ?? '')?.[0]))).toBeGreaterThan(0);
    await screenshot(page, 'admin-live-board');
  });

  // GraphiQL sends text: it belongs to the open server only, so the trusted mode does not declare it.
  if (!trusted) it('GraphiQL at the server URL loads, runs a subscription and shows its events', async () => {
    const context = await newContext({ width: 1280, height: 800 });
    await routeOffline(context);
    const page = await context.newPage();
    const query = 'subscription { unreadCountChanged }';
    const response = await page.goto(`${t.url}?query=${encodeURIComponent(query)}`);
    expect(response?.status()).toBe(200);
    expect(await page.title()).toBe('Realtime marketplace API');

    // The headers editor: the token travels as the Authorization header.
    await page.getByRole('button', { name: 'Headers' }).click();
    const headers = page.locator('.graphiql-editor-tool .graphiql-editor').last();
    await headers.click();
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${demo.partner.token}` }));

    await page.locator('.graphiql-execute-button').click();
    // The result pane is a Monaco editor: its spaces render as no-break spaces, hence \s.
    const result = page.locator('.graphiql-response');
    const current = await result.filter({ hasText: /"unreadCountChanged":\s*\d+/ }).textContent();
    const count = Number(/"unreadCountChanged":\s*(\d+)/.exec(current ?? '')![1]);

    await httpData(t.url, SendNotificationDocument, { input: { userIds: [demo.partner.claims.sub], title: 'From the API', body: 'to GraphiQL' } }, demo.admin.token);
    await result.filter({ hasText: new RegExp(`"unreadCountChanged":\\s*${count + 1}\\b`) }).waitFor();
    await screenshot(page, 'graphiql');
  });
});
