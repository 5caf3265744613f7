// The engine worker: the only place that loads the wasm module, the models and the GPU. The
// page (or the <face-cloak> widget) talks to it through client.ts; model code never runs on the
// main thread, so the page stays responsive during a protection.
//
// Start-up: init the module → request a WebGPU adapter → start burn's wgpu backend and prove it
// computes (a small self-check) → ready. Any failure on the GPU path (no `navigator.gpu`, no
// adapter, device creation refused or lost, wrong numbers) falls back to burn's CPU backend and
// records why, so the page can say so. Face finding always runs on the CPU backend (its reads
// are synchronous, which a browser's WebGPU cannot do); the search runs on the chosen backend.

/// <reference lib="webworker" />
/// <reference types="@webgpu/types" />

import init, { Engine } from '../../pkg/facecloak_wasm.js';
import wasmUrl from '../../pkg/facecloak_wasm_bg.wasm?url';
import { fetchModels } from './models';
import type {
  Analysis,
  BackendPreference,
  CheckProgress,
  EngineApi,
  Method,
  Progress,
  Reply,
  Request,
  StepProgress,
} from './protocol';

declare const self: DedicatedWorkerGlobalScope;

let engine: Promise<Engine> | null = null;
let modelsBase = '';
let modelsLoaded: Promise<EngineApi['loadModels']['result']> | null = null;
/** The photo the engine holds (by identity of its bytes), so protect need not re-analyse it. */
let analysed: { key: string; analysis: Omit<Analysis, 'rgba'> } | null = null;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function startGpu(): Promise<Engine | string> {
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
    started = await Engine.startWebgpu(description);
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
  return started;
}

async function boot(preference: BackendPreference): Promise<Engine> {
  await init({ module_or_path: wasmUrl });
  if (preference === 'cpu') return Engine.startCpu('the CPU was asked for');
  const gpu = await startGpu();
  return typeof gpu === 'string' ? Engine.startCpu(gpu) : gpu;
}

function current(): Promise<Engine> {
  engine ??= boot('auto');
  return engine;
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
    engine = Promise.resolve(Engine.startCpu(`the GPU device was lost (${lost})`));
    modelsLoaded = null;
    analysed = null;
    return task(await engine);
  }
}

async function loadModels(progress: (p: Progress) => void) {
  const e = await current();
  modelsLoaded ??= (async () => {
    const { models, bytes, fromCache } = await fetchModels(modelsBase, (p) => progress({ kind: 'load', ...p }));
    for (const model of models) {
      const [json, ...shards] = model.files;
      try {
        e.loadModel(model.name, json, shards);
      } catch (error) {
        throw new Error(`the model ${model.name} did not load: ${message(error)}`);
      }
    }
    return { models: models.map((m) => m.name), bytes, fromCache };
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
  async start({ backend, modelsBase: base }) {
    modelsBase = base;
    engine ??= boot(backend);
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
    return Engine.parsePrompt(text);
  },
  async presets() {
    await current();
    return Engine.presets();
  },
  setTarget({ bytes, maxPixels }) {
    return withEngine(async (e) => {
      await loadModels(() => {});
      return e.setTarget(bytes, maxPixels);
    });
  },
  setReferences({ photos, maxPixels }) {
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
  protect({ request, photo, maxPixels }, progress) {
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
