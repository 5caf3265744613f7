// The page's typed bridge to the engine worker (in the manner of squoosh's worker-bridge).
//
// - Every call takes an optional AbortSignal. Wasm cannot be interrupted mid-computation, so
//   aborting terminates the worker; the next call starts a fresh one (lazily, behind one
//   promise) with the same backend preference.
// - Progress comes back through a callback, each call's own kind only (progress is tagged).
// - A worker that dies (a wasm trap, out of memory) rejects its pending calls with an
//   `EngineCrashedError` and is replaced on the next call, so the page stays usable.
// - What a fresh worker lacks is given back to it: the photo travels with every protect, and
//   the impersonation target and the person's other photos set last are set again before the
//   next protection (a cancel or a lost GPU restarts the worker, which loses them).

import type {
  BackendChoice,
  BackendInfo,
  BackendPreference,
  ThreadsPreference,
  EngineApi,
  Method,
  Progress,
  ProtectRequest,
  ReferencePhoto,
  Reply,
  Request,
} from './protocol';

/** The progress of one kind. */
export type ProgressOf<K extends Progress['kind']> = Extract<Progress, { kind: K }>;

export interface CallOptions<K extends Progress['kind'] = Progress['kind']> {
  signal?: AbortSignal;
  onProgress?: (progress: ProgressOf<K>) => void;
}

/** What a pending call is given: any progress the worker sends for it. */
type AnyProgress = { signal?: AbortSignal; onProgress?: (progress: Progress) => void };

/** `options` with a callback that hears progress of kind `kind` only. */
function only<K extends Progress['kind']>(kind: K, { signal, onProgress }: CallOptions<K>): AnyProgress {
  const isKind = (progress: Progress): progress is ProgressOf<K> => progress.kind === kind;
  return { signal, onProgress: onProgress && ((progress) => isKind(progress) && onProgress(progress)) };
}

/**
 * `auto`'s measured choice of backend, kept in this origin's storage so that it is measured
 * once per adapter, not on every visit (the worker checks it is for the adapter it has).
 */
const CHOICE_KEY = 'facecloak.backend-choice';

function rememberedChoice(): BackendChoice | null {
  try {
    const stored = JSON.parse(localStorage.getItem(CHOICE_KEY) ?? 'null');
    return stored && typeof stored.adapter === 'string' && (stored.chosen === 'gpu' || stored.chosen === 'cpu') ? stored : null;
  } catch {
    return null; // storage refused (a sandboxed frame) or unreadable: measure again
  }
}

