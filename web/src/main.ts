// The app: choose a photo, see its faces, choose makeup, protect, compare, download. The page
// only draws and asks; every model runs in the engine worker (engine/client.ts), so the page
// stays responsive. `document.documentElement.dataset.state` says where the app is (tests and
// assistive tools read it).

import { EngineClient } from './engine/client';
import { MAX_PIXELS, imageData, unsupportedReason } from './engine/photo';
import type { Analysis, BackendInfo, BackendPreference, Look, Mode, Naturalness, ProtectReport, StepProgress, Strength } from './engine/protocol';

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

type State = 'starting' | 'idle' | 'analysing' | 'ready' | 'protecting' | 'done' | 'cancelled' | 'error';
function setState(state: State) {
  document.documentElement.dataset.state = state;
}

const MODELS_BASE = new URL('models/', document.baseURI).href;
let preference: BackendPreference = new URLSearchParams(location.search).get('backend') === 'cpu' ? 'cpu' : 'auto';
backendChoice.value = preference;
let engine = new EngineClient(preference, MODELS_BASE);

interface Photo {
  name: string;
  bytes: Uint8Array;
  analysis: Analysis;
}
let photo: Photo | null = null;
let running: AbortController | null = null;
let targetSet = false;

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
  if (!running) setState('starting');
  document.documentElement.dataset.engine = '';
  try {
    showBackend(await engine.start());
    document.documentElement.dataset.engine = 'ready';
    const started = performance.now();
    const loaded = await engine.loadModels({
      onProgress: (p) => {
        modelsOut.textContent = `Loading the face models: ${(p.loaded / 1e6).toFixed(1)} of ${(p.total / 1e6).toFixed(1)} MB (${p.model})…`;
      },
    });
    const where = loaded.fromCache === loaded.bytes ? 'from this browser’s cache' : 'from this site, checked against their sha256';
    modelsOut.textContent = `Face models ready (${loaded.models.length} models, ${(loaded.bytes / 1e6).toFixed(1)} MB ${where}, ${((performance.now() - started) / 1000).toFixed(1)} s).`;
    document.documentElement.dataset.models = 'ready';
    await setupPresets();
    if (!running) setState(photo ? 'ready' : 'idle');
  } catch (error) {
    document.documentElement.dataset.engine = 'error';
    modelsOut.textContent = `The engine could not start: ${message(error)}`;
    setState('error');
  }
  updateProtectButton();
}

backendChoice.addEventListener('change', () => {
  preference = backendChoice.value === 'cpu' ? 'cpu' : 'auto';
  const url = new URL(location.href);
  if (preference === 'cpu') url.searchParams.set('backend', 'cpu');
  else url.searchParams.delete('backend');
  history.replaceState(null, '', url);
  running?.abort();
  engine.terminate();
  engine = new EngineClient(preference, MODELS_BASE);
  targetSet = false;
  void startEngine();
});

// --- Photo -------------------------------------------------------------------------------------

async function choosePhoto(file: Blob, name: string) {
  running?.abort();
  resultSection.hidden = true;
  facesView.hidden = true;
  photo = null;
  updateProtectButton();
  const bytes = new Uint8Array(await file.arrayBuffer());
  const reason = unsupportedReason(bytes, name);
  if (reason) {
    photoStatus.textContent = reason;
    photoStatus.className = 'error';
    setState('error');
    return;
  }
  photoStatus.className = '';
  photoStatus.textContent = `Finding the faces in ${name}…`;
  setState('analysing');
  try {
    const analysis = await engine.analyse(bytes, MAX_PIXELS);
    photo = { name, bytes, analysis };
    drawFaces(analysis);
    const small = analysis.too_small.length
      ? ` ${analysis.too_small.length} more ${analysis.too_small.length === 1 ? 'face is' : 'faces are'} too small to protect (under ${analysis.min_face_size} pixels).`
      : '';
    photoStatus.textContent =
      analysis.faces.length === 0
        ? `No face ${analysis.too_small.length ? 'large enough to protect ' : ''}was found in ${name}.${small}`
        : `${analysis.faces.length} ${analysis.faces.length === 1 ? 'face' : 'faces'} found in ${name} (${analysis.width}×${analysis.height}).${small}`;
    setState(analysis.faces.length ? 'ready' : 'error');
  } catch (error) {
    photoStatus.textContent = `Could not read ${name}: ${message(error)}`;
    photoStatus.className = 'error';
    setState('error');
  }
  updateProtectButton();
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
    box.checked = true;
    box.value = String(i);
    box.dataset.box = JSON.stringify(face);
    box.addEventListener('change', updateProtectButton);
    label.append(box, ` Face ${i + 1} (${Math.round(face.width)}×${Math.round(face.height)} px)`);
    faceList.append(label);
  });
  facesView.hidden = false;
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

async function setupPresets() {
  if (presetSelect.options.length) return;
  const presets = await engine.presets();
  for (const preset of presets) presetSelect.add(new Option(preset.name, preset.prompt));
  presetSelect.add(new Option('custom', ''));
  const berry = presets.find((p) => p.name === 'berry') ?? presets[0];
  presetSelect.value = berry.prompt;
  promptInput.value = berry.prompt;
  await showPrompt();
}

presetSelect.addEventListener('change', () => {
  if (presetSelect.value) promptInput.value = presetSelect.value;
  void showPrompt();
});

