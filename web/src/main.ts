// The app: choose a photo, see its faces, choose makeup, protect, compare, download. The page
// only draws and asks; every model runs in the engine worker (engine/client.ts), so the page
// stays responsive. Its state is one machine (`App`, below) that `render` draws;
// `document.documentElement.dataset.state` shows the phase (tests and assistive tools read it).

import { EngineClient } from './engine/client';
import { MAX_PIXELS, imageData, unsupportedReason } from './engine/photo';
import { zip } from './zip';
import type {
  Analysis,
  BackendInfo,
  BackendPreference,
  ThreadsPreference,
  Goal,
  Look,
  Makeup,
  Naturalness,
  ProtectReport,
  ProtectRequest,
  RecognizerScore,
  ReferencePhoto,
  ReferenceResult,
  StepProgress,
  Strength,
  Transfer,
  Verification,
} from './engine/protocol';

const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;

const backendOut = $<HTMLOutputElement>('#backend');
const fallbackNote = $<HTMLSpanElement>('#fallback');
const backendChoice = $<HTMLSelectElement>('#backend-choice');
const modelsOut = $<HTMLOutputElement>('#models');
const photoInput = $<HTMLInputElement>('#photo-input');
const drop = $<HTMLDivElement>('#drop');
const photoStatus = $<HTMLParagraphElement>('#photo-status');
const facesView = $<HTMLDivElement>('#faces-view');
const batchView = $<HTMLDivElement>('#batch');
const batchRows = $<HTMLTableSectionElement>('#batch-list tbody');
const downloadAll = $<HTMLButtonElement>('#download-all');
const facesCanvas = $<HTMLCanvasElement>('#faces-canvas');
const faceList = $<HTMLFieldSetElement>('#face-list');
const presetSelect = $<HTMLSelectElement>('#preset');
const promptInput = $<HTMLInputElement>('#prompt');
const swatches = $<HTMLUListElement>('#swatches');
const notUnderstood = $<HTMLParagraphElement>('#not-understood');
const targetField = $<HTMLDivElement>('#target-field');
const targetInput = $<HTMLInputElement>('#target-input');
const targetStatus = $<HTMLParagraphElement>('#target-status');
const referenceInput = $<HTMLInputElement>('#reference-input');
const referenceList = $<HTMLUListElement>('#references');
const clearReferences = $<HTMLButtonElement>('#clear-references');
const attackAll = $<HTMLInputElement>('#attack-all');
const stepsInput = $<HTMLInputElement>('#steps');
const seedInput = $<HTMLInputElement>('#seed');
const protectButton = $<HTMLButtonElement>('#protect');
const cancelButton = $<HTMLButtonElement>('#cancel');
const progressBar = $<HTMLProgressElement>('#progress');
const protectStatus = $<HTMLParagraphElement>('#protect-status');
const previewFigure = $<HTMLElement>('#preview-figure');
const previewCanvas = $<HTMLCanvasElement>('#preview');
const resultSection = $<HTMLElement>('#result');
const beforeCanvas = $<HTMLCanvasElement>('#before');
const afterCanvas = $<HTMLCanvasElement>('#after');
const slider = $<HTMLInputElement>('#slider');
const scores = $<HTMLDivElement>('#scores');
const protocol = $<HTMLParagraphElement>('#protocol');
const transferText = $<HTMLParagraphElement>('#transfer');
const transferRows = $<HTMLTableSectionElement>('#transfer-table tbody');
const caveat = $<HTMLParagraphElement>('#caveat');
const quality = $<HTMLParagraphElement>('#quality');
const formatSelect = $<HTMLSelectElement>('#format');
const qualitySlider = $<HTMLInputElement>('#quality-slider');
const qualityValue = $<HTMLOutputElement>('#quality-value');
const downloadButton = $<HTMLButtonElement>('#download');

/**
 * Where the app is: one explicit state machine that the page renders.
 *
 *   starting → idle → analysing → ready ⇄ protecting → done | cancelled | error
 *   starting → idle → batch ⇄ batch-running → batch-done   (several photos at once)
 *
 * A photo leads from idle (or any later state) to analysing; its faces to ready (the options);
 * Protect to protecting; the search ends in done, cancelled or error, from which the options
 * are open again. Besides the phase, the app knows what the engine has (models, the
 * impersonation target) and what the options say (chosen faces, whether the prompt is usable);
 * no DOM attribute holds any of it: `render` writes the DOM from this, never the reverse.
 */
type Phase =
  | { name: 'starting' }
  | { name: 'idle' }
  | { name: 'analysing'; file: string }
  | { name: 'ready'; photo: Photo }
  | { name: 'protecting'; photo: Photo; abort: AbortController }
  | { name: 'done'; photo: Photo; report: ProtectReport }
  | { name: 'cancelled'; photo: Photo }
  | { name: 'error'; photo: Photo | null }
  | { name: 'batch'; items: BatchItem[] }
  | { name: 'batch-running'; items: BatchItem[]; abort: AbortController }
  | { name: 'batch-done'; items: BatchItem[]; cancelled: boolean };

