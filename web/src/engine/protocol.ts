// The typed contract between the page (or the <face-cloak> widget) and the engine worker.
// Shared by both sides (and by both tsconfigs): the page never imports the worker's code, only
// these types.

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

/** `facecloak_device::selfcheck::SelfCheckReport` (the parts the page uses). */
export interface SelfCheckReport {
  backend: BackendInfo;
  passed: boolean;
  gradient_error: number;
  forward_ms: number;
  backward_ms: number;
}

/** A face's box in photo pixels. */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

/** What the engine found in a photo. */
export interface Analysis {
  width: number;
  height: number;
  faces: FaceBox[];
  /** Faces found but too small to protect. */
  too_small: FaceBox[];
  min_face_size: number;
  /** The photo upright, RGBA, as the engine sees it. */
  rgba: Uint8Array;
}

/** What a makeup prompt asks for. */
export interface ParsedPrompt {
  targets: { region: string; colour: string | null; intensity: number }[];
  /** Light and line asked for (contour, highlight, winged liner, mascara, overlined lips). */
  shaping: { name: string; intensity: number }[];
  /** Words not understood. */
  unknown: string[];
  /** Clauses naming a colour but no region. */
  unplaced: string[];
}

export interface Preset {
  name: string;
  prompt: string;
}

export type Strength = 'low' | 'medium' | 'high';
export type Mode = 'dodge' | 'impersonate';

export interface ProtectOptions {
  prompt: string;
  strength: Strength;
  mode: Mode;
  /** Indices of the faces to protect (default: all). */
  faces?: number[];
  /** At most this many search steps (default: the strength's). */
  steps?: number;
  seed?: number;
  /** A preview picture every this many steps. */
  previewEvery?: number;
}

/** One recognizer's similarity against its threshold. */
export interface Score {
  name: string;
  threshold: number;
  before: number;
  after: number;
}

/** One search step. */
export interface StepProgress {
  face: number;
  faces: number;
  step: number;
  steps: number;
  loss: number;
  /** Seconds since this face's search began. */
  elapsed: number;
  /** `before` is NaN here: only `after` (this step's similarity) is known. */
  similarities: Score[];
  preview?: { width: number; height: number; rgba: Uint8Array };
}

export interface FaceReport {
  box: FaceBox;
  steps: number;
  converged: boolean;
  cancelled: boolean;
  skipped: boolean;
  seconds: number;
  similarities: Score[];
  /** The makeup applied; null when the face was skipped. */
  look: Look | null;
  /** How natural the result measured; null when the face was skipped. */
  naturalness: Naturalness | null;
}

/** One pigment as applied (facecloak_makeup::AppliedPigment). */
export interface AppliedPigment {
  name: string;
  requested: boolean;
  /** sRGB 0–255. */
  target: [number, number, number];
  applied: [number, number, number];
  /** CIEDE2000 between target and applied. */
  delta_e: number;
  coverage: number;
}

/** The makeup in numbers (facecloak_makeup::Look). */
export interface Look {
  pigments: AppliedPigment[];
  /** Contour (negative) and highlight per place: ΔL* at the band's centre. */
  light: [string, number][];
  /** Foundation's ΔL* and Δb*. */
  foundation: [number, number];
  lip_line: number;
  wing: number;
}

/** The naturalness measures of one face (facecloak_makeup::naturalness::Naturalness). */
export interface Naturalness {
  symmetry: number;
  bare_skin_hue: number;
  lip_spill: number;
  eye_spill: number;
  fine_energy: number;
  mean_change: number;
}

/** What a protection did. */
export interface ProtectReport {
  width: number;
  height: number;
  mode: Mode;
  strength: Strength;
  prompt: string;
  backend: BackendInfo;
  faces: FaceReport[];
  ssim: number;
  psnr_db: number | null;
  seconds: number;
  /** How the similarities are measured, in words. */
  protocol: string;
}

/** Progress of model loading. */
export interface LoadProgress {
  model: string;
  loaded: number;
  total: number;
  /** Where the files came from: the Cache API or the network (the page's own origin). */
  from: 'cache' | 'network';
}

export type Progress = StepProgress | LoadProgress | { phase: string; step: number; total: number };

/** The engine's methods: parameters and results. */
export interface EngineApi {
  start: { params: { backend: BackendPreference; modelsBase: string }; result: BackendInfo };
  selfCheck: { params: { size: number }; result: SelfCheckReport };
  loadModels: { params: Record<string, never>; result: { models: string[]; bytes: number; fromCache: number } };
  analyse: { params: { bytes: Uint8Array; maxPixels: number }; result: Analysis };
  parsePrompt: { params: { text: string }; result: ParsedPrompt };
  presets: { params: Record<string, never>; result: Preset[] };
  setTarget: { params: { bytes: Uint8Array; maxPixels: number }; result: { faces: number } };
  protect: {
    params: { options: ProtectOptions; photo: Uint8Array; maxPixels: number };
    result: { report: ProtectReport; rgba: Uint8Array };
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
