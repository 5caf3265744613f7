// Shared helpers for the end-to-end suite: serve the built app (dist/) on 127.0.0.1, launch
// Debian's Chromium through playwright-core, and record everything a person (and a privacy
// auditor) would want to know about a page visit: every request, every console error.

import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { preview } from 'vite';

export const root = resolve(import.meta.dirname, '..', '..');
export const artifacts = join(root, 'test-results');

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Serves dist/ (built by `node scripts/build.mjs --dev`) on a free port of 127.0.0.1, with
 * vite.config.ts's headers (cross-origin isolated: the threaded engine runs). `isolated: false`
 * serves it as a host that sends no COOP/COEP headers would (a page embedding <face-cloak>):
 * the single-thread engine runs.
 */
export async function serveApp({ isolated = true } = {}) {
  if (!existsSync(join(root, 'dist', 'index.html'))) {
    throw new Error('dist/ is missing: build the app first with `node scripts/build.mjs --dev`');
  }
  const server = await preview({
    root,
    logLevel: 'warn',
    ...(isolated ? {} : { configFile: false }),
    preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
  });
  const { port } = server.httpServer.address();
  return { origin: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/**
 * Launches headless Chromium. `webgpu: true` adds the one flag that gives headless Chromium a
 * WebGPU adapter (SwiftShader); without it `requestAdapter()` returns null, which is how the
 * CPU fallback is exercised in a real browser.
 */
export async function launch({ webgpu }) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/setup (apt-get install chromium)`);
  // playwright-core gives every launch a fresh, empty profile of its own.
  const args = [
    '--no-sandbox',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
  ];
  if (webgpu) args.push('--enable-unsafe-webgpu');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/**
 * Opens `path` of the app in a fresh context, recording every request the page and its
 * workers make, and every console error or uncaught exception. `init`, if given, runs in the
 * page before any of its own scripts (Playwright's `addInitScript`).
 */
export async function openApp(browser, origin, path = '/', { init } = {}) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
  if (init) await context.addInitScript(init);
  const requests = [];
  const errors = [];
  context.on('request', (request) => requests.push({ url: request.url(), method: request.method(), postData: request.postData() }));
  context.on('response', (response) => {
    if (response.status() >= 400) errors.push(`HTTP ${response.status()} for ${response.url()}`);
  });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('crash', () => errors.push('the page crashed'));
  await page.goto(origin + path);
  return { context, page, requests, errors };
}

/** Waits until the page says the engine finished (ready or error), and returns which. */
export async function engineSettled(page, timeout = 600_000) {
  await page.waitForFunction(() => document.documentElement.dataset.engine, null, { timeout, polling: 250 });
  return page.evaluate(() => document.documentElement.dataset.engine);
}

/** Requests whose origin is not the page's own (data: URLs never leave the page). */
export function foreignRequests(requests, origin) {
  return requests.filter(({ url }) => {
    if (url.startsWith('data:')) return false;
    if (url.startsWith('blob:')) return !url.startsWith(`blob:${origin}/`);
    return new URL(url).origin !== origin;
  });
}

export async function screenshot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
