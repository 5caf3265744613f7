// The engine through the whole stack, in a real browser: page → worker → wasm → burn → device,
// on WebGPU (SwiftShader) and on the CPU fallback, with the privacy promise checked on the wire.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { engineSettled, foreignRequests, launch, openApp, screenshot, serveApp } from './harness.mjs';

let app;
before(async () => {
  app = await serveApp();
});
after(async () => {
  await app?.close();
});

/** What every visit must satisfy: no console errors, and no request to another origin. */
function assertCleanVisit({ requests, errors }, origin) {
  assert.deepEqual(errors, [], 'no console errors');
  assert.deepEqual(foreignRequests(requests, origin), [], 'no request to any origin but the page\'s own');
  // The wasm module is fetched by the worker: seeing it proves worker requests are recorded too.
  assert.ok(
    requests.some(({ url }) => url.endsWith('.wasm')),
    `the worker's wasm request was recorded (saw: ${requests.map((r) => r.url).join(', ')})`,
  );
  assert.ok(requests.every(({ method }) => method === 'GET'), 'the page only fetches, never sends');
}

async function waitFor(condition, what, timeout = 60_000) {
  const end = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function backendText(page) {
  return page.locator('#backend').textContent();
}

describe('with WebGPU (headless Chromium, SwiftShader)', () => {
  let browser;
  before(async () => {
    browser = await launch({ webgpu: true });
  });
  after(async () => {
    await browser?.close();
  });

  test('the self-check runs on WebGPU and matches the reference', async () => {
    const visit = await openApp(browser, app.origin);
    const { page } = visit;
    const state = await engineSettled(page);
    await screenshot(page, 'engine-webgpu');
    assert.equal(state, 'ready', await page.locator('#check-status').textContent());
    assert.equal(await page.locator('#backend').getAttribute('data-kind'), 'gpu');
    assert.match(await backendText(page), /WebGPU: .*swiftshader/i);
    assert.equal(await page.locator('#fallback').isHidden(), true, 'no fallback note');
    assert.equal(await page.locator('#check-status').getAttribute('data-passed'), 'true');
    assert.match(await page.locator('#check-numbers').textContent(), /wgpu\/webgpu/);
    assertCleanVisit(visit, app.origin);
    await visit.context.close();
  });

  test('?backend=cpu runs on the CPU even when WebGPU is there', async () => {
    const visit = await openApp(browser, app.origin, '/?backend=cpu');
    const { page } = visit;
    assert.equal(await engineSettled(page), 'ready');
    assert.equal(await page.locator('#backend').getAttribute('data-kind'), 'cpu');
    assert.match(await page.locator('#fallback').textContent(), /the CPU was asked for/);
    assertCleanVisit(visit, app.origin);
    await visit.context.close();
  });
});

describe('without WebGPU (CPU fallback)', () => {
  let browser;
  before(async () => {
    browser = await launch({ webgpu: false });
  });
  after(async () => {
    await browser?.close();
  });

  test('the engine falls back to the CPU, says why, and the self-check passes', async () => {
    const visit = await openApp(browser, app.origin);
    const { page } = visit;
    const state = await engineSettled(page);
    await screenshot(page, 'engine-cpu-fallback');
    assert.equal(state, 'ready', await page.locator('#check-status').textContent());
    assert.equal(await page.locator('#backend').getAttribute('data-kind'), 'cpu');
    assert.match(await backendText(page), /CPU \(flex\)/);
    assert.match(await page.locator('#fallback').textContent(), /Not using the GPU because .*(no WebGPU|no adapter)/);
    assert.equal(await page.locator('#check-status').getAttribute('data-passed'), 'true');
    assert.match(await page.locator('#check-numbers').textContent(), /flex/);
    assertCleanVisit(visit, app.origin);
    await visit.context.close();
  });

  test('cancelling stops the engine mid-start and leaves the page usable', async () => {
    const visit = await openApp(browser, app.origin);
    const { page, context } = visit;
    assert.equal(await engineSettled(page), 'ready');
    // Hold the wasm module's response, so that the restarted engine is deterministically
    // still starting when Cancel is pressed.
    const held = [];
    await context.route('**/*.wasm', (route) => held.push(route));
    await page.locator('#backend-form button[type=submit]').click();
    await page.waitForFunction(() => !document.querySelector('#cancel-check').disabled);
    await waitFor(() => held.length > 0, 'the new worker to request the wasm module');
    await page.locator('#cancel-check').click();
    assert.equal(await page.locator('#check-status').textContent(), 'Cancelled.');
    assert.equal(await page.locator('#run-check').isEnabled(), true);

    // The worker was terminated; the next run starts a fresh one, which completes.
    await context.unroute('**/*.wasm');
    await Promise.all(held.map((route) => route.abort().catch(() => {})));
    await page.locator('#run-check').click();
    await page.waitForFunction(() => document.querySelector('#check-status')?.getAttribute('data-passed') === 'true', null, {
      timeout: 300_000,
    });
    assert.deepEqual(visit.errors.filter((e) => !/net::ERR_FAILED|Failed to load resource/.test(e)), []);
    await visit.context.close();
  });
});
