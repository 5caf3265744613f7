// The engine worker: the only place that loads the wasm module, the models and the GPU. The
// page (or the <face-cloak> widget) talks to it through client.ts; model code never runs on the
// main thread, so the page stays responsive during a protection.
//
// Start-up: load the build of the module the engine runs in (the single-thread one; the
// threaded one, its thread pool built first, for the CPU on `?threads=on` where the page is
// cross-origin isolated) →
// init it → request a WebGPU adapter → start burn's wgpu backend and prove it
// computes (a small self-check) → ready. Any failure on the GPU path (no `navigator.gpu`, no
// adapter, device creation refused or lost, wrong numbers) falls back to burn's CPU backend and
// records why, so the page can say so. Face finding always runs on the CPU backend (its reads
// are synchronous, which a browser's WebGPU cannot do); the search runs on the chosen backend.

/// <reference lib="webworker" />
/// <reference types="@webgpu/types" />

import type * as Wasm from '../../pkg/facecloak_wasm.js';
import { fetchModels } from './models';
import type {
  Analysis,
  BackendChoice,
  BackendPreference,
  CheckProgress,
  EngineApi,
  Method,
  Progress,
  Reply,
  Request,
  StepProgress,
  ThreadsPreference,
} from './protocol';

declare const self: DedicatedWorkerGlobalScope;

type Engine = Wasm.Engine;
/** The threaded build's glue: the same API plus wasm-bindgen-rayon's pool constructor. */
type ThreadedWasm = typeof Wasm & { initThreadPool(threads: number): Promise<void> };

// The builds this app was built with (wasm-pack.toml [module.*]; `--local` builds only the
// threaded one). A glob, so that a build missing one still bundles; each is its own chunk, and
// only the one chosen is downloaded.
const GLUE = import.meta.glob<typeof Wasm>(['../../pkg/facecloak_wasm.js', '../../pkg/facecloak_wasm_threads.js']);
const WASM_URLS = import.meta.glob<string>(['../../pkg/facecloak_wasm_bg.wasm', '../../pkg/facecloak_wasm_threads_bg.wasm'], {
  query: '?url',
  import: 'default',
  eager: true,
});

/** The module's API, once loaded (static functions such as `Engine.presets` need it). */
let wasm: typeof Wasm | null = null;

let engine: Promise<Engine> | null = null;
let modelsBase = '';
let modelsLoaded: Promise<EngineApi['loadModels']['result']> | null = null;
/** The photo the engine holds (by identity of its bytes), so protect need not re-analyse it. */
let analysed: { key: string; analysis: Omit<Analysis, 'rgba'> } | null = null;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** WebGPU, in the single-thread build (loaded only once an adapter is there to use). */
async function startGpu(): Promise<{ started: Engine; adapter: string } | string> {
  const gpu = self.navigator.gpu;
  if (!gpu) return 'this browser offers no WebGPU (navigator.gpu is missing)';
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (error) {
    return `requesting a WebGPU adapter failed: ${message(error)}`;
  }
  if (!adapter) return 'WebGPU offered no adapter (the GPU may be blocklisted or switched off)';
  const info = adapter.info;
  const description = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unnamed adapter';
  let started: Engine;
  try {
    started = await (await loadModule('single')).Engine.startWebgpu(description);
  } catch (error) {
    return `WebGPU did not start: ${message(error)}`;
  }
  // Warm-up and proof in one: a GPU that computes wrong numbers is worse than none.
  try {
    const check = await started.selfCheck(16, undefined);
    if (!check.passed) {
      return `WebGPU computed wrong results in the start-up check (gradient error ${check.gradient_error.toExponential(1)})`;
    }
  } catch (error) {
    return `WebGPU failed in the start-up check: ${message(error)}`;
  }
  return { started, adapter: description };
}

/** The two builds of the module: the threaded one is CPU only (wgpu is not `Send` with atomics). */
type Build = 'single' | 'threads';
const STEMS: Record<Build, string> = { single: 'facecloak_wasm', threads: 'facecloak_wasm_threads' };
const built = (build: Build) => `../../pkg/${STEMS[build]}.js` in GLUE;
const loaded = new Map<Build, Promise<typeof Wasm>>();
let threadsPreference: ThreadsPreference = 'off';

/**
 * Loads and initialises one build, once. The threaded one's pool is built before anything else
 * runs in it, because rayon's first use would otherwise settle on one thread for good.
 */
function loadModule(build: Build): Promise<typeof Wasm> {
  let module = loaded.get(build);
  if (!module) {
    const stem = STEMS[build];
    const load = GLUE[`../../pkg/${stem}.js`];
    if (!load) return Promise.reject(new Error(`this app was built without the ${build} engine`));
    module = (async () => {
      const glue = await load();
      await glue.default({ module_or_path: WASM_URLS[`../../pkg/${stem}_bg.wasm`] });
      if (build === 'threads') await (glue as ThreadedWasm).initThreadPool(self.navigator.hardwareConcurrency);
      return glue;
    })();
    loaded.set(build, module);
  }
  return module;
}

