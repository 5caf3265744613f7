#!/usr/bin/env node
// The peer half of `facecloak bench`: times TensorFlow.js 4.22 on the very same model files
// and inputs, and prints one JSON object on stdout. Not meant to be run alone; the Rust
// command starts it so that both run on one machine in one invocation.
//
//   node scripts/bench-tfjs.mjs --models DIR --runs N --case NAME:INPUT_FILE:SIZE ...
//
// INPUT_FILE holds SIZE·SIZE·3 little-endian f32 (NHWC, batch 1). Per case it reports the
// median milliseconds of: forward on the wasm backend (SIMD; the in-browser CPU competitor),
// forward on the pure-JS cpu backend, and forward+backward (tf.grad of Σ out² of the widest
// output w.r.t. the input) on the cpu backend — the wasm backend cannot take these gradients.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { FACE_RECOGNITION_NET, faceRecognitionNet } from './face-api-model.mjs';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string' },
    runs: { type: 'string', default: '5' },
    case: { type: 'string', multiple: true, default: [] },
    'cpu-runs': { type: 'string', default: '2' },
  },
});

// tfjs prints a banner about tfjs-node on stdout; keep stdout for our JSON.
const log = console.log;
console.log = (...a) => console.error(...a);

function loadModel(name) {
  if (name === FACE_RECOGNITION_NET) return faceRecognitionNet();
  const json = JSON.parse(readFileSync(join(args.models, `${name}.json`), 'utf8'));
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const shards = json.weightsManifest.flatMap((g) => g.paths).map((p) => readFileSync(join(args.models, p)));
  return tf.loadGraphModel(tf.io.fromMemory({ ...json, weightSpecs, weightData: new Uint8Array(Buffer.concat(shards)).buffer }));
}

async function median(runs, fn) {
  await fn(); // warm-up: kernels compiled, weights uploaded
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function timeCase(spec) {
  const [name, file, size] = spec.split(':');
  const bytes = readFileSync(file);
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const shape = [1, Number(size), Number(size), 3];
  const result = { model: name };

  for (const backend of ['wasm', 'cpu']) {
    await tf.setBackend(backend);
    await tf.ready();
    const model = await loadModel(name);
    const x = tf.tensor4d(data, shape);
    const runs = backend === 'wasm' ? Number(args.runs) : Number(args['cpu-runs']);
    const forward = () => {
      const ys = [model.execute(x, model.outputs.map((o) => o.name))].flat();
      const sizes = ys.map((y) => y.size);
      const out = ys[sizes.indexOf(Math.max(...sizes))];
      const done = out.data();
      return done.then(() => tf.dispose(ys));
    };
    result[`${backend}_forward_ms`] = await median(runs, forward);
    if (backend === 'cpu') {
      const loss = (input) => {
        const ys = [model.execute(input, model.outputs.map((o) => o.name))].flat();
        const sizes = ys.map((y) => y.size);
        return tf.sum(tf.square(ys[sizes.indexOf(Math.max(...sizes))]));
      };
      const grad = tf.grad(loss);
      result.cpu_forward_backward_ms = await median(runs, async () => {
        const g = grad(x);
        await g.data();
        g.dispose();
      });
    }
    x.dispose();
    model.dispose();
  }
  return result;
}

const results = [];
for (const spec of args.case) results.push(await timeCase(spec));
log(JSON.stringify({ tfjs: tf.version.tfjs, wasm_simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'), wasm_threads: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'), results }));
