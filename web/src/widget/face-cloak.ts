// <face-cloak>: facecloak as a web component for other sites. It runs the very engine the app
// runs (the same worker, wasm module and models), entirely in the visitor's browser.
//
//   <face-cloak makeup="berry" strength="low" mode="dodge" backend="auto"></face-cloak>
//
// Attributes: `makeup` (a preset name or a prompt), `strength` (low | medium | high), `mode`
// (dodge | impersonate; impersonation needs `setTarget(photo)` first), `attack` (absent: every
// recognizer but the independent judge; `all`: that one too), `backend` (auto | cpu), `models`
// (URL of the models folder; default: `models/` beside this module).
// Methods: `protect(file | blob | ImageBitmap)` → `{ blob, report }`; `setTarget(photo)`;
// `setReferencePhotos([photo, …])` — up to three other photos of the person: each report then
// says, per recognizer, whether it still matches them (`report.faces[i].verification`);
// `cancel()`.
// Events (bubbling, crossing shadow DOM): `face-cloak-progress` (detail: the step),
// `face-cloak-done` (detail: `{ blob, report }`), `face-cloak-error` (detail: `{ message }`).

import { EngineClient } from '../engine/client';
import { MAX_PIXELS, toBytes, unsupportedReason } from '../engine/photo';
import type {
  BackendPreference,
  Goal,
  Makeup,
  Preset,
  ProtectReport,
  ProtectRequest,
  ReferencePhoto,
  ReferenceResult,
  StepProgress,
  Strength,
} from '../engine/protocol';

export type { ProtectReport, ReferenceResult, StepProgress, Verification } from '../engine/protocol';

export interface FaceCloakResult {
  blob: Blob;
  report: ProtectReport;
}

const STYLE = `
:host { display: block; font: 1rem/1.4 system-ui, sans-serif; color: #1a1a1a; max-width: 40rem; }
.box { border: 1px solid #767676; border-radius: 8px; padding: 1rem; background: #fff; }
button, label.pick { font: inherit; padding: .45rem .9rem; border-radius: 6px; border: 1px solid #1d4ed8;
  background: #1d4ed8; color: #fff; cursor: pointer; display: inline-block; }
button[disabled] { background: #6b7280; border-color: #6b7280; cursor: not-allowed; }
button.secondary { background: #fff; color: #1d4ed8; }
:focus-visible { outline: 3px solid #b45309; outline-offset: 2px; }
input[type=file] { position: absolute; opacity: 0; width: 1px; height: 1px; }
progress { width: 100%; height: 1rem; }
img { max-width: 100%; display: block; margin-top: .75rem; border-radius: 4px; }
.row { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
.error { color: #b91c1c; }
`;

let shared: CSSStyleSheet | null = null;
function sheet(): CSSStyleSheet {
  if (!shared) {
    shared = new CSSStyleSheet();
    shared.replaceSync(STYLE);
  }
  return shared;
}

export class FaceCloakElement extends HTMLElement {
  static observedAttributes = ['backend', 'models'];