let promptTimer = 0;
promptInput.addEventListener('input', () => {
  const preset = [...presetSelect.options].find((o) => o.value === promptInput.value);
  presetSelect.value = preset ? preset.value : '';
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
  const asked = parsed.targets.length + parsed.shaping.length;
  const problems = [
    parsed.unknown.length ? `not understood: ${parsed.unknown.join(', ')}` : '',
    parsed.unplaced.length ? `no region named for: ${parsed.unplaced.join('; ')}` : '',
  ].filter(Boolean);
  notUnderstood.hidden = problems.length === 0 && asked > 0;
  notUnderstood.textContent = asked
    ? `Ignored — ${problems.join('; ')}.`
    : `This prompt names no region to make up (lipstick, eyeshadow, eyeliner, blush, brows, foundation, contour, highlight)${problems.length ? ` — ${problems.join('; ')}` : ''}.`;
  promptInput.setAttribute('aria-invalid', String(asked === 0));
  updateProtectButton();
}

function mode(): Mode {
  return (document.querySelector<HTMLInputElement>('input[name=mode]:checked')?.value ?? 'dodge') as Mode;
}

for (const radio of document.querySelectorAll<HTMLInputElement>('input[name=mode]')) {
  radio.addEventListener('change', () => {
    targetField.hidden = mode() !== 'impersonate';
    updateProtectButton();
  });
}

targetInput.addEventListener('change', async () => {
  const file = targetInput.files?.[0];
  if (!file) return;
  targetSet = false;
  updateProtectButton();
  const bytes = new Uint8Array(await file.arrayBuffer());
  const reason = unsupportedReason(bytes, file.name);
  if (reason) {
    targetStatus.textContent = reason;
    return;
  }
  targetStatus.textContent = `Reading the face in ${file.name}…`;
  try {
    const { faces } = await engine.setTarget(bytes, MAX_PIXELS);
    targetSet = true;
    targetStatus.textContent = `Target set from ${file.name}${faces > 1 ? ` (its largest of ${faces} faces)` : ''}.`;
  } catch (error) {
    targetStatus.textContent = `Could not use ${file.name}: ${message(error)}`;
  }
  updateProtectButton();
});

// --- Protect -----------------------------------------------------------------------------------

function chosenFaces(): number[] {
  return [...faceList.querySelectorAll<HTMLInputElement>('input[type=checkbox]')].filter((b) => b.checked).map((b) => Number(b.value));
}

function updateProtectButton() {
  const ready =
    document.documentElement.dataset.models === 'ready' &&
    photo !== null &&
    chosenFaces().length > 0 &&
    promptInput.getAttribute('aria-invalid') !== 'true' &&
    (mode() === 'dodge' || targetSet) &&
    running === null;
  protectButton.disabled = !ready;
}

function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s` : `${s} s`;
}

protectButton.addEventListener('click', async () => {
  if (!photo) return;
  const faces = chosenFaces();
  const strength = (document.querySelector<HTMLInputElement>('input[name=strength]:checked')?.value ?? 'medium') as Strength;
  const steps = stepsInput.valueAsNumber > 0 ? stepsInput.valueAsNumber : undefined;
  running = new AbortController();
  const signal = running.signal;
  updateProtectButton();
  cancelButton.disabled = false;
  resultSection.hidden = true;
  previewFigure.hidden = true;
  progressBar.value = 0;
  protectStatus.className = '';
  protectStatus.textContent = 'Starting…';
  setState('protecting');
  const started = performance.now();
  try {
    const { report, rgba } = await engine.protect(
      photo.bytes,
      { prompt: promptInput.value, strength, mode: mode(), faces, steps, seed: seedInput.valueAsNumber || 0, previewEvery: 5 },
      MAX_PIXELS,
      { signal, onProgress: (step) => showStep(step, started) },
    );
    showResult(photo.analysis, rgba, report);
    showBackend(report.backend); // it changes if the GPU was lost during the run
    progressBar.value = progressBar.max;
    protectStatus.textContent = `Done in ${formatSeconds(report.seconds)} on ${report.backend.kind === 'gpu' ? 'WebGPU' : 'the CPU'}.`;
    setState('done');
  } catch (error) {
    if (signal.aborted) {
      protectStatus.textContent = 'Cancelled. Your photo is unchanged; you can protect it again.';
      setState('cancelled');
    } else {
      protectStatus.textContent = `Could not protect the photo: ${message(error)}`;
      protectStatus.className = 'error';
      setState('error');
    }
  } finally {
    running = null;
    cancelButton.disabled = true;
    updateProtectButton();
  }
});

cancelButton.addEventListener('click', () => {
  running?.abort(new DOMException('Cancelled.', 'AbortError'));
  // The engine stops with its worker; start the next one now so the app is ready again.
  void startEngine();
});

function showStep(step: StepProgress, started: number) {
  const total = step.faces * step.steps;
  const done = step.face * step.steps + step.step;
  progressBar.max = total;
  progressBar.value = done;
  const elapsed = (performance.now() - started) / 1000;
  const eta = (elapsed / done) * (total - done);
  const sims = step.similarities.map((s) => `${s.name} ${s.after.toFixed(2)}`).join(', ');
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
      for (const s of face.similarities) block.append(scoreRow(s, report.mode));
      if (face.look && face.naturalness) block.append(lookSummary(face.look, face.naturalness));
      return block;
    }),
  );
  protocol.textContent = `How to read this: ${report.protocol}. The recognizers are the attack’s own surrogates; transfer to unseen recognizers is measured with the facecloak CLI (facecloak eval).`;
  quality.textContent = `Image quality: SSIM ${report.ssim.toFixed(3)}, PSNR ${report.psnr_db === null ? '∞' : report.psnr_db.toFixed(1)} dB.`;
  resultSection.hidden = false;
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

function scoreRow(s: { name: string; threshold: number; before: number; after: number }, mode: Mode): HTMLElement {
  const row = document.createElement('div');
  row.className = 'score';
  const fooled = mode === 'dodge' ? s.after < s.threshold : s.after > s.threshold;
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
  if (!photo) return;
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

setState('starting');
void startEngine();