/** One photo of a set, from waiting to done (with its protected file) or failed (with why). */
interface BatchItem {
  name: string;
  /** The file's bytes; null when it was refused before the engine saw it. */
  bytes: Uint8Array | null;
  state: 'waiting' | 'running' | 'done' | 'failed' | 'cancelled';
  /** What is happening to it, or what happened, in words. */
  detail: string;
  /** The protected photo (PNG, pixels only). */
  output?: { name: string; bytes: Uint8Array; url: string };
  /** The engine's wasm memory after protecting it. */
  memoryBytes?: number;
  /** Per face, the pigments applied (name and sRGB): what "one look per person" keeps. */
  pigments?: { name: string; applied: number[] }[][];
}

interface Photo {
  name: string;
  bytes: Uint8Array;
  analysis: Analysis;
}

interface App {
  phase: Phase;
  engine: 'starting' | 'ready' | 'failed';
  modelsReady: boolean;
  /** Indices of the faces chosen for protection. */
  faces: Set<number>;
  /** Why the prompt cannot be used (null: it can). */
  promptProblem: string | null;
  /** The file whose face is the impersonation target (the engine client gives it to fresh workers). */
  target: string | null;
  /** The person's other photos, to check the result against (kept in this tab only), and
   * what the engine made of each (null: being read). */
  references: ReferencePhoto[];
  referenceResults: ReferenceResult[] | null;
}

const app: App = {
  phase: { name: 'starting' },
  engine: 'starting',
  modelsReady: false,
  faces: new Set(),
  promptProblem: null,
  target: null,
  references: [],
  referenceResults: [],
};

/** Moves the app to `phase` and renders it. */
function go(phase: Phase) {
  app.phase = phase;
  render();
}

/** The photo in hand, in any phase that has one. */
function currentPhoto(): Photo | null {
  return 'photo' in app.phase ? app.phase.photo : null;
}

function render() {
  const { phase } = app;
  const root = document.documentElement.dataset;
  // Outputs for tests and assistive tools; never read back.
  root.state = phase.name;
  root.models = app.modelsReady ? 'ready' : '';
  root.engine = app.engine === 'starting' ? '' : app.engine === 'ready' ? 'ready' : 'error';
  const photo = currentPhoto();
  const batch = 'items' in phase ? phase.items : null;
  protectButton.disabled = !(
    app.modelsReady &&
    ((photo !== null && app.faces.size > 0) || (batch !== null && batch.some((item) => item.bytes !== null))) &&
    phase.name !== 'protecting' &&
    phase.name !== 'batch-running' &&
    app.referenceResults !== null &&
    app.promptProblem === null &&
    (mode() === 'dodge' || app.target !== null)
  );
  cancelButton.disabled = phase.name !== 'protecting' && phase.name !== 'batch-running';
  resultSection.hidden = phase.name !== 'done';
  facesView.hidden = photo === null;
  batchView.hidden = batch === null;
  protectButton.textContent = batch ? `Protect all ${batch.filter((item) => item.bytes !== null).length} photos` : 'Protect';
  if (batch) renderBatch(batch);
  promptInput.setAttribute('aria-invalid', String(app.promptProblem !== null));
  clearReferences.hidden = app.references.length === 0;
  referenceInput.disabled = app.referenceResults === null || !app.modelsReady;
  root.references = app.referenceResults === null ? 'reading' : String(app.referenceResults.filter((r) => !r.error).length);
  referenceList.replaceChildren(
    ...(app.referenceResults ?? app.references.map((r) => ({ name: r.name, faces: -1 }) as ReferenceResult)).map((r) => {
      const item = document.createElement('li');
      if (r.error) item.className = 'error';
      item.textContent =
        r.faces < 0
          ? `${r.name}: reading its face…`
          : r.error
            ? `${r.name}: not used — ${r.error}`
            : `${r.name}: ready${r.faces > 1 ? ` (its largest of ${r.faces} faces)` : ''}`;
      return item;
    }),
  );
}

const MODELS_BASE = new URL('models/', document.baseURI).href;
const BACKENDS: BackendPreference[] = ['auto', 'gpu', 'cpu'];
const asked = new URLSearchParams(location.search).get('backend');
let preference: BackendPreference = BACKENDS.find((b) => b === asked) ?? 'auto';
backendChoice.value = preference;
// `?threads=on`: the threaded CPU engine where the page is isolated (see ThreadsPreference).
const THREADS: ThreadsPreference = new URLSearchParams(location.search).get('threads') === 'on' ? 'on' : 'off';
let engine = new EngineClient(preference, MODELS_BASE, { threads: THREADS });

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// --- Engine ------------------------------------------------------------------------------------

function showBackend(info: BackendInfo) {
  backendOut.dataset.kind = info.kind;
  const threads = `${info.threads} thread${info.threads === 1 ? '' : 's'}`;
  backendOut.textContent = info.kind === 'gpu' ? `WebGPU (${info.adapter})` : `CPU (${info.name}, ${threads})`;
  // Why this backend: the GPU could not be had, or `auto` measured both and this one won.
  const why = info.fallback_reason ? `not on the GPU because ${info.fallback_reason}` : info.choice ? `auto chose ${info.choice.summary}` : '';
  fallbackNote.hidden = !why;
  fallbackNote.textContent = why ? `— ${why}.` : '';
}

