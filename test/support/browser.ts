import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

const run = promisify(execFile);

/** Debian's chromium (`apt-get install chromium`); Playwright never downloads a browser here. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS_DIR = resolve('test/artifacts');
const EXAMPLE_DIR = resolve('examples/web');

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/**
 * Headless chromium as root in a closed network: no sandbox (root), no GPU,
 * and none of the background connections (updates, sync, QUIC probes) that
 * a machine without internet would refuse by the dozen. Playwright gives
 * every launch a fresh temporary --user-data-dir of its own.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** The web example (examples/web), built as `buildExampleAt` does. */
export function buildExample(env: Record<string, string> = {}): Promise<{ dir: string; remove(): Promise<void> }> {
  return buildExampleAt(EXAMPLE_DIR, env);
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

/** A static file server for a built page on a free loopback port. */
export async function serveStatic(root: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const file = normalize(join(root, path === '/' ? 'index.html' : path));
    if (!file.startsWith(root + sep)) {
      response.writeHead(403).end();
      return;
    }
    readFile(file).then(
      (body) => response.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' }).end(body),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}

/**
 * Keeps a context on this machine: loopback requests pass, anything else is
 * refused at once (rather than left to time out on a closed network). The
 * GraphiQL page is self-contained, so it must work like this too.
 */
export async function routeOffline(context: BrowserContext): Promise<void> {
  await context.route(
    (url) => url.hostname !== '127.0.0.1' && url.hostname !== 'localhost',
    (route) => route.abort('internetdisconnected'),
  );
}

/**
 * Builds an example once into a temporary directory (its dependencies are
 * installed from its own lockfile first when missing), so the page under
 * test is exactly what `npm run build` ships. `env`: build-time variables of
 * the page (VITE_TRUSTED_DOCUMENTS).
 */
export async function buildExampleAt(exampleDir: string, env: Record<string, string> = {}): Promise<{ dir: string; remove(): Promise<void> }> {
  if (!existsSync(join(exampleDir, 'node_modules', '.package-lock.json'))) {
    await run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: exampleDir, timeout: 300_000 });
  }
  const dir = await mkdtemp(join(tmpdir(), 'rt-example-'));
  await run(process.execPath, [join(exampleDir, 'node_modules/vite/bin/vite.js'), 'build', '--outDir', dir, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: exampleDir,
    timeout: 120_000,
    env: { ...process.env, ...env },
  });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
