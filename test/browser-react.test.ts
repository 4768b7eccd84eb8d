import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exampleUrl, seed, type SeedResult } from '../src/cli/demo-data.js';
import { AssignOrderDocument, CreateOrderDocument, SendNotificationDocument, UpdateOrderLocationDocument, UpdateOrderStatusDocument } from './generated/graphql.js';
import { ARTIFACTS_DIR, buildExampleAt, chromiumInstalled, CHROMIUM_PATH, launchChromium, routeOffline, serveStatic } from './support/browser.js';
import { httpData } from './support/clients.js';
import { startTestServer, TEST_JWT_SECRET, type TestServer } from './support/server.js';

/**
 * The React + Apollo Client example (examples/react-apollo) in a real browser
 * against the real server: GraphQLWsLink for subscriptions, HttpLink for the
 * rest, one normalized cache. Runs where test/browser.test.ts runs (CI always;
 * elsewhere it needs /usr/bin/chromium or CHROMIUM_PATH).
 */
const runs = chromiumInstalled() || process.env.CI === 'true';
if (!runs) console.warn(`React example browser tests skipped: no chromium at ${CHROMIUM_PATH} (apt-get install chromium)`);

describe.runIf(runs)('React + Apollo example in chromium', () => {
  let t: TestServer;
  let browser: Browser;
  let web: { url: string; close(): Promise<void> };
  let removeBuild: () => Promise<void> = async () => {};
  let demo: SeedResult;
  const contexts: BrowserContext[] = [];
  /** Uncaught exceptions of the pages a test opened: a React render error fails the test. */
  let pageErrors: string[] = [];
  /** The operations the test's page sent, by transport: what `split` chose. */
  let sent: { socket: string[]; http: string[] } = { socket: [], http: [] };

  beforeAll(async () => {
    const [built, server] = await Promise.all([buildExampleAt(resolve('examples/react-apollo')), startTestServer('embedded')]);
    removeBuild = built.remove;
    t = server;
    web = await serveStatic(built.dir);
    browser = await launchChromium();
    await mkdir(ARTIFACTS_DIR, { recursive: true });
    demo = await seed({ apiUrl: t.url, secret: new TextEncoder().encode(TEST_JWT_SECRET), expiresIn: '1h' });
  }, 240_000);

  // A failed scenario leaves a picture of every open page behind.
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') {
      const pages = contexts.flatMap((context) => context.pages());
      await Promise.all(pages.map((page, i) => screenshot(page, `react-failed-${task.name.slice(0, 40).replace(/\W+/g, '-')}-${i}`).catch(() => {})));
    }
    await Promise.all(contexts.splice(0).map((context) => context.close()));
    pageErrors = [];
    sent = { socket: [], http: [] };
  });

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await t?.stop();
    await removeBuild();
  });

  /** A fresh browser context (another person's browser) on one page of the example, its socket connected. */
  async function openExample(token: string, hash: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1200, height: 780 } });
    // Well inside the test's own timeout, so a failure names the element it waited for.
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    await routeOffline(context);
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('websocket', (socket) =>
      socket.on('framesent', ({ payload }) => {
        const message = JSON.parse(String(payload)) as { type: string; payload?: { operationName?: string } };
        if (message.type === 'subscribe') sent.socket.push(message.payload?.operationName ?? '?');
      }),
    );
    page.on('request', (request) => {
      if (request.url() === t.url && request.method() === 'POST') sent.http.push((request.postDataJSON() as { operationName?: string }).operationName ?? '?');
    });
    await page.goto(`${exampleUrl(web.url, t.url, token, demo.orderId)}${hash}`);
    await page.locator('#connection[data-state="connected"]').waitFor();
    return page;
  }

  async function unreadCount(page: Page): Promise<number> {
    await page.locator('#unread-count[data-ready="true"]').waitFor();
    return Number(await page.locator('#unread-count').textContent());
  }

  /** Resolves once the bell shows `count`. */
  async function bellShows(page: Page, count: number, timeout?: number): Promise<void> {
    await page.locator('#unread-count[data-ready="true"]', { hasText: new RegExp(`^${count}$`) }).waitFor({ timeout });
  }

  /** Subscriptions went over the socket, queries and mutations over HTTP, and nothing the other way. */
  function expectSplit(expected: { socket: string[]; http: string[] }): void {
    expect(sent.socket).toEqual(expect.arrayContaining(expected.socket));
    expect(sent.http).toEqual(expect.arrayContaining(expected.http));
    expect(sent.http.filter((name) => sent.socket.includes(name))).toEqual([]);
  }

  const screenshot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS_DIR, `${name}.png`), fullPage: true });

  it('tracks an order: a partner status change and location appear live, in the tracker and the order list', async () => {
    const page = await openExample(demo.customer.token, `#/orders/${demo.orderId}`);
    // The subscription's first event is the order as it is now.
    await page.locator('#order-status[data-status="PENDING"]').waitFor();
    await page.locator('#order-partner', { hasText: 'Speedy Couriers' }).waitFor();
    await page.locator(`#my-orders li[data-order-id="${demo.orderId}"]`).waitFor();

    await httpData(t.url, UpdateOrderStatusDocument, { orderId: demo.orderId, status: 'CONFIRMED', note: 'On it' }, demo.partner.token);
    await page.locator('#order-status[data-status="CONFIRMED"]').waitFor();
    await page.locator('#order-history li[data-status="CONFIRMED"]', { hasText: 'On it' }).waitFor();
    // The list is another query; the subscription's Order landed in the normalized cache, so its row follows.
    await page.locator(`#my-orders li[data-order-id="${demo.orderId}"][data-status="CONFIRMED"]`).waitFor();

    await httpData(t.url, UpdateOrderLocationDocument, { orderId: demo.orderId, latitude: 52.52, longitude: 13.405 }, demo.partner.token);
    await page.locator('#order-location[data-latitude="52.52"][data-longitude="13.405"]').waitFor();
    await screenshot(page, 'react-tracker');
    expectSplit({ socket: ['TrackOrder', 'UnreadCount', 'NotificationAdded'], http: ['Me', 'MyOrders', 'RecentNotifications'] });
    expect(pageErrors).toEqual([]);
  });

  it('rings the bell: a notification sent through the API appears with the unread count, and is marked read', async () => {
    const page = await openExample(demo.customer.token, '#/orders');
    const before = await unreadCount(page);
    await page.locator('#bell-button').click();
    await page.locator('#notification-list').waitFor();

    const sentAt = Date.now();
    await httpData(t.url, SendNotificationDocument, { input: { userIds: [demo.customer.claims.sub], title: 'Your courier is close', body: 'Two minutes away' } }, demo.admin.token);
    await bellShows(page, before + 1, Math.max(1, 1000 - (Date.now() - sentAt)));
    const sent = page.locator('#notification-list li.unread', { hasText: 'Your courier is close' });
    await sent.waitFor({ timeout: Math.max(1, 1000 - (Date.now() - sentAt)) });
    await screenshot(page, 'react-bell');

    // One notification: markRead; the mutation's result updates it in the cache, the count comes from the server.
    await sent.click();
    await page.locator('#notification-list li.read', { hasText: 'Your courier is close' }).waitFor();
    await bellShows(page, before);

    await httpData(t.url, SendNotificationDocument, { input: { userIds: [demo.customer.claims.sub], title: 'Delivered', body: 'Enjoy the sofa' } }, demo.admin.token);
    await page.locator('#notification-list li.unread', { hasText: 'Delivered' }).waitFor();
    await bellShows(page, before + 1);
    await page.locator('#mark-all-read').click();
    await bellShows(page, 0);
    await page.locator('#notification-list li.read', { hasText: 'Delivered' }).waitFor();
    expect(await page.locator('#notification-list li.unread').count()).toBe(0);
    expectSplit({ socket: ['UnreadCount', 'NotificationAdded'], http: ['RecentNotifications', 'MarkRead', 'MarkAllRead'] });
    expect(pageErrors).toEqual([]);
  });

  it('shows every order on the admin board: a new order, its assignment and status change appear live', async () => {
    const page = await openExample(demo.admin.token, '#/board');
    await page.locator(`#board-orders tr[data-order-id="${demo.orderId}"]`).waitFor();
    await boardLive(page);

    const { createOrder: order } = await httpData(t.url, CreateOrderDocument, { input: { description: 'Move a piano upstairs', totalCents: 9900 } }, demo.customer.token);
    const row = page.locator(`#board-orders tr[data-order-id="${order.id}"]`);
    await page.locator(`#board-orders tr:first-child[data-order-id="${order.id}"][data-status="PENDING"]`, { hasText: 'Move a piano upstairs' }).waitFor();
    await row.locator('td.customer', { hasText: 'Casey Customer' }).waitFor();

    await httpData(t.url, AssignOrderDocument, { orderId: order.id, partnerId: demo.partnerId }, demo.admin.token);
    await row.locator('td.partner', { hasText: 'Speedy Couriers' }).waitFor();
    await httpData(t.url, UpdateOrderStatusDocument, { orderId: order.id, status: 'CONFIRMED', note: null }, demo.partner.token);
    await page.locator(`#board-orders tr[data-order-id="${order.id}"][data-status="CONFIRMED"]`).waitFor();
    await screenshot(page, 'react-board');
    expectSplit({ socket: ['BoardUpdates'], http: ['BoardOrders'] });
    expect(pageErrors).toEqual([]);
  });

  /**
   * The board's stream sends changes only, so nothing on the page says when
   * it is live; a change that reaches the board does. Moves the demo order
   * until a move shows: every change after that must show too.
   */
  async function boardLive(page: Page): Promise<void> {
    for (let latitude = 41; latitude <= 50; latitude += 1) {
      await httpData(t.url, UpdateOrderLocationDocument, { orderId: demo.orderId, latitude, longitude: 9 }, demo.partner.token);
      const cell = page.locator(`#board-orders tr[data-order-id="${demo.orderId}"] td.location[data-latitude="${latitude}"]`);
      if (await cell.waitFor({ timeout: 1000 }).then(() => true, () => false)) return;
    }
    throw new Error('the board showed none of ten location changes of the demo order');
  }
});