async function startEngine() {
  app.engine = 'starting';
  app.modelsReady = false;
  if (app.phase.name === 'starting') render();
  try {
    showBackend(await engine.start());
    app.engine = 'ready';
    render();
    const started = performance.now();
    const loaded = await engine.loadModels({
      onProgress: (p) => {
        modelsOut.textContent = `Loading the face models: ${(p.loaded / 1e6).toFixed(1)} of ${(p.total / 1e6).toFixed(1)} MB (${p.model})…`;
      },
    });
    showBackend(loaded.backend); // where `auto` measured, it settles once the models are in
    const where = loaded.fromCache === loaded.bytes ? 'from this browser’s cache' : 'from this site, checked against their sha256';
    modelsOut.textContent = `Face models ready (${loaded.models.length} models, ${(loaded.bytes / 1e6).toFixed(1)} MB ${where}, ${((performance.now() - started) / 1000).toFixed(1)} s).`;
    await setupPresets();
    app.modelsReady = true;
    if (app.phase.name === 'starting') go({ name: 'idle' });
    else render();
  } catch (error) {
    app.engine = 'failed';
    modelsOut.textContent = `The engine could not start: ${message(error)}`;
    go({ name: 'error', photo: currentPhoto() });
  }
}

backendChoice.addEventListener('change', () => {
  preference = BACKENDS.find((b) => b === backendChoice.value) ?? 'auto';
  const url = new URL(location.href);
  if (preference === 'auto') url.searchParams.delete('backend');
  else url.searchParams.set('backend', preference);
  history.replaceState(null, '', url);
  if (app.phase.name === 'protecting') app.phase.abort.abort();
  engine.terminate();
  engine = new EngineClient(preference, MODELS_BASE, { threads: THREADS });
  // A new client holds no target: the person chooses it again. The other photos are still in
  // this tab: the new engine reads them again once it is ready.
  app.target = null;
  targetStatus.textContent = '';
  void startEngine().then(() => (app.references.length ? useReferences(app.references) : undefined));
});

// --- The person's other photos ---------------------------------------------------------------

/** Hands `photos` to the engine (it keeps their faces' embeddings, not the photos). */
async function useReferences(photos: ReferencePhoto[]) {
  app.references = photos;
  app.referenceResults = null;
  render();
  try {
    app.referenceResults = (await engine.setReferences(photos, MAX_PIXELS)).photos;
  } catch (error) {
    app.referenceResults = photos.map((p) => ({ name: p.name, faces: 0, error: message(error) }));
  }
  render();
}

referenceInput.addEventListener('change', async () => {
  const files = [...(referenceInput.files ?? [])];
  referenceInput.value = '';
  if (!files.length) return;
  const photos: ReferencePhoto[] = [...app.references];
  const refused: ReferenceResult[] = [];
  for (const file of files) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const reason = unsupportedReason(bytes, file.name);
    if (reason) refused.push({ name: file.name, faces: 0, error: reason });
    else photos.push({ name: file.name, bytes });
  }
  // The engine compares with at most three; the latest ones win.
  await useReferences(photos.slice(-3));
  if (refused.length) {
    app.referenceResults = [...(app.referenceResults ?? []), ...refused];
    render();
  }
});

clearReferences.addEventListener('click', () => void useReferences([]));

// --- Photo -------------------------------------------------------------------------------------

async function choosePhoto(file: Blob, name: string) {
  if (app.phase.name === 'protecting' || app.phase.name === 'batch-running') app.phase.abort.abort();
  releaseBatch();
  app.faces = new Set();
  const bytes = new Uint8Array(await file.arrayBuffer());
  const reason = unsupportedReason(bytes, name);
  if (reason) {
    photoStatus.textContent = reason;
    photoStatus.className = 'error';
    go({ name: 'error', photo: null });
    return;
  }
  photoStatus.className = '';
  photoStatus.textContent = `Finding the faces in ${name}…`;
  go({ name: 'analysing', file: name });
  try {
    const analysis = await engine.analyse(bytes, MAX_PIXELS);
    const photo = { name, bytes, analysis };
    app.faces = new Set(analysis.faces.map((_, i) => i));
    drawFaces(analysis);
    const small = analysis.too_small.length
      ? ` ${analysis.too_small.length} more ${analysis.too_small.length === 1 ? 'face is' : 'faces are'} too small to protect (under ${analysis.min_face_size} pixels).`
      : '';
    photoStatus.textContent =
      analysis.faces.length === 0
        ? `No face ${analysis.too_small.length ? 'large enough to protect ' : ''}was found in ${name}.${small}`
        : `${analysis.faces.length} ${analysis.faces.length === 1 ? 'face' : 'faces'} found in ${name} (${analysis.width}×${analysis.height}).${small}`;
    go(analysis.faces.length ? { name: 'ready', photo } : { name: 'error', photo });
  } catch (error) {
    photoStatus.textContent = `Could not read ${name}: ${message(error)}`;
    photoStatus.className = 'error';
    go({ name: 'error', photo: null });
  }
}