/**
 * The CPU engine: in the threaded build where threads are asked for and shared memory exists
 * (a cross-origin isolated page), else in the single-thread one.
 */
async function startCpu(reason?: string): Promise<Engine> {
  const threaded = threadedCpu();
  if (!threaded && !built('single')) {
    throw new Error(
      'this build has only the threaded engine, which needs a cross-origin isolated page ' +
        '(the Cross-Origin-Opener-Policy and -Embedder-Policy headers): serve it as scripts/start does, ' +
        'or build both engines with node scripts/build.mjs',
    );
  }
  wasm = await loadModule(threaded ? 'threads' : 'single');
  return wasm.Engine.startCpu(reason);
}

/** Whether the CPU engine runs in the threaded build: asked for, possible here, and built. */
function threadedCpu(): boolean {
  return threadsPreference === 'on' && self.crossOriginIsolated && built('threads');
}

/** The threads the CPU engine will have: the pool's size in the threaded build, else one. */
function cpuThreads(): number {
  return threadedCpu() ? self.navigator.hardwareConcurrency : 1;
}

/**
 * Set by `auto` when WebGPU started and no remembered choice fits: the adapter to measure
 * against the CPU once the models are loaded (`loadModels`).
 */
let toMeasure: string | null = null;

async function boot(preference: BackendPreference, remembered: BackendChoice | null): Promise<Engine> {
  toMeasure = null;
  if (preference === 'cpu') return startCpu('the CPU was asked for');
  // WebGPU runs in the single-thread build.
  if (!built('single')) return startCpu('this build has no WebGPU engine (it was built with --local)');
  const gpu = await startGpu();
  if (typeof gpu === 'string') return startCpu(gpu);
  wasm = await loadModule('single');
  if (preference === 'gpu') return gpu.started;
  // auto: a choice measured for this adapter and this many CPU threads still holds.
  if (remembered && remembered.adapter === gpu.adapter && remembered.cpu_threads === cpuThreads()) {
    if (remembered.chosen === 'gpu') {
      gpu.started.setChoice(remembered, true);
      return gpu.started;
    }
    gpu.started.free();
    const cpu = await startCpu();
    cpu.setChoice(remembered, true);
    return cpu;
  }
  toMeasure = gpu.adapter;
  return gpu.started;
}

function current(): Promise<Engine> {
  engine ??= boot('auto', null);
  return engine;
}

/** Loads every fetched model into `e`. */
function loadInto(e: Engine, models: Awaited<ReturnType<typeof fetchModels>>['models']) {
  for (const model of models) {
    const [json, ...shards] = model.files;
    try {
      e.loadModel(model.name, json, shards);
    } catch (error) {
      throw new Error(`the model ${model.name} did not load: ${message(error)}`);
    }
  }
}

/**
 * `auto` with both backends working: one search step's recognizer passes timed on WebGPU and
 * on the CPU engine, the faster kept (`BackendChoice`, the Rust rule), the other freed.
 */
async function measureAndChoose(gpu: Engine, adapter: string, models: Awaited<ReturnType<typeof fetchModels>>['models']) {
  const single = await loadModule('single');
  const gpuMs = await gpu.measureStep();
  const cpu = await startCpu();
  const cpuModule = wasm!;
  loadInto(cpu, models);
  const cpuMs = await cpu.measureStep();
  const choice = single.Engine.chooseBackend(adapter, gpuMs, cpuMs, cpu.backend.threads);
  const [winner, loser] = choice.chosen === 'gpu' ? [gpu, cpu] : [cpu, gpu];
  loser.free();
  winner.setChoice(choice, false);
  wasm = choice.chosen === 'gpu' ? single : cpuModule;
  engine = Promise.resolve(winner);
  analysed = null;
}

function api(): typeof Wasm {
  if (!wasm) throw new Error('the engine module is not loaded yet');
  return wasm;
}

/**
 * Runs `task` on the engine. If it fails because the GPU device was lost, the engine moves to
 * the CPU (saying why), with the models loaded again and the photo analysed again, and the
 * task runs once more there. (A target set for impersonation, and the person's other photos,
 * must be set again: the client does that.)
 */
async function withEngine<T>(task: (engine: Engine) => Promise<T>): Promise<T> {
  const started = await current();
  try {
    return await task(started);
  } catch (error) {
    const lost = started.deviceLost;
    if (!lost) throw error;
    engine = startCpu(`the GPU device was lost (${lost})`);
    modelsLoaded = null;
    analysed = null;
    return task(await engine);
  }
}

