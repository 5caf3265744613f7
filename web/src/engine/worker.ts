// The engine worker: the only place that loads the wasm module and touches the GPU. The page
// talks to it through client.ts; model code never runs on the main thread.
//
// Start-up: init the module → request a WebGPU adapter → start burn's wgpu backend and prove it
// computes (a small self-check) → ready. Any failure on the GPU path (no `navigator.gpu`, no
// adapter, device creation refused or lost, wrong numbers) falls back to burn's CPU backend and
// records why, so the page can say so.

/// <reference lib="webworker" />
/// <reference types="@webgpu/types" />

import init, { Engine } from '../../pkg/facecloak_wasm.js';
import wasmUrl from '../../pkg/facecloak_wasm_bg.wasm?url';
import type { BackendInfo, BackendPreference, EngineApi, Method, Progress, Reply, Request } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

let engine: Promise<Engine> | null = null;

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
    const check = (await started.selfCheck(16)) as EngineApi['selfCheck']['result'];
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

/**
 * Runs `task` on the engine. If it fails because the GPU device was lost, the engine moves to
 * the CPU (saying why) and the task runs once more there.
 */
async function withEngine<T>(task: (engine: Engine) => Promise<T>): Promise<T> {
  engine ??= boot('auto');
  const current = await engine;
  try {
    return await task(current);
  } catch (error) {
    const lost = current.deviceLost;
    if (!lost) throw error;
    const fallback = Engine.startCpu(`the GPU device was lost (${lost})`);
    engine = Promise.resolve(fallback);
    return task(fallback);
  }
}

type Handler<M extends Method> = (
  params: EngineApi[M]['params'],
  progress: (p: Progress) => void,
) => Promise<EngineApi[M]['result']>;

const handlers: { [M in Method]: Handler<M> } = {
  async start({ backend }) {
    engine ??= boot(backend);
    return (await engine).backend as BackendInfo;
  },
  selfCheck({ size }, progress) {
    return withEngine(async (e) => (await e.selfCheck(size, progress)) as EngineApi['selfCheck']['result']);
  },
};

function reply(message: Reply) {
  self.postMessage(message);
}

self.addEventListener('message', async (event: MessageEvent<Request>) => {
  const { id, method, params } = event.data;
  try {
    const handler = handlers[method] as Handler<Method>;
    if (!handler) throw new TypeError(`unknown engine method ${String(method)}`);
    const value = await handler(params as never, (progress) => reply({ id, kind: 'progress', progress }));
    reply({ id, kind: 'result', value });
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    reply({ id, kind: 'error', error: { name, message: message(error) } });
  }
});