function drawFaces(analysis: Analysis) {
  const { width, height } = analysis;
  facesCanvas.width = width;
  facesCanvas.height = height;
  const context = facesCanvas.getContext('2d')!;
  context.putImageData(imageData(analysis.rgba, width, height), 0, 0);
  const line = Math.max(2, Math.round(Math.max(width, height) / 300));
  context.lineWidth = line;
  context.font = `bold ${line * 8}px system-ui, sans-serif`;
  analysis.faces.forEach((face, i) => {
    context.strokeStyle = '#22c55e';
    context.strokeRect(face.x, face.y, face.width, face.height);
    context.fillStyle = '#22c55e';
    context.fillText(String(i + 1), face.x + line, face.y - line * 2);
  });
  context.setLineDash([line * 2, line * 2]);
  for (const face of analysis.too_small) {
    context.strokeStyle = '#f97316';
    context.strokeRect(face.x, face.y, face.width, face.height);
  }
  faceList.replaceChildren(faceList.querySelector('legend')!);
  analysis.faces.forEach((face, i) => {
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = app.faces.has(i);
    // For tests: where this face is (never read by the app).
    box.dataset.box = JSON.stringify(face);
    box.addEventListener('change', () => {
      if (box.checked) app.faces.add(i);
      else app.faces.delete(i);
      render();
    });
    label.append(box, ` Face ${i + 1} (${Math.round(face.width)}×${Math.round(face.height)} px)`);
    faceList.append(label);
  });
}

photoInput.addEventListener('change', () => {
  const files = [...(photoInput.files ?? [])];
  photoInput.value = '';
  void chooseFiles(files);
});

/** One photo opens it; several make a set, protected one after another with the same look. */
async function chooseFiles(files: File[]) {
  if (files.length === 1) return choosePhoto(files[0], files[0].name);
  if (files.length === 0) return;
  if (app.phase.name === 'protecting' || app.phase.name === 'batch-running') app.phase.abort.abort();
  releaseBatch();
  const items: BatchItem[] = [];
  for (const file of files) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const reason = unsupportedReason(bytes, file.name);
    items.push(
      reason
        ? { name: file.name, bytes: null, state: 'failed', detail: reason }
        : { name: file.name, bytes, state: 'waiting', detail: 'waiting' },
    );
  }
  photoStatus.className = '';
  photoStatus.textContent = `${items.length} photos chosen; Protect protects them one after another with the makeup and settings below.`;
  go({ name: 'batch', items });
}

/** Frees the downloads of the set in hand, before a new one replaces it. */
function releaseBatch() {
  if ('items' in app.phase) for (const item of app.phase.items) if (item.output) URL.revokeObjectURL(item.output.url);
}

function renderBatch(items: BatchItem[]) {
  batchRows.replaceChildren(
    ...items.map((item) => {
      const row = document.createElement('tr');
      row.dataset.state = item.state;
      row.dataset.name = item.name;
      if (item.memoryBytes !== undefined) row.dataset.memory = String(item.memoryBytes);
      if (item.pigments) row.dataset.pigments = JSON.stringify(item.pigments);
      row.insertCell().textContent = item.name;
      const state = row.insertCell();
      state.className = 'state';
      state.textContent = `${item.state}: ${item.detail}`;
      const download = row.insertCell();
      if (item.output) {
        const link = document.createElement('a');
        link.href = item.output.url;
        link.download = item.output.name;
        link.textContent = item.output.name;
        download.append(link);
      }
      return row;
    }),
  );
  downloadAll.disabled = !items.some((item) => item.output);
}

/** The protected photo's file name: the original's, with ".protected" before the extension. */
function protectedName(name: string, format: 'png' | 'jpeg'): string {
  return `${name.replace(/\.[^.]+$/, '')}.protected.${format === 'jpeg' ? 'jpg' : 'png'}`;
}

/** One line on what a protection did: per face, how many attacked recognizers no longer match,
 * and what the independent judge says. */
function summaryLine(report: ProtectReport): string {
  const faces = report.faces.filter((f) => !f.skipped);
  const attacked = faces.flatMap((f) => f.recognizers.filter((r) => r.role === 'attacked'));
  const judges = faces.flatMap((f) => f.recognizers.filter((r) => r.role === 'judge'));
  const fooled = (rs: RecognizerScore[]) => rs.filter((r) => r.verdict === 'protected').length;
  const goal = report.request.mode === 'dodge' ? 'no longer match' : 'now match the target';
  const judge = judges.length ? `; the independent judge: ${fooled(judges)} of ${judges.length} ${report.request.mode === 'dodge' ? 'no longer match' : 'match the target'}` : '';
  const again = faces.some((f) => f.wore_again) ? '; the same look as on an earlier photo of this person' : '';
  return `${faces.length} ${faces.length === 1 ? 'face' : 'faces'} protected in ${formatSeconds(report.seconds)}: ${fooled(attacked)} of ${attacked.length} attacked recognizer scores ${goal}${judge}${again}`;
}

/** Sets protected so far: each run of a set is a new one to the engine. */
let sets = 0;

