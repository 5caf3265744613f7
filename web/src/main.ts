// The page: starts the engine worker, shows which backend it runs on, runs the self-check and
// draws its result. No model code runs here (see engine/client.ts).

import { EngineClient } from './engine/client';
import type { BackendInfo, BackendPreference, SelfCheckReport } from './engine/protocol';

const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;

const backendOut = $<HTMLOutputElement>('#backend');
const fallbackNote = $<HTMLParagraphElement>('#fallback');
const backendForm = $<HTMLFormElement>('#backend-form');
const backendChoice = $<HTMLSelectElement>('#backend-choice');
const runButton = $<HTMLButtonElement>('#run-check');
const cancelButton = $<HTMLButtonElement>('#cancel-check');
const progressBar = $<HTMLProgressElement>('#check-progress');
const status = $<HTMLOutputElement>('#check-status');
const numbers = $<HTMLTableSectionElement>('#check-numbers tbody');

const CHECK_SIZE = 64;

function preferenceFromUrl(): BackendPreference {
  return new URLSearchParams(location.search).get('backend') === 'cpu' ? 'cpu' : 'auto';
}

let preference = preferenceFromUrl();
backendChoice.value = preference;
let engine = new EngineClient(preference);
let running: AbortController | null = null;

function showBackend(info: BackendInfo) {
  backendOut.dataset.kind = info.kind;
  backendOut.textContent =
    info.kind === 'gpu' ? `WebGPU: ${info.adapter}` : `CPU (${info.name})`;
  fallbackNote.hidden = !info.fallback_reason;
  fallbackNote.textContent = info.fallback_reason ? `Not using the GPU because ${info.fallback_reason}.` : '';
}

function draw(canvasId: string, size: number, pixel: (i: number) => [number, number, number]) {
  const canvas = $<HTMLCanvasElement>(canvasId);
  canvas.width = size;
  canvas.height = size;
  const context = canvas.getContext('2d')!;
  const image = context.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    const [r, g, b] = pixel(i);
    image.data.set([r * 255, g * 255, b * 255, 255], i * 4);
  }
  context.putImageData(image, 0, 0);
}

/** A perceptually ordered dark-purple → yellow ramp, so magnitudes read at a glance. */
function heat(v: number): [number, number, number] {
  const t = Math.sqrt(Math.min(1, Math.max(0, v)));
  return [Math.min(1, 0.1 + 1.3 * t), 0.05 + 0.9 * t * t, 0.35 + 0.4 * Math.sin(Math.PI * t)];
}

function showReport(report: SelfCheckReport) {
  const { size } = report;
  draw('#view-input', size, (i) => [report.input_rgb[3 * i], report.input_rgb[3 * i + 1], report.input_rgb[3 * i + 2]]);
  draw('#view-response', size, (i) => heat(report.response[i]));
  draw('#view-gradient', size, (i) => heat(report.gradient[i]));
  const rows: [string, string][] = [
    ['Backend', `${report.backend.name} (${report.backend.adapter})`],
    ['Image', `${size} × ${size} × 3 → 8 channels, 3 × 3 kernels`],
    ['Forward error (relative)', report.forward_error.toExponential(2)],
    ['Gradient error (relative)', report.gradient_error.toExponential(2)],
    ['Tolerance', report.tolerance.toExponential(0)],
    ['Loss ½ Σ y²: device / reference', `${report.loss.toFixed(4)} / ${report.reference_loss.toFixed(4)}`],
    ['Forward time', `${report.forward_ms.toFixed(1)} ms`],
    ['Backward time', `${report.backward_ms.toFixed(1)} ms`],
  ];
  numbers.replaceChildren(
    ...rows.map(([name, value]) => {
      const row = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = name;
      const td = document.createElement('td');
      td.textContent = value;
      row.append(th, td);
      return row;
    }),
  );
  status.dataset.passed = String(report.passed);
  status.textContent = report.passed
    ? 'Passed: forward and gradient match the reference.'
    : 'FAILED: this device computes wrong results.';
}

async function runCheck() {
  running?.abort();
  const controller = new AbortController();
  running = controller;
  runButton.disabled = true;
  cancelButton.disabled = false;
  progressBar.value = 0;
  delete status.dataset.passed;
  status.textContent = 'starting the engine…';
  try {
    showBackend(await engine.start({ signal: controller.signal }));
    status.textContent = 'computing…';
    const report = await engine.selfCheck(CHECK_SIZE, {
      signal: controller.signal,
      onProgress: (p) => {
        progressBar.max = p.total;
        progressBar.value = p.step;
        status.textContent = `${p.phase} (${p.step}/${p.total})`;
      },
    });
    progressBar.value = progressBar.max;
    // The engine may have moved to the CPU mid-run (GPU device lost): show what really ran.
    showBackend(report.backend);
    showReport(report);
    document.documentElement.dataset.engine = 'ready';
  } catch (error) {
    const aborted = error instanceof DOMException && error.name === 'AbortError';
    status.dataset.passed = aborted ? '' : 'false';
    status.textContent = aborted ? 'Cancelled.' : `Error: ${error instanceof Error ? error.message : String(error)}`;
    if (!aborted) document.documentElement.dataset.engine = 'error';
  } finally {
    if (running === controller) running = null;
    runButton.disabled = false;
    cancelButton.disabled = true;
  }
}

runButton.addEventListener('click', () => void runCheck());
cancelButton.addEventListener('click', () => running?.abort());
backendForm.addEventListener('submit', (event) => {
  event.preventDefault();
  running?.abort();
  engine.terminate();
  preference = backendChoice.value === 'cpu' ? 'cpu' : 'auto';
  engine = new EngineClient(preference);
  backendOut.dataset.kind = 'pending';
  backendOut.textContent = 'starting…';
  void runCheck();
});

void runCheck();
