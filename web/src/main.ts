// The app: choose a photo, see its faces, choose makeup, protect, compare, download. The page
// only draws and asks; every model runs in the engine worker (engine/client.ts), so the page
// stays responsive. Its state is one machine (`App`, below) that `render` draws;
// `document.documentElement.dataset.state` shows the phase (tests and assistive tools read it).

import { EngineClient } from './engine/client';
import { MAX_PIXELS, imageData, unsupportedReason } from './engine/photo';
import type {
  Analysis,
  BackendInfo,
  BackendPreference,
  Goal,
  Look,
  Makeup,
  Naturalness,
  ProtectReport,
  ProtectRequest,
  RecognizerScore,
  StepProgress,
  Strength,
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
const facesCanvas = $<HTMLCanvasElement>('#faces-canvas');
const faceList = $<HTMLFieldSetElement>('#face-list');
const presetSelect = $<HTMLSelectElement>('#preset');
const promptInput = $<HTMLInputElement>('#prompt');
const swatches = $<HTMLUListElement>('#swatches');
const notUnderstood = $<HTMLParagraphElement>('#not-understood');
const targetField = $<HTMLDivElement>('#target-field');
const targetInput = $<HTMLInputElement>('#target-input');
const targetStatus = $<HTMLParagraphElement>('#target-status');
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
const quality = $<HTMLParagraphElement>('#quality');
const formatSelect = $<HTMLSelectElement>('#format');
const qualitySlider = $<HTMLInputElement>('#quality-slider');
const qualityValue = $<HTMLOutputElement>('#quality-value');
const downloadButton = $<HTMLButtonElement>('#download');

/**
 * Where the app is: one explicit state machine that the page renders.
 *
 *   starting → idle → analysing → ready ⇄ protecting → done | cancelled | error
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
  | { name: 'error'; photo: Photo | null };

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
}

const app: App = { phase: { name: 'starting' }, engine: 'starting', modelsReady: false, faces: new Set(), promptProblem: null, target: null };

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
  protectButton.disabled = !(
    app.modelsReady &&
    photo !== null &&
    phase.name !== 'protecting' &&
    app.faces.size > 0 &&
    app.promptProblem === null &&
    (mode() === 'dodge' || app.target !== null)
  );
  cancelButton.disabled = phase.name !== 'protecting';
  resultSection.hidden = phase.name !== 'done';
  facesView.hidden = photo === null;
  promptInput.setAttribute('aria-invalid', String(app.promptProblem !== null));
}

const MODELS_BASE = new URL('models/', document.baseURI).href;
let preference: BackendPreference = new URLSearchParams(location.search).get('backend') === 'cpu' ? 'cpu' : 'auto';
backendChoice.value = preference;
let engine = new EngineClient(preference, MODELS_BASE);

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// --- Engine ------------------------------------------------------------------------------------

function showBackend(info: BackendInfo) {
  backendOut.dataset.kind = info.kind;
  backendOut.textContent = info.kind === 'gpu' ? `WebGPU (${info.adapter})` : `CPU (${info.name})`;
  fallbackNote.hidden = !info.fallback_reason;
  fallbackNote.textContent = info.fallback_reason ? `— not on the GPU because ${info.fallback_reason}.` : '';
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
  preference = backendChoice.value === 'cpu' ? 'cpu' : 'auto';
  const url = new URL(location.href);
  if (preference === 'cpu') url.searchParams.set('backend', 'cpu');
  else url.searchParams.delete('backend');
  history.replaceState(null, '', url);
  if (app.phase.name === 'protecting') app.phase.abort.abort();
  engine.terminate();
  engine = new EngineClient(preference, MODELS_BASE);
  // A new client holds no target: the person chooses it again.
  app.target = null;
  targetStatus.textContent = '';
  void startEngine();
});

// --- Photo -------------------------------------------------------------------------------------

async function choosePhoto(file: Blob, name: string) {
  if (app.phase.name === 'protecting') app.phase.abort.abort();
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
  const file = photoInput.files?.[0];
  if (file) void choosePhoto(file, file.name);
  photoInput.value = '';
});
drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  const file = event.dataTransfer?.files[0];
  if (file) void choosePhoto(file, file.name);
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
  };
}

protectButton.addEventListener('click', async () => {
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
  if (app.phase.name !== 'protecting') return;
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
      if (face.look && face.naturalness) block.append(lookSummary(face.look, face.naturalness));
      return block;
    }),
  );
  protocol.textContent = `How to read this: ${report.protocol}. The recognizers are the attack’s own surrogates; transfer to unseen recognizers is measured with the facecloak CLI (facecloak eval).`;
  quality.textContent = `Image quality: SSIM ${report.ssim.toFixed(3)}, PSNR ${report.psnr_db === null ? '∞' : report.psnr_db.toFixed(1)} dB.`;
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
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = s.name;
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
