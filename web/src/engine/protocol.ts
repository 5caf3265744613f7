// The typed contract between the page and the engine worker. Shared by both sides (and by both
// tsconfigs): the page never imports the worker's code, only these types.

/** Which backend the engine should try: the GPU when it can (falling back to the CPU), or the CPU. */
export type BackendPreference = 'auto' | 'cpu';

/** What the engine runs on, as the Rust core reports it (`facecloak_device::BackendInfo`). */
export interface BackendInfo {
  kind: 'gpu' | 'cpu';
  /** e.g. `wgpu/webgpu` or `flex`. */
  name: string;
  /** The adapter (`GPUAdapter.info`) or the CPU backend's description. */
  adapter: string;
  /** Why the GPU was not used, when it was wanted. */
  fallback_reason: string | null;
}

/** `facecloak_device::selfcheck::SelfCheckReport`. */
export interface SelfCheckReport {
  backend: BackendInfo;
  size: number;
  loss: number;
  reference_loss: number;
  forward_error: number;
  gradient_error: number;
  tolerance: number;
  passed: boolean;
  forward_ms: number;
  backward_ms: number;
  /** size × size RGB, interleaved, 0..1. */
  input_rgb: number[];
  /** size × size, 0..1. */
  response: number[];
  /** size × size, 0..1. */
  gradient: number[];
}

/** Progress of a long call. */
export interface Progress {
  phase: string;
  step: number;
  total: number;
}

/** The engine's methods: parameters and results. */
export interface EngineApi {
  start: { params: { backend: BackendPreference }; result: BackendInfo };
  selfCheck: { params: { size: number }; result: SelfCheckReport };
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
