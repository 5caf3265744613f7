// Types of the <face-cloak> element (the package's face-cloak.js defines it on import).

export interface Score {
  name: string;
  threshold: number;
  before: number;
  after: number;
}

export interface StepProgress {
  face: number;
  faces: number;
  step: number;
  steps: number;
  loss: number;
  elapsed: number;
  similarities: Score[];
}

export interface ProtectReport {
  width: number;
  height: number;
  mode: 'dodge' | 'impersonate';
  strength: 'low' | 'medium' | 'high';
  prompt: string;
  backend: { kind: 'gpu' | 'cpu'; name: string; adapter: string; fallback_reason: string | null };
  faces: {
    box: { x: number; y: number; width: number; height: number; score: number };
    steps: number;
    converged: boolean;
    cancelled: boolean;
    skipped: boolean;
    seconds: number;
    similarities: Score[];
  }[];
  ssim: number;
  psnr_db: number | null;
  seconds: number;
  protocol: string;
}

export interface FaceCloakResult {
  blob: Blob;
  report: ProtectReport;
}

export declare class FaceCloakElement extends HTMLElement {
  protect(photo: Blob | ImageBitmap): Promise<FaceCloakResult>;
  setTarget(photo: Blob | ImageBitmap): Promise<void>;
  cancel(): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'face-cloak': FaceCloakElement;
  }
  interface HTMLElementEventMap {
    'face-cloak-progress': CustomEvent<StepProgress>;
    'face-cloak-done': CustomEvent<FaceCloakResult>;
    'face-cloak-error': CustomEvent<{ name: string; message: string }>;
  }
}
