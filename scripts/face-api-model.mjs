// face-api.js's FaceRecognitionNet as its own package builds it (@vladmandic/face-api's
// dist/face-api.node-wasm.js, which runs on the @tensorflow/tfjs installed here), shaped like a
// tfjs GraphModel for our scripts: one input `input` [N,150,150,3] in 0–255, one output
// `descriptor` [N,128]. The reference that crates/tfjs/src/face_recognition_net.rs is checked
// against (golden.mjs) and timed against (bench-tfjs.mjs).
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const FACE_API_MODELS = join(root, 'node_modules', '@vladmandic', 'face-api', 'model');
export const FACE_RECOGNITION_NET = 'face-recognition-net';

let faceApi = null;

export async function faceRecognitionNet(dir = FACE_API_MODELS) {
  faceApi ??= createRequire(import.meta.url)('@vladmandic/face-api/dist/face-api.node-wasm.js');
  const net = new faceApi.FaceRecognitionNet();
  await net.loadFromDisk(dir);
  return {
    version: faceApi.version,
    inputs: [{ name: 'input' }],
    outputs: [{ name: 'descriptor' }],
    // Called with a feeds object (golden.mjs) or the input tensor itself (bench-tfjs.mjs).
    execute: (feeds) => net.forwardInput(new faceApi.NetInput([feeds.input ?? feeds])),
    dispose: () => net.dispose(),
  };
}
