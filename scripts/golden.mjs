#!/usr/bin/env node
// Writes the golden files that facecloak-tfjs's parity test checks our executor against:
// outputs of the reference runtime (TensorFlow.js 4.22, wasm backend) on real face crops, and
// the gradient of a fixed scalar loss with respect to the input from tfjs's `cpu` backend (the
// wasm backend has no kernels for the backward pass of these models, see ../shared/MODELS.md).
//
//   npm run golden            (or: node scripts/golden.mjs [--shared DIR] [--out DIR])
//
// Inputs are built the same way on both sides, so nothing derived from a photo needs to be
// stored: decode a PNG (lossless, so both decoders agree bit for bit), take a square box, resize
// it bilinearly in f64, round to u8. The golden file records the recipe and an FNV-1a hash of
// the u8 crop; the Rust test rebuilds the crop, checks the hash, then compares. Keep
// `crop_u8` and `loss_weight` in step with crates/tfjs/tests/parity.rs.

import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FACE_API_MODELS, faceRecognitionNet } from './face-api-model.mjs';
import { PNG } from 'pngjs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    shared: { type: 'string', default: process.env.FACECLOAK_SHARED ?? join(root, '..', 'shared') },
    models: { type: 'string', default: process.env.FACECLOAK_HUMAN_MODELS ?? join(root, 'models', 'human-models') },
    'face-api': { type: 'string', default: FACE_API_MODELS },
    out: { type: 'string', default: join(root, 'crates', 'tfjs', 'tests', 'golden') },
    only: { type: 'string' }, // one model's golden file (the others are left as they are)
  },
});

// Image sources: `fixtures/` ships with the repo (public domain); `shared:` ones are the team's
// test faces, which the repo must not redistribute (only their recipe and hash are stored).
const ASTRONAUT = 'fixtures/astronaut.png';
const PENNY = 'shared:faces/faceapijs/penny1.png'; // 8-bit grey
const ALEX = 'shared:faces/face_recognition/alex-lacamoire.png'; // RGBA

// What each model is fed. `box` is [x, y, side] in source pixels; `mul`/`add` turn u8 into the
// model's input range (MODELS.md). The first input of each model is the one whose gradient is
// stored (the astronaut, so the check runs even without ../shared).
const ZERO_255 = { mul: 1, add: 0 };
const MODELS = [
  { model: 'faceres', size: 224, ...ZERO_255, inputs: [
    { source: ASTRONAUT, box: [125, 30, 200] }, { source: PENNY, box: [0, 0, 150] }, { source: ALEX, box: [40, 0, 394] }] },
  { model: 'faceres-deep', size: 224, ...ZERO_255, grad: false, inputs: [
    { source: ASTRONAUT, box: [125, 30, 200] }, { source: PENNY, box: [0, 0, 150] }] },
  { model: 'mobileface', size: 112, ...ZERO_255, inputs: [
    { source: ASTRONAUT, box: [170, 72, 110] }, { source: PENNY, box: [20, 25, 110] }, { source: ALEX, box: [90, 60, 260] }] },
  // As the package ships it, unrepaired (crates/tfjs/src/mobilefacenet.rs): ArcFace's (x − 127.5) / 128.
  { model: 'mobilefacenet', size: 112, mul: 1 / 128, add: -127.5 / 128, inputs: [
    { source: ASTRONAUT, box: [170, 72, 110] }, { source: PENNY, box: [20, 25, 110] }, { source: ALEX, box: [90, 60, 260] }] },
  { model: 'blazeface', size: 256, mul: 1 / 127.5, add: -1, grad: false, inputs: [
    { source: ASTRONAUT, box: [0, 0, 512] }, { source: ALEX, box: [0, 0, 424] }] },
  { model: 'blazeface-front', size: 128, mul: 1 / 127.5, add: -1, inputs: [
    { source: ASTRONAUT, box: [110, 10, 230] }, { source: PENNY, box: [0, 0, 150] }] },
  { model: 'facemesh', size: 192, mul: 1 / 255, add: 0, inputs: [
    { source: ASTRONAUT, box: [140, 45, 170] }, { source: PENNY, box: [0, 0, 150] }] },
  // Each of the astronaut's eyes, boxed as crates/face/src/iris.rs boxes them (2.3× the corners).
  { model: 'iris', size: 64, mul: 1 / 255, add: 0, inputs: [
    { source: ASTRONAUT, box: [181, 80, 44] }, { source: ASTRONAUT, box: [223, 81, 46] }] },
  // Not a graph model: weights only, the network is face-api.js's own JavaScript (face-api-model.mjs).
  { model: 'face-recognition-net', size: 150, ...ZERO_255, faceApi: true, inputs: [
    { source: ASTRONAUT, box: [150, 55, 150] }, { source: PENNY, box: [0, 0, 150] }, { source: ALEX, box: [90, 40, 280] }] },
];

function sourcePath(source) {
  return source.startsWith('shared:') ? join(args.shared, source.slice('shared:'.length)) : join(root, source);
}

/** Decodes a PNG to packed RGB u8 (grey is replicated, alpha dropped — as `image`'s to_rgb8). */
function decodeRgb(path) {
  const png = PNG.sync.read(readFileSync(path)); // always RGBA out, 8-bit
  const rgb = new Uint8Array(png.width * png.height * 3);
  for (let i = 0; i < png.width * png.height; i++) {
    rgb[i * 3] = png.data[i * 4];
    rgb[i * 3 + 1] = png.data[i * 4 + 1];
    rgb[i * 3 + 2] = png.data[i * 4 + 2];
  }
  return { width: png.width, height: png.height, rgb };
}