function rememberChoice(choice: BackendChoice) {
  try {
    localStorage.setItem(CHOICE_KEY, JSON.stringify(choice));
  } catch {
    // Storage refused: the next visit measures again.
  }
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
  readonly #threads: ThreadsPreference;
  readonly #modelsBase: string;
  readonly #createWorker: () => Worker;
  #worker: Worker | null = null;
  #started: Promise<BackendInfo> | null = null;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  /** The target photo set last, and the worker that holds it (null: none does any more). */
  #target: { bytes: Uint8Array; maxPixels: number } | null = null;
  #targetHeldBy: Worker | null = null;
  /** The person's other photos set last, and the worker that holds their embeddings. */
  #references: { photos: ReferencePhoto[]; maxPixels: number } | null = null;
  #referencesHeldBy: Worker | null = null;

  /** `modelsBase`: the URL of the folder holding the models and their manifest.json. */
  constructor(
    preference: BackendPreference,
    modelsBase: string,
    { threads = 'off', createWorker }: { threads?: ThreadsPreference; createWorker?: () => Worker } = {},
  ) {
    this.#preference = preference;
    this.#threads = threads;
    this.#modelsBase = modelsBase;
    this.#createWorker =
      createWorker ?? (() => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'facecloak-engine' }));
  }

  /** Starts the engine (once per worker) and says which backend it runs on. */
  start(options: { signal?: AbortSignal } = {}): Promise<BackendInfo> {
    this.#ensureWorker();
    return this.#withSignal(this.#started!, options.signal);
  }

  /** The conv2d + gradient self-check, on whatever backend the engine runs. */
  async selfCheck(size: number, options: CallOptions<'check'> = {}): Promise<EngineApi['selfCheck']['result']> {
    await this.start(options);
    return this.#call('selfCheck', { size }, only('check', options));
  }

  /** Fetches (or reads from the cache), checks and loads the face models. */
  async loadModels(options: CallOptions<'load'> = {}): Promise<EngineApi['loadModels']['result']> {
    await this.start(options);
    const loaded = await this.#call('loadModels', {}, only('load', options));
    const choice = loaded.backend.choice;
    if (choice && !choice.remembered) rememberChoice(choice);
    return loaded;
  }

  /** Decodes a photo and finds its faces. */
  async analyse(bytes: Uint8Array, maxPixels: number, options: { signal?: AbortSignal } = {}): Promise<EngineApi['analyse']['result']> {
    await this.start(options);
    return this.#call('analyse', { bytes, maxPixels }, options);
  }

  async parsePrompt(text: string): Promise<EngineApi['parsePrompt']['result']> {
    await this.start();
    return this.#call('parsePrompt', { text }, {});
  }

  async presets(): Promise<EngineApi['presets']['result']> {
    await this.start();
    return this.#call('presets', {}, {});
  }

  /** Sets the person to impersonate from a photo of them. */
  async setTarget(bytes: Uint8Array, maxPixels: number, options: { signal?: AbortSignal } = {}): Promise<EngineApi['setTarget']['result']> {
    await this.start(options);
    const result = await this.#call('setTarget', { bytes, maxPixels }, options);
    this.#target = { bytes, maxPixels };
    this.#targetHeldBy = this.#worker;
    return result;
  }

  /**
   * Sets the person's other photos (none: no check) that each protection is checked against.
   * Resolves to what became of each; an unusable one is reported, not fatal.
   */
  async setReferences(
    photos: ReferencePhoto[],
    maxPixels: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<EngineApi['setReferences']['result']> {
    await this.start(options);
    const result = await this.#call('setReferences', { photos, maxPixels }, options);
    this.#references = photos.length ? { photos, maxPixels } : null;
    this.#referencesHeldBy = this.#worker;
    return result;
  }

  /**
   * Protects `photo` (its bytes; the engine analyses it again if a restart lost it).
   * Aborting the signal cancels: the worker is stopped and the next call starts a fresh one.
   */
  async protect(
    photo: Uint8Array,
    request: ProtectRequest,
    maxPixels: number,
    options: CallOptions<'step'> = {},
  ): Promise<EngineApi['protect']['result']> {
    await this.start(options);
    if (request.mode === 'impersonate' && this.#target && this.#targetHeldBy !== this.#worker) {
      await this.setTarget(this.#target.bytes, this.#target.maxPixels, { signal: options.signal });
    }
    if (this.#references && this.#referencesHeldBy !== this.#worker) {
      await this.setReferences(this.#references.photos, this.#references.maxPixels, { signal: options.signal });
    }
    return this.#call('protect', { request, photo, maxPixels }, only('step', options));
  }

  /** The protected photo as PNG or JPEG bytes, without metadata. */
  async encode(format: 'png' | 'jpeg', quality: number): Promise<Uint8Array> {
    return this.#call('encode', { format, quality }, {});
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
    this.#started = this.#call('start', { backend: this.#preference, threads: this.#threads, modelsBase: this.#modelsBase, remembered: rememberedChoice() }, {});
    // A failed start is reported to whoever awaits it; don't also report it as unhandled.
    this.#started.catch(() => {});
  }

  #call<M extends Method>(
    method: M,
    params: EngineApi[M]['params'],
    options: AnyProgress,
  ): Promise<EngineApi[M]['result']> {
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
