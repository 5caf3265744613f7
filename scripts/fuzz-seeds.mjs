#!/usr/bin/env node
// Seeds for the loader's fuzz target (fuzz/fuzz_targets/load_model.rs), in its input format:
// u32 little-endian length of model.json, model.json, then the shard bytes.
//   node scripts/fuzz-seeds.mjs OUT_DIR
// Real face models (shards cut short, so their whole graphs get parsed and then refused) and a
// tiny complete model (so weight decoding, constant checks and folding are reached too).
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2] ?? join(root, 'fuzz', 'corpus', 'load_model');
const models = process.env.FACECLOAK_HUMAN_MODELS ?? join(root, 'models', 'human-models');
mkdirSync(out, { recursive: true });

function seed(name, json, shards) {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(json.length);
  writeFileSync(join(out, name), Buffer.concat([head, json, shards]));
}

for (const name of ['mobileface', 'blazeface-front', 'faceres']) {
  const json = join(models, `${name}.json`);
  if (!existsSync(json)) throw new Error(`${json} is missing: run scripts/setup`);
  seed(`${name}-cut`, readFileSync(json), readFileSync(join(models, `${name}.bin`)).subarray(0, 4096));
}

const b64 = (s) => Buffer.from(s).toString('base64');
const tiny = {
  format: 'graph-model',
  modelTopology: { node: [
    { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '4' }, { size: '4' }, { size: '2' }] } } } },
    { name: 'w', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '1' }, { size: '1' }, { size: '2' }, { size: '2' }] } } } } },
    { name: 's', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' } } },
    { name: 'shape', op: 'Const', attr: { dtype: { type: 'DT_INT32' } } },
    { name: 's2', op: 'Maximum', input: ['s', 's'] },
    { name: 'conv', op: 'Conv2D', input: ['x', 'w'], attr: { strides: { list: { i: ['1', '1', '1', '1'] } }, padding: { s: b64('SAME') }, data_format: { s: b64('NHWC') } } },
    { name: 'y', op: 'Mul', input: ['conv', 's2'] },
    { name: 'r', op: 'Reshape', input: ['y', 'shape'] },
  ] },
  weightsManifest: [{ paths: ['a.bin'], weights: [
    { name: 'w', shape: [1, 1, 2, 2], dtype: 'float32', quantization: { dtype: 'float16', original_dtype: 'float32' } },
    { name: 's', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
    { name: 'shape', shape: [2], dtype: 'int32' },
  ] }],
};
const weights = Buffer.alloc(4 * 2 + 2 + 8);
[0x3c00, 0xbc00, 0x4000, 0x3800].forEach((h, i) => weights.writeUInt16LE(h, 2 * i));
weights[8] = 3;
weights[9] = 7;
weights.writeInt32LE(-1, 10);
weights.writeInt32LE(2, 14);
seed('tiny', Buffer.from(JSON.stringify(tiny)), weights);
console.log(`fuzz seeds written to ${out}`);