async function loadModels(progress: (p: Progress) => void) {
  const e = await current();
  modelsLoaded ??= (async () => {
    const { models, bytes, fromCache } = await fetchModels(modelsBase, (p) => progress({ kind: 'load', ...p }));
    loadInto(e, models);
    if (toMeasure) {
      const adapter = toMeasure;
      toMeasure = null;
      await measureAndChoose(e, adapter, models);
    }
    return { models: models.map((m) => m.name), bytes, fromCache, backend: (await current()).backend };
  })();
  // A failed load may be retried by the next call.
  modelsLoaded.catch(() => (modelsLoaded = null));
  return modelsLoaded;
}

/** A cheap identity for a photo's bytes: length and a sampled checksum. */
function keyOf(bytes: Uint8Array): string {
  let hash = 2166136261;
  const stride = Math.max(1, Math.floor(bytes.length / 65536));
  for (let i = 0; i < bytes.length; i += stride) hash = Math.imul(hash ^ bytes[i], 16777619);
  return `${bytes.length}:${hash >>> 0}`;
}

async function analyse(bytes: Uint8Array, maxPixels: number): Promise<Omit<Analysis, 'rgba'>> {
  await loadModels(() => {});
  const e = await current();
  const analysis = e.analyse(bytes, maxPixels);
  analysed = { key: keyOf(bytes), analysis };
  return analysis;
}

type Handler<M extends Method> = (
  params: EngineApi[M]['params'],
  progress: (p: Progress) => void,
) => Promise<EngineApi[M]['result']>;

const handlers: { [M in Method]: Handler<M> } = {
  async start({ backend, threads, modelsBase: base, remembered }) {
    modelsBase = base;
    threadsPreference = threads;
    engine ??= boot(backend, remembered);
    return (await engine).backend;
  },
  async selfCheck({ size }, progress) {
    const onPhase = (p: CheckProgress) => progress({ kind: 'check', ...p });
    return (await current()).selfCheck(size, onPhase);
  },
  loadModels(_params, progress) {
    return loadModels(progress);
  },
  async analyse({ bytes, maxPixels }) {
    const analysis = await analyse(bytes, maxPixels);
    const rgba = (await current()).photoPixels();
    return { ...analysis, rgba };
  },
  async parsePrompt({ text }) {
    await current();
    return api().Engine.parsePrompt(text);
  },
  async presets() {
    await current();
    return api().Engine.presets();
  },
  // The models first, then the engine: loading them may be where `auto` settles on its backend.
  async setTarget({ bytes, maxPixels }) {
    await loadModels(() => {});
    return withEngine(async (e) => {
      await loadModels(() => {});
      return e.setTarget(bytes, maxPixels);
    });
  },
  async setReferences({ photos, maxPixels }) {
    await loadModels(() => {});
    return withEngine(async (e) => {
      await loadModels(() => {});
      e.clearReferences();
      const results = [];
      for (const { name, bytes } of photos) {
        try {
          const { faces } = await e.addReference(bytes, name, maxPixels);
          results.push({ name, faces });
        } catch (error) {
          // One unusable photo (no face, unreadable) is said, and the others still count.
          results.push({ name, faces: 0, error: message(error) });
        }
      }
      return { photos: results };
    });
  },
  async protect({ request, photo, maxPixels }, progress) {
    await loadModels(() => {});
    return withEngine(async (e) => {
      // A fresh worker (after a cancel, or a lost GPU) no longer holds the photo: analyse it again.
      if (analysed?.key !== keyOf(photo)) await analyse(photo, maxPixels);
      const onStep = (step: StepProgress) => progress({ kind: 'step', ...step });
      const report = await e.protect(request, onStep);
      return { report, rgba: e.protectedPixels(), memoryBytes: e.memoryBytes };
    });
  },
  async encode({ format, quality }) {
    return (await current()).encode(format, quality);
  },
};

function reply(message: Reply, transfer: Transferable[] = []) {
  self.postMessage(message, transfer);
}

/** Large byte arrays in a result move to the page instead of being copied. */
function transferables(value: unknown): Transferable[] {
  if (value instanceof Uint8Array) return [value.buffer as ArrayBuffer];
  if (value && typeof value === 'object') {
    return Object.values(value).flatMap((v) => (v instanceof Uint8Array ? [v.buffer as ArrayBuffer] : []));
  }
  return [];
}

self.addEventListener('message', async (event: MessageEvent<Request>) => {
  const { id, method, params } = event.data;
  try {
    const handler = handlers[method] as Handler<Method>;
    if (!handler) throw new TypeError(`unknown engine method ${String(method)}`);
    const value = await handler(params as never, (progress) => {
      const preview = progress.kind === 'step' ? progress.preview : undefined;
      reply({ id, kind: 'progress', progress }, preview ? [preview.rgba.buffer as ArrayBuffer] : []);
    });
    reply({ id, kind: 'result', value }, transferables(value));
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    reply({ id, kind: 'error', error: { name, message: message(error) } });
  }
});