async function protectBatch(items: BatchItem[]) {
  const abort = new AbortController();
  const { signal } = abort;
  for (const item of items) if (item.bytes) Object.assign(item, { state: 'waiting', detail: 'waiting', memoryBytes: undefined, pigments: undefined });
  go({ name: 'batch-running', items, abort });
  const base = request();
  // Every face of every photo (a set has no face list to choose from), and one set: the same
  // person wears the same pigments in every photo of it.
  const asked: ProtectRequest = { ...base, faces: undefined, preview_every: 0, set: ++sets };
  for (const [index, item] of items.entries()) {
    if (!item.bytes) continue;
    if (signal.aborted) break;
    if (item.output) URL.revokeObjectURL(item.output.url);
    item.output = undefined;
    item.state = 'running';
    item.detail = 'finding faces…';
    render();
    protectStatus.textContent = `Photo ${index + 1} of ${items.length}: ${item.name}`;
    try {
      const analysis = await engine.analyse(item.bytes, MAX_PIXELS, { signal });
      if (analysis.faces.length === 0) {
        item.state = 'failed';
        item.detail = analysis.too_small.length ? `its faces are too small to protect (under ${analysis.min_face_size} pixels)` : 'no face found';
        render();
        continue;
      }
      const { report, memoryBytes } = await engine.protect(item.bytes, asked, MAX_PIXELS, {
        signal,
        onProgress: (step) => {
          item.detail = `face ${step.face + 1} of ${step.faces}, step ${step.step} of at most ${step.steps}`;
          progressBar.max = items.length;
          progressBar.value = index + (step.face * step.steps + step.step) / (step.faces * step.steps);
          renderBatch(items);
        },
      });
      const bytes = await engine.encode('png', 100);
      const name = protectedName(item.name, 'png');
      item.output = { name, bytes, url: URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/png' })) };
      item.memoryBytes = memoryBytes;
      item.pigments = report.faces.map((f) => (f.look?.pigments ?? []).map((p) => ({ name: p.name, applied: p.applied })));
      item.state = 'done';
      item.detail = summaryLine(report);
      document.documentElement.dataset.engineMemory = String(memoryBytes);
    } catch (error) {
      if (signal.aborted) break;
      item.state = 'failed';
      item.detail = `could not be protected: ${message(error)}`;
    }
    render();
  }
  for (const item of items) {
    if (item.state === 'running' || item.state === 'waiting') Object.assign(item, { state: 'cancelled', detail: 'cancelled: not protected' });
  }
  const done = items.filter((item) => item.state === 'done').length;
  const failed = items.filter((item) => item.state === 'failed').length;
  progressBar.value = progressBar.max;
  protectStatus.textContent = `${signal.aborted ? 'Cancelled. ' : ''}${done} of ${items.length} photos protected${failed ? `, ${failed} could not be` : ''}${signal.aborted ? '; the finished ones are kept' : ''}.`;
  go({ name: 'batch-done', items, cancelled: signal.aborted });
}

downloadAll.addEventListener('click', () => {
  if (!('items' in app.phase)) return;
  const entries = app.phase.items.flatMap((item) => (item.output ? [{ name: item.output.name, bytes: item.output.bytes }] : []));
  const link = document.createElement('a');
  link.href = URL.createObjectURL(zip(entries));
  link.download = 'facecloak-protected.zip';
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
});
drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  void chooseFiles([...(event.dataTransfer?.files ?? [])]);
});
document.addEventListener('paste', (event) => {
  const item = [...(event.clipboardData?.items ?? [])].find((i) => i.kind === 'file');
  const file = item?.getAsFile();
  if (file) void choosePhoto(file, file.name || 'the pasted image');
});

// --- Makeup ------------------------------------------------------------------------------------

/** The presets by prompt, to tell a preset from a prompt typed by hand. */
let presetsByPrompt = new Map<string, string>();

async function setupPresets() {
  if (presetSelect.options.length) return;
  const presets = await engine.presets();
  presetsByPrompt = new Map(presets.map((p) => [p.prompt, p.name]));
  for (const preset of presets) presetSelect.add(new Option(preset.name, preset.prompt));
  presetSelect.add(new Option('custom', ''));
  const chosen = presets.find((p) => p.default) ?? presets[0];
  presetSelect.value = chosen.prompt;
  promptInput.value = chosen.prompt;
  await showPrompt();
}

presetSelect.addEventListener('change', () => {
  if (presetSelect.value) promptInput.value = presetSelect.value;
  void showPrompt();
});

let promptTimer = 0;
promptInput.addEventListener('input', () => {
  presetSelect.value = presetsByPrompt.has(promptInput.value) ? promptInput.value : '';
  clearTimeout(promptTimer);
  promptTimer = window.setTimeout(() => void showPrompt(), 150);
});

const REGION_NAMES: Record<string, string> = {
  lips: 'Lips',
  'eyelid-left': 'Left eyelid',
  'eyelid-right': 'Right eyelid',
  eyeliner: 'Eyeliner',
  brows: 'Brows',
  'cheek-left': 'Left cheek',
  'cheek-right': 'Right cheek',
  skin: 'Foundation',
};

