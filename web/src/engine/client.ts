// The page's typed bridge to the engine worker (in the manner of squoosh's worker-bridge).
//
// - Every call takes an optional AbortSignal. Wasm cannot be interrupted mid-computation, so
//   aborting terminates the worker; the next call starts a fresh one (lazily, behind one
//   promise) with the same backend preference.
// - Progress comes back through a callback.
// - A worker that dies (a wasm trap, out of memory) rejects its pending calls with an
//   `EngineCrashedError` and is replaced on the next call, so the page stays usable.

import type { BackendInfo, BackendPreference, EngineApi, Method, Progress, Reply, Request } from './protocol';

export interface CallOptions {
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
}

export class EngineCrashedError extends Error {
  override name = 'EngineCrashedError';
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
  onProgress?: (progress: Progress) => void;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
}

export class EngineClient {
  readonly #preference: BackendPreference;
  readonly #createWorker: () => Worker;
  #worker: Worker | null = null;
  #started: Promise<BackendInfo> | null = null;
  #nextId = 1;
  #pending = new Map<number, Pending>();

  constructor(preference: BackendPreference, createWorker?: () => Worker) {
    this.#preference = preference;
    this.#createWorker =
      createWorker ?? (() => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'facecloak-engine' }));
  }

  /** Starts the engine (once per worker) and says which backend it runs on. */
  start(options: CallOptions = {}): Promise<BackendInfo> {
    this.#ensureWorker();
    return this.#withSignal(this.#started!, options.signal);
  }

  /** The conv2d + gradient self-check, on whatever backend the engine runs. */
  async selfCheck(size: number, options: CallOptions = {}): Promise<EngineApi['selfCheck']['result']> {
    await this.start(options);
    return this.#call('selfCheck', { size }, options);
  }

  /** Stops the worker and everything it is doing. */
  terminate(reason: unknown = new DOMException('The engine was stopped.', 'AbortError')) {
    this.#worker?.terminate();
    this.#worker = null;
    this.#started = null;
    for (const pending of this.#pending.values()) pending.reject(reason);
    this.#pending.clear();
  }

  #ensureWorker() {
    if (this.#worker) return;
    const worker = this.#createWorker();
    worker.addEventListener('message', (event: MessageEvent<Reply>) => this.#onReply(event.data));
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      this.terminate(new EngineCrashedError(`the engine worker stopped: ${event.message || 'unknown error'}`));
    });
    this.#worker = worker;
    this.#started = this.#call('start', { backend: this.#preference }, {});
    // A failed start is reported to whoever awaits it; don't also report it as unhandled.
    this.#started.catch(() => {});
  }

  #call<M extends Method>(method: M, params: EngineApi[M]['params'], options: CallOptions): Promise<EngineApi[M]['result']> {
    const { signal, onProgress } = options;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    this.#ensureWorker();
    const id = this.#nextId++;
    const result = new Promise<EngineApi[M]['result']>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, onProgress });
    });
    const request: Request<M> = { id, method, params };
    this.#worker!.postMessage(request);
    return this.#withSignal(result, signal);
  }

  #withSignal<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
    if (!signal) return promise;
    if (signal.aborted) return Promise.reject(abortError(signal));
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        // The only way to stop wasm mid-computation: stop its worker.
        this.terminate(abortError(signal));
        reject(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  #onReply(reply: Reply) {
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    if (reply.kind === 'progress') {
      pending.onProgress?.(reply.progress);
      return;
    }
    this.#pending.delete(reply.id);
    if (reply.kind === 'result') {
      pending.resolve(reply.value);
    } else {
      const error = new Error(reply.error.message);
      error.name = reply.error.name;
      pending.reject(error);
    }
  }
}