  #engine: EngineClient | null = null;
  #running: AbortController | null = null;
  #presets: Preset[] | null = null;
  readonly #root: ShadowRoot;

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: 'open' });
    // A constructed stylesheet, not a <style> element: a page whose Content-Security-Policy
    // forbids inline styles (as facecloak's own does) still styles the widget.
    this.#root.adoptedStyleSheets = [sheet()];
    this.#root.innerHTML = `
      <div class="box" part="box">
        <div class="row">
          <label class="pick" part="pick">Choose a photo to protect
            <input type="file" accept="image/jpeg,image/png,image/webp">
          </label>
          <button type="button" class="secondary" data-cancel disabled>Cancel</button>
        </div>
        <p><progress max="1" value="0" aria-label="Protection progress"></progress></p>
        <p data-status role="status" aria-live="polite">Your photo stays on this device.</p>
        <div data-result hidden>
          <img alt="The protected photo">
          <p><a data-download download="protected.png">Download the protected photo</a> (no metadata)</p>
        </div>
      </div>`;
    const input = this.#root.querySelector('input')!;
    input.addEventListener('change', () => {
      const file = input.files?.[0];
      input.value = '';
      if (file) this.protect(file).catch(() => {}); // reported through face-cloak-error
    });
    this.#root.querySelector('[data-cancel]')!.addEventListener('click', () => this.cancel());
  }

  attributeChangedCallback() {
    // A new backend or models folder: a new engine on next use.
    this.#engine?.terminate();
    this.#engine = null;
  }

  disconnectedCallback() {
    this.#engine?.terminate();
    this.#engine = null;
  }

  get engine(): EngineClient {
    if (!this.#engine) {
      const asked = this.getAttribute('backend');
      const backend: BackendPreference = asked === 'cpu' || asked === 'gpu' ? asked : 'auto';
      const models = this.getAttribute('models');
      const base = models ? new URL(models, document.baseURI).href : new URL(/* @vite-ignore */ './models/', import.meta.url).href;
      this.#engine = new EngineClient(backend, base);
    }
    return this.#engine;
  }

  /** Stops a protection in progress (the engine restarts for the next one). */
  cancel() {
    this.#running?.abort(new DOMException('Cancelled.', 'AbortError'));
  }

  /** Sets the person to impersonate (mode="impersonate"). */
  async setTarget(photo: Blob | ImageBitmap): Promise<void> {
    const bytes = await toBytes(photo);
    const reason = unsupportedReason(bytes, 'the target photo');
    if (reason) throw new Error(reason);
    const { faces } = await this.engine.setTarget(bytes, MAX_PIXELS);
    if (faces === 0) throw new Error('no face found in the target photo');
  }

  /**
   * Sets up to three other photos of the person (none: no check): every protection's report
   * then compares the face before and after with each (`report.faces[i].verification`). They
   * stay in this tab, are never stored, and a photo without a face is reported, not fatal.
   */
  async setReferencePhotos(photos: (Blob | ImageBitmap)[]): Promise<ReferenceResult[]> {
    if (photos.length > 3) throw new Error('at most 3 other photos of the person can be compared with');
    const named: ReferencePhoto[] = [];
    for (const [i, photo] of photos.entries()) {
      const name = photo instanceof File ? photo.name : `photo ${i + 1}`;
      const bytes = await toBytes(photo);
      const reason = unsupportedReason(bytes, name);
      if (reason) throw new Error(reason);
      named.push({ name, bytes });
    }
    return (await this.engine.setReferences(named, MAX_PIXELS)).photos;
  }

  /** Protects every face of `photo`; resolves to the protected photo (PNG) and its report. */
  async protect(photo: Blob | ImageBitmap): Promise<FaceCloakResult> {
    const status = this.#root.querySelector<HTMLElement>('[data-status]')!;
    const bar = this.#root.querySelector('progress')!;
    const cancel = this.#root.querySelector<HTMLButtonElement>('[data-cancel]')!;
    const result = this.#root.querySelector<HTMLElement>('[data-result]')!;
    this.cancel();
    const running = new AbortController();
    this.#running = running;
    cancel.disabled = false;
    result.hidden = true;
    status.classList.remove('error');
    try {
      const bytes = await toBytes(photo);
      const reason = unsupportedReason(bytes, photo instanceof File ? photo.name : 'the photo');
      if (reason) throw new Error(reason);
      status.textContent = 'Loading the face models…';
      await this.engine.loadModels({ signal: running.signal });
      status.textContent = 'Finding faces…';
      const analysis = await this.engine.analyse(bytes, MAX_PIXELS, { signal: running.signal });
      if (analysis.faces.length === 0) {
        throw new Error(analysis.too_small.length ? 'the faces in this photo are too small to protect' : 'no face found in this photo');
      }
      const strengthAttribute = this.getAttribute('strength');
      const strength: Strength = strengthAttribute === 'low' || strengthAttribute === 'high' ? strengthAttribute : 'medium';
      const mode: Goal = this.getAttribute('mode') === 'impersonate' ? 'impersonate' : 'dodge';
      const steps = Number(this.getAttribute('steps')) || undefined;
      const attack = this.getAttribute('attack') === 'all' ? 'all' : 'keep_judge';
      const request: ProtectRequest = { makeup: await this.#makeup(), strength, mode, seed: 0, preview_every: 0, expert: { steps, no_eot: false }, attack };
      const { report } = await this.engine.protect(bytes, request, MAX_PIXELS, {
        signal: running.signal,
        onProgress: (step) => {
          bar.max = step.steps * step.faces;
          bar.value = step.face * step.steps + step.step;
          status.textContent = `Protecting face ${step.face + 1} of ${step.faces}: step ${step.step} of at most ${step.steps}…`;
          this.#emit('face-cloak-progress', step);
        },
      });
      const png = await this.engine.encode('png', 100);
      const blob = new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' });
      const url = URL.createObjectURL(blob);
      this.#root.querySelector('img')!.src = url;
      this.#root.querySelector<HTMLAnchorElement>('[data-download]')!.href = url;
      result.hidden = false;
      bar.value = bar.max;
      const passed = report.faces.every((f) => f.recognizers.every((r) => r.role === 'judge' || r.verdict === 'protected'));
      const checks = report.faces.flatMap((f) => (f.verification ? [f.verification.says] : []));
      status.textContent = `Done in ${report.seconds.toFixed(1)} s: ${report.faces.length} face(s) protected${passed ? '' : ' (not every recognizer was fooled; try a higher strength)'}.${checks.length ? ` ${checks.join(' ')}` : ''}`;
      const done = { blob, report };
      this.#emit('face-cloak-done', done);
      return done;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      status.textContent = running.signal.aborted ? 'Cancelled.' : `Could not protect the photo: ${message}`;
      if (!running.signal.aborted) status.classList.add('error');
      this.#emit('face-cloak-error', { message, name: error instanceof Error ? error.name : 'Error' });
      throw error;
    } finally {
      if (this.#running === running) {
        this.#running = null;
        cancel.disabled = true;
      }
    }
  }

  /** The `makeup` attribute as a request names it: a preset by name, a prompt, or (absent) the engine's default look. */
  async #makeup(): Promise<Makeup> {
    this.#presets ??= await this.engine.presets();
    const makeup = this.getAttribute('makeup')?.trim();
    if (!makeup) return { preset: (this.#presets.find((p) => p.default) ?? this.#presets[0]).name };
    return this.#presets.some((p) => p.name === makeup.toLowerCase()) ? { preset: makeup.toLowerCase() } : { prompt: makeup };
  }

  #emit(type: string, detail: unknown) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}

if (!customElements.get('face-cloak')) customElements.define('face-cloak', FaceCloakElement);

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