/** The square `box` resized to size×size: bilinear in f64 with pixel centres at +0.5, zeros
 *  outside the image, rounded half up. Same arithmetic, in the same order, as parity.rs. */
function cropU8(img, [x0, y0, side], size) {
  const out = new Uint8Array(size * size * 3);
  const at = (x, y, c) => (x < 0 || y < 0 || x >= img.width || y >= img.height ? 0 : img.rgb[(y * img.width + x) * 3 + c]);
  const scale = side / size;
  for (let i = 0; i < size; i++) {
    const sy = y0 + (i + 0.5) * scale - 0.5;
    const yf = Math.floor(sy);
    const wy = sy - yf;
    for (let j = 0; j < size; j++) {
      const sx = x0 + (j + 0.5) * scale - 0.5;
      const xf = Math.floor(sx);
      const wx = sx - xf;
      for (let c = 0; c < 3; c++) {
        const top = at(xf, yf, c) * (1 - wx) + at(xf + 1, yf, c) * wx;
        const bottom = at(xf, yf + 1, c) * (1 - wx) + at(xf + 1, yf + 1, c) * wx;
        out[(i * size + j) * 3 + c] = Math.round(top * (1 - wy) + bottom * wy);
      }
    }
  }
  return out;
}

function fnv1a(bytes) {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** The loss whose input gradient we store: Σ over outputs k, elements i of w(k,i)·out_k[i]. */
const lossWeight = (k, i) => Math.cos(0.7 * i + k);

function loadModel(name) {
  const json = JSON.parse(readFileSync(join(args.models, `${name}.json`), 'utf8'));
  const weightSpecs = json.weightsManifest.flatMap((group) => group.weights);
  const shards = json.weightsManifest.flatMap((group) => group.paths).map((p) => readFileSync(join(args.models, p)));
  const weightData = new Uint8Array(Buffer.concat(shards)).buffer;
  return tf.loadGraphModel(tf.io.fromMemory({ ...json, weightSpecs, weightData }));
}

const b64 = (typed) => Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength).toString('base64');

async function main() {
  await tf.setBackend('wasm');
  await tf.ready();
  mkdirSync(args.out, { recursive: true });
  for (const spec of MODELS.filter((m) => !args.only || m.model === args.only)) {
    const sources = new Map();
    for (const { source } of spec.inputs) {
      const path = sourcePath(source);
      if (!existsSync(path)) throw new Error(`${path} is missing (pass --shared DIR)`);
      if (!sources.has(source)) sources.set(source, decodeRgb(path));
    }
    const crops = spec.inputs.map(({ source, box }) => cropU8(sources.get(source), box, spec.size));
    const toInput = (u8) => tf.tensor4d(Float32Array.from(u8, (v) => v * spec.mul + spec.add), [1, spec.size, spec.size, 3]);

    await tf.setBackend('wasm');
    const model = spec.faceApi ? await faceRecognitionNet(args['face-api']) : await loadModel(spec.model);
    const inputName = model.inputs[0].name;
    const outputNames = model.outputs.map((o) => o.name);
    const inputs = [];
    for (const [n, crop] of crops.entries()) {
      const x = toInput(crop);
      const ys = [model.execute({ [inputName]: x }, outputNames)].flat();
      const outputs = ys.map((y, k) => ({ name: outputNames[k], shape: y.shape, f32: b64(y.dataSync()) }));
      tf.dispose([x, ...ys]);
      inputs.push({ ...spec.inputs[n], fnv1a: fnv1a(crop), outputs });
    }
    model.dispose();

    const golden = {
      generated_by: `scripts/golden.mjs with @tensorflow/tfjs ${tf.version.tfjs}${spec.faceApi ? ` and @vladmandic/face-api ${model.version}` : ''}: outputs on the wasm backend, gradient on the cpu backend`,
      model: spec.model, input: inputName, size: spec.size, mul: spec.mul, add: spec.add,
      loss: 'sum over outputs k (in this order) and elements i of cos(0.7*i + k) * out_k[i]',
      inputs,
    };
    if (spec.grad !== false) {
      await tf.setBackend('cpu');
      const cpuModel = spec.faceApi ? await faceRecognitionNet(args['face-api']) : await loadModel(spec.model);
      const x = toInput(crops[0]);
      const loss = (input) => {
        const ys = [cpuModel.execute({ [inputName]: input }, outputNames)].flat();
        return tf.addN(ys.map((y, k) => {
          const n = y.size;
          const w = tf.tensor(Float32Array.from({ length: n }, (_, i) => lossWeight(k, i)), y.shape);
          return tf.sum(tf.mul(y, w));
        }));
      };
      const grad = tf.grad(loss)(x);
      const g = grad.dataSync();
      // Stored as f16 of g / max|g| so that the small elements keep their precision.
      const scale = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const half = new Uint16Array(g.length);
      for (let i = 0; i < g.length; i++) half[i] = f32ToF16(g[i] / scale);
      writeFileSync(join(args.out, `${spec.model}.grad.f16`), Buffer.from(half.buffer));
      golden.grad = { input: 0, file: `${spec.model}.grad.f16`, scale };
      tf.dispose([x, grad]);
      cpuModel.dispose();
    }
    writeFileSync(join(args.out, `${spec.model}.json`), JSON.stringify(golden, null, 1) + '\n');
    console.log(`${spec.model}: ${inputs.length} inputs${golden.grad ? ', gradient' : ''}`);
  }
}

/** IEEE half, round to nearest even (values here are within [-1, 1]). */
function f32ToF16(value) {
  const f = new Float32Array([value]);
  const bits = new Uint32Array(f.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
