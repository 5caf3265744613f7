// Times one protection in headless Chromium on the CPU engine, threaded (wasm threads, the pool
// of one web worker per core that a cross-origin isolated page gets) against the single-thread
// build, in one run on this machine, and checks that both give the same picture.
//
//   node scripts/bench-threads.mjs [--strength low|medium|high] [--steps N] [--photo PATH] [--runs N]
//
// Needs the built app (`node scripts/build.mjs --dev`, or the production build) in dist/. The
// defaults are issue 17's measure: the astronaut at medium (its 60 steps, as the app runs them).
// Runs alternate between the builds, and the median of each is reported, with the ratio, and
// each run's own ratio (its threaded and single-thread protections ran back to back).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PNG } from 'pngjs';
import { launch, openApp, root, serveApp } from '../tests/e2e/harness.mjs';

const { values: options } = parseArgs({
  options: {
    strength: { type: 'string', default: 'medium' },
    steps: { type: 'string' },
    photo: { type: 'string', default: join(root, 'fixtures', 'astronaut.png') },
    runs: { type: 'string', default: '1' },
  },
});
const runs = Math.max(1, Number(options.runs));

const until = (page, predicate, timeout = 1_800_000) => page.waitForFunction(predicate, null, { timeout, polling: 100 });

/** One protection on a fresh page: seconds from Protect to the result, the backend, the pixels. */
async function protectOnce(browser, origin, threaded) {
  const visit = await openApp(browser, origin, threaded ? '/?threads=on' : '/');
  const { page, context } = visit;
  try {
    await until(page, () => document.documentElement.dataset.models === 'ready' || document.documentElement.dataset.state === 'error');
    await page.locator('#photo-input').setInputFiles(options.photo);
    await until(page, () => ['ready', 'error'].includes(document.documentElement.dataset.state));
    await page.locator(`input[name=strength][value=${options.strength}]`).check();
    if (options.steps) {
      if (!(await page.locator('#steps').isVisible())) await page.locator('#advanced summary').click();
      await page.locator('#steps').fill(options.steps);
    }
    const backend = await page.locator('#backend').textContent();
    const started = performance.now();
    await page.locator('#protect').click();
    await until(page, () => ['done', 'error', 'cancelled'].includes(document.documentElement.dataset.state));
    const seconds = (performance.now() - started) / 1000;
    const state = await page.evaluate(() => document.documentElement.dataset.state);
    if (state !== 'done') throw new Error(`protection ended ${state}: ${await page.locator('#protect-status').textContent()}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()]);
    const png = PNG.sync.read(readFileSync(await download.path()));
    if (visit.errors.length) throw new Error(visit.errors.join('\n'));
    return { seconds, backend, png };
  } finally {
    await context.close();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const app = await serveApp();
const browser = await launch({ webgpu: false });
try {
  const times = { threaded: [], single: [] };
  const last = {};
  for (let run = 0; run < runs; run++) {
    for (const threaded of [true, false]) {
      const result = await protectOnce(browser, app.origin, threaded);
      const which = threaded ? 'threaded' : 'single';
      times[which].push(result.seconds);
      last[which] = result;
      console.log(`run ${run + 1}: ${which.padEnd(8)} ${result.seconds.toFixed(1)} s  (${result.backend})`);
    }
  }
  let worst = 0;
  const a = last.threaded.png.data, b = last.single.png.data;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  const [t, s] = [median(times.threaded), median(times.single)];
  // Each run's two protections ran back to back: their ratio is what the machine's drift (a
  // shared two-core VM here changed speed by 1.5x within an hour) disturbs least.
  const pairs = times.threaded.map((threaded, i) => times.single[i] / threaded);
  console.log(
    `${options.strength}${options.steps ? `, ${options.steps} steps` : ''}: threaded ${t.toFixed(1)} s, single-thread ${s.toFixed(1)} s: ` +
      `${(s / t).toFixed(2)}x (median of ${runs}); run by run ${pairs.map((r) => r.toFixed(2)).join(', ')} ` +
      `(median ${median(pairs).toFixed(2)}x); largest channel difference between the results ${worst}`,
  );
} finally {
  await browser.close();
  await app.close();
}
