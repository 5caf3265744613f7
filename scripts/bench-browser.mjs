#!/usr/bin/env node
// Times protecting a photo in the real app in headless Chromium: the CPU fallback (no WebGPU)
// or WebGPU (SwiftShader here; a real GPU elsewhere). On the CPU, the single-thread build or, with
// `--threads on`, the threaded one (the app is served cross-origin isolated). A benchmark, not a
// test: it prints.
//
//   node scripts/bench-browser.mjs [--photo P] [--backend cpu|webgpu] [--threads on|off]
//     [--strength low|medium|high] [--steps N]
//
// Needs the built app (node scripts/build.mjs --dev, or the production build).

import { parseArgs } from 'node:util';
import { launch, openApp, serveApp, root } from '../tests/e2e/harness.mjs';

const { values } = parseArgs({
  options: {
    photo: { type: 'string', default: `${root}/fixtures/astronaut.png` },
    backend: { type: 'string', default: 'cpu' },
    threads: { type: 'string', default: 'off' },
    strength: { type: 'string', default: 'low' },
    steps: { type: 'string' },
  },
});
const webgpu = values.backend === 'webgpu';
const app = await serveApp();
const browser = await launch({ webgpu });
try {
  const query = new URLSearchParams({ backend: webgpu ? 'gpu' : 'cpu' });
  if (values.threads === 'on') query.set('threads', 'on');
  const { page } = await openApp(browser, app.origin, `/?${query}`);
  const until = (predicate) => page.waitForFunction(predicate, null, { timeout: 3_600_000, polling: 250 });
  await until(() => document.documentElement.dataset.models === 'ready' || document.documentElement.dataset.state === 'error');
  const backend = await page.locator('#backend').textContent();
  let started = Date.now();
  await page.locator('#photo-input').setInputFiles(values.photo);
  await until(() => ['ready', 'error'].includes(document.documentElement.dataset.state));
  const analyse = (Date.now() - started) / 1000;
  const found = await page.locator('#photo-status').textContent();
  await page.locator(`input[name=strength][value=${values.strength}]`).check();
  if (values.steps) {
    await page.locator('details summary').click();
    await page.locator('#steps').fill(values.steps);
  }
  started = Date.now();
  await page.locator('#protect').click();
  await until(() => ['done', 'error'].includes(document.documentElement.dataset.state));
  const seconds = (Date.now() - started) / 1000;
  const steps = await page.locator('#scores h4').allTextContents();
  const scores = await page.locator('#scores .score').allTextContents();
  console.log(`backend: ${backend}`);
  console.log(`photo: ${found} (decode + faces ${analyse.toFixed(1)} s)`);
  console.log(`protect (${values.strength}${values.steps ? `, at most ${values.steps} steps` : ''}): ${seconds.toFixed(1)} s · ${steps.join('; ')}`);
  for (const s of scores) console.log(`  ${s}`);
} finally {
  await browser.close();
  await app.close();
}
