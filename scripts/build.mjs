#!/usr/bin/env node
// Builds the web app into dist/, a static folder that any web server can host:
//   cargo (wasm32) → wasm-bindgen → wasm-opt → Vite.
// Settings live in wasm-pack.toml. `--dev` builds with the dev cargo profile (quick, shares
// the dependency build with the tests); the default is the production build.
//
// Usage: node scripts/build.mjs [--dev] [--skip-vite]

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const profileName = args.has('--dev') ? 'dev' : 'release';
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
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) fail(`could not run ${command}: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} exited with status ${result.status}`);
}

function output(command, commandArgs) {
  try {
    return execFileSync(command, commandArgs, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
}

/** The wasm-bindgen version the lock file resolved: the CLI must be exactly this one. */
function lockedWasmBindgenVersion() {
  const lock = readFileSync(join(root, 'Cargo.lock'), 'utf8');
  const match = lock.match(/\[\[package\]\]\nname = "wasm-bindgen"\nversion = "([^"]+)"/);
  if (!match) fail('Cargo.lock has no wasm-bindgen entry; run `cargo generate-lockfile`.');
  return match[1];
}

// Tools first, with the exact command that installs each one, rather than a cryptic failure
// half-way through a fifteen-minute build.
const installed = output('rustup', ['target', 'list', '--installed']);
if (installed !== null && !installed.split('\n').includes('wasm32-unknown-unknown')) {
  fail('the wasm32 target is missing. Install it with:\n  rustup target add wasm32-unknown-unknown\n(or run scripts/setup, which installs everything)');
}
const wantBindgen = lockedWasmBindgenVersion();
const haveBindgen = output('wasm-bindgen', ['--version'])?.trim().split(' ')[1];
if (haveBindgen !== wantBindgen) {
  fail(`wasm-bindgen ${wantBindgen} is needed (found ${haveBindgen ?? 'none'}). Install it with:\n  cargo install wasm-bindgen-cli --version ${wantBindgen}\n(or run scripts/setup)`);
}
const wasmOpt = join(root, 'node_modules', '.bin', 'wasm-opt');
if (!existsSync(wasmOpt)) fail('node_modules/.bin/wasm-opt is missing. Install the npm dependencies with:\n  npm ci');

// 1. cargo
const cargoProfile = profile['cargo-profile'];
run('cargo', ['build', '-p', config.crate.package, '--target', 'wasm32-unknown-unknown', '--profile', cargoProfile]);
const profileDir = cargoProfile === 'dev' ? 'debug' : cargoProfile;
const wasm = join(targetDir, 'wasm32-unknown-unknown', profileDir, `${config.crate.artifact}.wasm`);
if (!existsSync(wasm)) fail(`cargo finished but ${wasm} is missing`);

// 2. wasm-bindgen
const outDir = join(root, config.output.dir);
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
run('wasm-bindgen', ['--target', config.output.target, '--out-dir', outDir, ...profile['wasm-bindgen-args'], wasm]);

// 3. wasm-opt, in place. Always the npm one (see wasm-pack.toml).
const bgWasm = join(outDir, `${config.crate.artifact}_bg.wasm`);
const before = statSync(bgWasm).size;
run(wasmOpt, [...config['wasm-opt'].features, ...profile['wasm-opt-args'], bgWasm, '-o', bgWasm]);
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
console.log(`wasm-opt: ${mb(before)} → ${mb(statSync(bgWasm).size)}`);

// 4. Vite
if (!args.has('--skip-vite')) {
  const { build } = await import('vite');
  await build({ root, mode: profileName === 'dev' ? 'development' : 'production', logLevel: 'info' });
  console.log(`\nbuilt ${profileName} app in ${join(root, 'dist')}`);
}
