// Times one protection in headless Chromium on the CPU engine, threaded (wasm threads, the pool
// of one web worker per core that a cross-origin isolated page gets) against the single-thread
// build, in one run on this machine, and checks that both give the same picture.
//
//   node scripts/bench-threads.mjs [--strength low|medium|high] [--steps N] [--photo PATH] [--runs N] [--warm]
//
// Needs the built app (`node scripts/build.mjs --dev`, or the production build) in dist/. The
// defaults are issue 17's measure: the astronaut at medium (its 60 steps, as the app runs them).
// Runs alternate between the builds, and the median of each is reported, with the ratio, and
// each run's own ratio (its threaded and single-thread protections ran back to back). Each
// protection is also split where its time goes: until the first step is done (the setup, and
// V8 compiling the hot code, which in the threaded build has no idle core to do it on), the
// median step after that, and the work after the last step. `--warm` times each page's second
// protection instead of its first: what a person protecting several photos gets, once V8 has
// compiled the module's hot code (every page is fresh, so the first one is always cold).

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
    warm: { type: 'boolean', default: false },
  },
});
const runs = Math.max(1, Number(options.runs));

const until = (page, predicate, timeout = 1_800_000) => page.waitForFunction(predicate, null, { timeout, polling: 100 });

/**
 * In the page, before the app starts: the time each search step's progress message arrives
 * from the engine's worker, and each call's result, into `window.benchMessages`. What splits a
 * protection into its first step (the setup before the search, and V8 compiling the module's
 * hot code), the steps that follow, and the work after the last one.
 */
function recordEngineMessages() {
  window.benchMessages = [];
  const Worker = window.Worker;
  window.Worker = class extends Worker {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', ({ data }) => {
        const kind = data?.kind === 'progress' ? data.progress?.kind : data?.kind;
        if (kind === 'step' || kind === 'result') window.benchMessages.push({ kind, at: performance.now() });
      });
    }
  };
}

/** `messages` (from Protect on) as: ms to the first step's end, the median step after it, and ms from the last step to the result. */
function phases(messages, clicked) {
  const steps = messages.filter((m) => m.kind === 'step').map((m) => m.at);
  if (steps.length < 2) return null;
  const last = steps.at(-1);
  const result = messages.find((m) => m.kind === 'result' && m.at > last)?.at ?? last;
  return { first: steps[0] - clicked, step: median(steps.slice(1).map((at, i) => at - steps[i])), after: result - last };
}

/** One protection on a fresh page (with `--warm`, its second): seconds from Protect to the result, its phases, the backend, the pixels. */
async function protectOnce(browser, origin, threaded) {
  const visit = await openApp(browser, origin, threaded ? '/?threads=on' : '/', { init: recordEngineMessages });
  const { page, context } = visit;
  try {
    await until(page, () => document.documentElement.dataset.models === 'ready' || document.documentElement.dataset.state === 'error');
    const protect = async () => {
      await page.locator('#photo-input').setInputFiles(options.photo);
      await until(page, () => ['ready', 'error'].includes(document.documentElement.dataset.state));
      await page.locator(`input[name=strength][value=${options.strength}]`).check();
      if (options.steps) {
        if (!(await page.locator('#steps').isVisible())) await page.locator('#advanced summary').click();
        await page.locator('#steps').fill(options.steps);
      }
      const clicked = await page.evaluate(() => {
        window.benchMessages.length = 0;
        return performance.now();
      });
      const started = performance.now();
      await page.locator('#protect').click();
      await until(page, () => ['done', 'error', 'cancelled'].includes(document.documentElement.dataset.state));
      const seconds = (performance.now() - started) / 1000;
      const split = phases(await page.evaluate(() => window.benchMessages), clicked);
      const state = await page.evaluate(() => document.documentElement.dataset.state);
      if (state !== 'done') throw new Error(`protection ended ${state}: ${await page.locator('#protect-status').textContent()}`);
      return { seconds, split };
    };
    if (options.warm) await protect();
    const { seconds, split } = await protect();
    const backend = await page.locator('#backend').textContent();
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()]);
    const png = PNG.sync.read(readFileSync(await download.path()));
    if (visit.errors.length) throw new Error(visit.errors.join('\n'));
    return { seconds, split, backend, png };
  } finally {
    await context.close();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const app = await serveApp();
const browser = await launch({ webgpu: false });
try {
  const times = { threaded: [], single: [] };
  const steps = { threaded: [], single: [] };
  const last = {};
  for (let run = 0; run < runs; run++) {
    for (const threaded of [true, false]) {
      const result = await protectOnce(browser, app.origin, threaded);
      const which = threaded ? 'threaded' : 'single';
      times[which].push(result.seconds);
      last[which] = result;
      const { split } = result;
      const ms = (x) => `${x.toFixed(0)} ms`;
      if (split) steps[which].push(split.step);
      console.log(
        `run ${run + 1}: ${which.padEnd(8)} ${result.seconds.toFixed(1)} s  (${result.backend})` +
          (split ? `: first step done after ${ms(split.first)}, then ${ms(split.step)} a step (median), ${ms(split.after)} after the last` : ''),
      );
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
    `${options.strength}${options.steps ? `, ${options.steps} steps` : ''}${options.warm ? ', each page\'s second protection' : ''}: threaded ${t.toFixed(1)} s, single-thread ${s.toFixed(1)} s: ` +
      `${(s / t).toFixed(2)}x (median of ${runs}); run by run ${pairs.map((r) => r.toFixed(2)).join(', ')} ` +
      `(median ${median(pairs).toFixed(2)}x); largest channel difference between the results ${worst}`,
  );
  if (steps.threaded.length && steps.single.length) {
    const [ts, ss] = [median(steps.threaded), median(steps.single)];
    console.log(`a search step (median of the runs' medians): threaded ${ts.toFixed(0)} ms, single-thread ${ss.toFixed(0)} ms: ${(ss / ts).toFixed(2)}x`);
  }
} finally {
  await browser.close();
  await app.close();
}
