// The typed contract between the page (or the <face-cloak> widget) and the engine worker.
// Shared by both sides (and by both tsconfigs): the page never imports the worker's code, only
// these types. Everything the Rust engine takes or gives is generated from its Rust types
// (./generated/types.ts, by facecloak_protect::typescript; a Rust test keeps it current); only
// what exists on this side of the worker is written here.

import type {
  Analysis as EngineAnalysis,
  BackendChoice,
  BackendInfo,
  CheckProgress,
  Preset,
  PromptPreview,
  ProtectReport,
  ProtectRequest,
  SelfCheckReport,
  StepProgress as EngineStepProgress,
} from './generated/types';

export type * from './generated/types';

/**
 * Which backend the engine runs on: `auto`, the faster of WebGPU and the CPU where both start
 * (measured once per adapter, then remembered by the page); `gpu`, WebGPU whenever it starts;
 * `cpu`, the CPU. Without a working GPU every choice runs on the CPU, saying why.
 */
export type BackendPreference = 'auto' | 'gpu' | 'cpu';

/**
 * Whether the CPU engine runs in the threaded build (`on`: where the page is cross-origin
 * isolated, the only place shared memory exists) or the single-thread one (`off`, the default:
 * on this version's networks the pool does not yet pay for itself; `?threads=on` to compare).
 */
export type ThreadsPreference = 'on' | 'off';

/** What the engine found in a photo, with the photo upright as RGBA, as the engine sees it. */
export interface Analysis extends EngineAnalysis {
  rgba: Uint8Array;
}

/** One search step, with a preview picture of the made-up face every `preview_every` steps. */
export interface StepProgress extends EngineStepProgress {
  preview?: { width: number; height: number; rgba: Uint8Array };
}

/** Progress of model loading. */
export interface LoadProgress {
  model: string;
  loaded: number;
  total: number;
  /** Where the files came from: the Cache API or the network (the page's own origin). */
  from: 'cache' | 'network';
}

/** Progress of any call, tagged by what it reports on. */
export type Progress =
  | ({ kind: 'step' } & StepProgress)
  | ({ kind: 'load' } & LoadProgress)
  | ({ kind: 'check' } & CheckProgress);

/** One of the person's other photos, to check a protection against. */
export interface ReferencePhoto {
  name: string;
  bytes: Uint8Array;
}

/** What became of one: its faces (its largest is used), or why it cannot be used. */
export interface ReferenceResult {
  name: string;
  faces: number;
  error?: string;
}

/** The engine's methods: parameters and results. */
export interface EngineApi {
  start: {
    params: {
      backend: BackendPreference;
      threads: ThreadsPreference;
      modelsBase: string;
      /** The choice `auto` made on an earlier visit (the page keeps it), used if it is for this adapter. */
      remembered: BackendChoice | null;
    };
    result: BackendInfo;
  };
  selfCheck: { params: { size: number }; result: SelfCheckReport };
  /** Also where `auto` measures: the backend it settled on comes back with the models. */
  loadModels: { params: Record<string, never>; result: { models: string[]; bytes: number; fromCache: number; backend: BackendInfo } };
  analyse: { params: { bytes: Uint8Array; maxPixels: number }; result: Analysis };
  parsePrompt: { params: { text: string }; result: PromptPreview };
  presets: { params: Record<string, never>; result: Preset[] };
  setTarget: { params: { bytes: Uint8Array; maxPixels: number }; result: { faces: number } };
  /** Replaces the person's other photos that each protection is checked against. */
  setReferences: { params: { photos: ReferencePhoto[]; maxPixels: number }; result: { photos: ReferenceResult[] } };
  protect: {
    params: { request: ProtectRequest; photo: Uint8Array; maxPixels: number };
    /** `memoryBytes`: the engine's wasm memory afterwards (it only grows: its peak so far). */
    result: { report: ProtectReport; rgba: Uint8Array; memoryBytes: number };
  };
  encode: { params: { format: 'png' | 'jpeg'; quality: number }; result: Uint8Array };
}

export type Method = keyof EngineApi;

export interface Request<M extends Method = Method> {
  id: number;
  method: M;
  params: EngineApi[M]['params'];
}

export interface SerializedError {
  name: string;
  message: string;
}

export type Reply =
  | { id: number; kind: 'progress'; progress: Progress }
  | { id: number; kind: 'result'; value: unknown }
  | { id: number; kind: 'error'; error: SerializedError };