async function showPrompt() {
  const parsed = await engine.parsePrompt(promptInput.value);
  swatches.replaceChildren(
    ...parsed.targets.map((t) => {
      const item = document.createElement('li');
      const chip = document.createElement('span');
      chip.className = 'chip';
      chip.style.background = t.colour ?? 'transparent';
      chip.setAttribute('aria-hidden', 'true');
      item.append(chip, `${REGION_NAMES[t.region] ?? t.region}: ${t.colour ?? 'own tone'}, ${Math.round(t.intensity * 100)}%`);
      return item;
    }),
    ...parsed.shaping.map((s) => {
      const item = document.createElement('li');
      item.textContent = `${s.name}: ${Math.round(s.intensity * 100)}%`;
      return item;
    }),
  );
  const ignored = [
    parsed.unknown.length ? `not understood: ${parsed.unknown.join(', ')}` : '',
    parsed.unplaced.length ? `no region named for: ${parsed.unplaced.join('; ')}` : '',
  ].filter(Boolean);
  // The engine says whether the prompt can be used: one rule, in Rust.
  app.promptProblem = parsed.problem;
  notUnderstood.hidden = ignored.length === 0 && parsed.problem === null;
  notUnderstood.textContent = parsed.problem
    ? `${parsed.problem}${ignored.length ? ` — ${ignored.join('; ')}` : ''}.`
    : `Ignored — ${ignored.join('; ')}.`;
  render();
}

/** The makeup as the request names it: a preset by name, or the prompt as typed. */
function makeup(): Makeup {
  const preset = presetsByPrompt.get(promptInput.value);
  return preset ? { preset } : { prompt: promptInput.value };
}

function mode(): Goal {
  return document.querySelector<HTMLInputElement>('input[name=mode]:checked')?.value === 'impersonate' ? 'impersonate' : 'dodge';
}

function strength(): Strength {
  const value = document.querySelector<HTMLInputElement>('input[name=strength]:checked')?.value;
  return value === 'low' || value === 'high' ? value : 'medium';
}

for (const radio of document.querySelectorAll<HTMLInputElement>('input[name=mode]')) {
  radio.addEventListener('change', () => {
    targetField.hidden = mode() !== 'impersonate';
    render();
  });
}

targetInput.addEventListener('change', async () => {
  const file = targetInput.files?.[0];
  if (!file) return;
  app.target = null;
  render();
  const bytes = new Uint8Array(await file.arrayBuffer());
  const reason = unsupportedReason(bytes, file.name);
  if (reason) {
    targetStatus.textContent = reason;
    return;
  }
  targetStatus.textContent = `Reading the face in ${file.name}…`;
  try {
    const { faces } = await engine.setTarget(bytes, MAX_PIXELS);
    app.target = file.name;
    targetStatus.textContent = `Target set from ${file.name}${faces > 1 ? ` (its largest of ${faces} faces)` : ''}.`;
  } catch (error) {
    targetStatus.textContent = `Could not use ${file.name}: ${message(error)}`;
  }
  render();
});

// --- Protect -----------------------------------------------------------------------------------

function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s` : `${s} s`;
}

/** The request the options make: the same document the CLI builds from its arguments. */
function request(): ProtectRequest {
  const steps = stepsInput.valueAsNumber > 0 ? stepsInput.valueAsNumber : undefined;
  return {
    makeup: makeup(),
    strength: strength(),
    mode: mode(),
    faces: [...app.faces].sort((a, b) => a - b),
    seed: seedInput.valueAsNumber || 0,
    preview_every: 5,
    expert: { steps, no_eot: false },
    attack: attackAll.checked ? 'all' : 'keep_judge',
  };
}

protectButton.addEventListener('click', async () => {
  if (app.phase.name === 'batch' || app.phase.name === 'batch-done') return protectBatch(app.phase.items);
  const photo = currentPhoto();
  if (!photo || app.phase.name === 'protecting') return;
  const abort = new AbortController();
  previewFigure.hidden = true;
  progressBar.value = 0;
  protectStatus.className = '';
  protectStatus.textContent = 'Starting…';
  go({ name: 'protecting', photo, abort });
  const started = performance.now();
  try {
    const { report, rgba, memoryBytes } = await engine.protect(photo.bytes, request(), MAX_PIXELS, {
      signal: abort.signal,
      onProgress: (step) => showStep(step, started),
    });
    showResult(photo.analysis, rgba, report);
    // For tests and the curious: the engine's wasm memory after this protection.
    document.documentElement.dataset.engineMemory = String(memoryBytes);
    showBackend(report.backend); // it changes if the GPU was lost during the run
    progressBar.value = progressBar.max;
    protectStatus.textContent = `Done in ${formatSeconds(report.seconds)} on ${report.backend.kind === 'gpu' ? 'WebGPU' : 'the CPU'}.`;
    go({ name: 'done', photo, report });
  } catch (error) {
    if (abort.signal.aborted) {
      protectStatus.textContent = 'Cancelled. Your photo is unchanged; you can protect it again.';
      go({ name: 'cancelled', photo });
    } else {
      protectStatus.textContent = `Could not protect the photo: ${message(error)}`;
      protectStatus.className = 'error';
      go({ name: 'error', photo });
    }
  }
});

cancelButton.addEventListener('click', () => {
  if (app.phase.name !== 'protecting' && app.phase.name !== 'batch-running') return;
  app.phase.abort.abort(new DOMException('Cancelled.', 'AbortError'));
  // The engine stops with its worker; start the next one now so the app is ready again (the
  // client gives the fresh worker the target back before the next impersonation).
  void startEngine();
});

function showStep(step: StepProgress, started: number) {
  const total = step.faces * step.steps;
  const done = step.face * step.steps + step.step;
  progressBar.max = total;
  progressBar.value = done;
  const elapsed = (performance.now() - started) / 1000;
  const eta = (elapsed / done) * (total - done);
  const sims = step.similarities.map((s) => `${s.name} ${s.similarity.toFixed(2)}`).join(', ');
  protectStatus.textContent = `Face ${step.face + 1} of ${step.faces}, step ${step.step} of at most ${step.steps} · at most ${formatSeconds(eta)} left · ${sims}`;
  if (step.preview) {
    const { width, height, rgba } = step.preview;
    previewCanvas.width = width;
    previewCanvas.height = height;
    previewCanvas.getContext('2d')!.putImageData(imageData(rgba, width, height), 0, 0);
    previewFigure.hidden = false;
  }
}

// --- Result ------------------------------------------------------------------------------------

function showResult(analysis: Analysis, rgba: Uint8Array, report: ProtectReport) {
  for (const [canvas, pixels] of [
    [beforeCanvas, analysis.rgba],
    [afterCanvas, rgba],
  ] as const) {
    canvas.width = analysis.width;
    canvas.height = analysis.height;
    canvas.getContext('2d')!.putImageData(imageData(pixels, analysis.width, analysis.height), 0, 0);
  }
  updateSlider();
  scores.replaceChildren(
    ...report.faces.map((face, i) => {
      const block = document.createElement('div');
      block.className = 'face-scores';
      const title = document.createElement('h4');
      title.textContent = `Face ${i + 1}${face.skipped ? ' (skipped: its landmarks are degenerate)' : ` · ${face.steps} steps`}`;
      block.append(title);
      for (const s of face.recognizers) block.append(scoreRow(s, report.request.mode));
      if (face.verification) block.append(verificationTable(face.verification));
      if (face.look && face.naturalness) block.append(lookSummary(face.look, face.naturalness));
      return block;
    }),
  );
  const names = (role: RecognizerScore['role']) => [...new Set(report.faces.flatMap((f) => f.recognizers.filter((r) => r.role === role).map((r) => r.name)))];
  const judged = names('judge');
  protocol.textContent = `How to read this: ${report.protocol}. Attacked by the search (it saw the makeup at every step, so these scores flatter it): ${names('attacked').join(', ')}. ${judged.length ? `Only judging, never attacked: ${judged.join(', ')} — the fairer guess at what an unknown recognizer does.` : 'No recognizer only judged: every score here is of a model the makeup was optimised against.'}`;
  showTransfer(report.transfer);
  quality.textContent = `Image quality: SSIM ${report.ssim.toFixed(3)}, PSNR ${report.psnr_db === null ? '∞' : report.psnr_db.toFixed(1)} dB.`;
}

/** "Does it still recognise me?": each recognizer's cosine between the person's other photos and
 * the face before and after, with the engine's verdict in words. */
function verificationTable(check: Verification): HTMLElement {
  const box = document.createElement('div');
  box.className = 'verification';
  box.dataset.summary = check.summary;
  box.dataset.judges = check.judges ?? '';
  const says = document.createElement('p');
  says.className = 'says';
  says.textContent = check.says;
  const table = document.createElement('table');
  const head = table.createTHead().insertRow();
  for (const title of ['Recognizer', ...check.photos.map((p) => `vs ${p}: before → after`), 'So']) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = title;
    head.append(th);
  }
  const body = table.createTBody();
  for (const r of check.recognizers) {
    const row = body.insertRow();
    row.dataset.recognizer = r.name;
    row.dataset.role = r.role;
    row.dataset.outcome = r.outcome;
    const name = row.insertCell();
    name.append(r.name, roleTag(r.role));
    for (const m of r.references) {
      const cell = row.insertCell();
      cell.className = m.after > r.threshold ? 'match' : 'nomatch';
      cell.dataset.before = String(m.before);
      cell.dataset.after = String(m.after);
      cell.textContent = `${m.before.toFixed(2)}${m.before > r.threshold ? ' (match)' : ''} → ${m.after.toFixed(2)}${m.after > r.threshold ? ' (match)' : ''}`;
    }
    row.insertCell().textContent =
      r.outcome === 'protected' ? 'no longer matches you' : r.outcome === 'still_matches' ? 'still matches you' : 'did not match you before either';
  }
  const caption = table.createCaption();
  caption.textContent = `Cosine similarity to your other photos; above its threshold (${check.recognizers.map((r) => `${r.name} ${r.threshold.toFixed(2)}`).join(', ')}; FAR 1 %) a recognizer takes two faces for one person.`;
  box.append(says, table);
  return box;
}

function roleTag(role: RecognizerScore['role']): HTMLElement {
  const tag = document.createElement('span');
  tag.className = `role ${role}`;
  tag.textContent = role === 'judge' ? 'independent judge — not attacked' : 'attacked';
  return tag;
}

/** What this version measured on recognizers held out of the search, and what it cannot promise. */
function showTransfer(transfer: Transfer) {
  transferText.textContent = `Measured ${transfer.measured}: ${transfer.protocol}.`;
  transferRows.replaceChildren(
    ...transfer.held_out.map((h) => {
      const row = document.createElement('tr');
      row.insertCell().textContent = h.recognizer;
      row.insertCell().textContent = `${(h.psr * 100).toFixed(0)} % of ${h.pairs} pairs`;
      return row;
    }),
  );
  caveat.textContent = transfer.caveat;
}

/** The makeup applied (each pigment's colour asked for and applied, with their distance) and
 * the naturalness measures against the limits every strength keeps. */
function lookSummary(look: Look, n: Naturalness): HTMLElement {
  const box = document.createElement('details');
  box.className = 'look';
  const summary = document.createElement('summary');
  summary.textContent = `Makeup applied · left/right ${n.symmetry.toFixed(1)} ΔE (≤ 2), bare-skin hue ${n.bare_skin_hue.toFixed(2)} (≤ 1), lip spill ${(n.lip_spill * 100).toFixed(0)} % (≤ 10 %)`;
  box.append(summary);
  const hex = (c: number[]) => '#' + c.map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');
  const list = document.createElement('ul');
  for (const p of look.pigments.filter((p) => p.coverage > 0.02)) {
    const item = document.createElement('li');
    for (const colour of [p.target, p.applied]) {
      const chip = document.createElement('span');
      chip.className = 'chip';
      chip.style.background = hex(colour);
      item.append(chip);
    }
    item.append(`${p.name}: ${hex(p.applied)} (asked ${hex(p.target)}${p.requested ? '' : ', the face’s own'}, ${p.delta_e.toFixed(1)} ΔE00), coverage ${(p.coverage * 100).toFixed(0)} %`);
    list.append(item);
  }
  const light = look.light.filter(([, v]) => Math.abs(v) >= 0.5).map(([place, v]) => `${place} ${v > 0 ? '+' : ''}${v.toFixed(1)}`);
  const shaping = document.createElement('li');
  shaping.textContent = `Light (ΔL*): ${light.length ? light.join(', ') : 'none'}; foundation ${look.foundation[0].toFixed(1)} L*, warmth ${look.foundation[1].toFixed(2)} b*`;
  list.append(shaping);
  box.append(list);
  return box;
}

function scoreRow(s: RecognizerScore, mode: Goal): HTMLElement {
  const row = document.createElement('div');
  row.className = 'score';
  const fooled = s.verdict === 'protected';
  row.dataset.recognizer = s.name;
  row.dataset.before = String(s.before);
  row.dataset.after = String(s.after);
  row.dataset.threshold = String(s.threshold);
  row.dataset.role = s.role;
  const name = document.createElement('span');
  name.className = 'name';
  name.append(s.name, roleTag(s.role));
  const chart = document.createElement('div');
  chart.className = 'chart';
  chart.setAttribute('role', 'img');
  chart.setAttribute('aria-label', `${s.name}: similarity ${s.before.toFixed(2)} before, ${s.after.toFixed(2)} after; threshold ${s.threshold.toFixed(2)}`);
  const position = (v: number) => `${(Math.max(0, Math.min(1, (v + 0.2) / 1.2)) * 100).toFixed(1)}%`;
  for (const [kind, value] of [
    ['before', s.before],
    ['after', s.after],
  ] as const) {
    const bar = document.createElement('div');
    bar.className = `bar ${kind}`;
    bar.style.width = position(value);
    chart.append(bar);
  }
  const threshold = document.createElement('div');
  threshold.className = 'threshold';
  threshold.style.left = position(s.threshold);
  chart.append(threshold);
  const text = document.createElement('span');
  text.className = fooled ? 'verdict ok' : 'verdict';
  text.textContent = `${s.before.toFixed(2)} → ${s.after.toFixed(2)} (threshold ${s.threshold.toFixed(2)}): ${fooled ? (mode === 'dodge' ? 'no longer matches' : 'now matches the target') : 'still ' + (mode === 'dodge' ? 'matches' : 'does not match')}`;
  row.append(name, chart, text);
  return row;
}

function updateSlider() {
  afterCanvas.style.clipPath = `inset(0 0 0 ${slider.value}%)`;
}
slider.addEventListener('input', updateSlider);

formatSelect.addEventListener('change', () => {
  qualitySlider.disabled = formatSelect.value !== 'jpeg';
});
qualitySlider.addEventListener('input', () => {
  qualityValue.textContent = qualitySlider.value;
});

downloadButton.addEventListener('click', async () => {
  const photo = currentPhoto();
  if (app.phase.name !== 'done' || !photo) return;
  const format = formatSelect.value === 'jpeg' ? 'jpeg' : 'png';
  try {
    const bytes = await engine.encode(format, qualitySlider.valueAsNumber);
    const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: `image/${format}` });
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = `${photo.name.replace(/\.[^.]+$/, '')}.protected.${format === 'jpeg' ? 'jpg' : 'png'}`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
  } catch (error) {
    protectStatus.textContent = `Could not write the download: ${message(error)}`;
  }
});

// --- Offline -----------------------------------------------------------------------------------

// After the first visit the app works offline. Not in `vite` dev, which serves files that change.
if ('serviceWorker' in navigator && !import.meta.hot) {
  navigator.serviceWorker.register('sw.js').catch((error) => console.warn('offline use unavailable:', message(error)));
}

render();
void startEngine();
