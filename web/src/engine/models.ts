// The face models, fetched from the page's own origin, checked against the sha256 the build
// recorded, and kept with the Cache API so that later visits (and offline ones) read them from
// the disk. A file whose bytes do not match its hash is never used, nor cached.

/** `models/manifest.json`, written by scripts/build.mjs from the npm package's files. */
export interface ModelManifest {
  package: string;
  /** Per model: its name, the package (and licence) it comes from, and its files. */
  models: { name: string; package?: string; files: { path: string; bytes: number; sha256: string }[] }[];
}

export interface LoadedModel {
  name: string;
  /** model.json, then its weight shards in manifest order. */
  files: Uint8Array[];
}

const CACHE = 'facecloak-models-v1';

export class ModelIntegrityError extends Error {
  override name = 'ModelIntegrityError';
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function openCache(): Promise<Cache | null> {
  try {
    return typeof caches === 'undefined' ? null : await caches.open(CACHE);
  } catch {
    return null; // e.g. storage switched off: work without a cache
  }
}

/** Fetches one file: from the cache when its bytes still match, else from the origin. */
async function fetchChecked(
  cache: Cache | null,
  url: string,
  sha: string,
): Promise<{ bytes: Uint8Array; from: 'cache' | 'network' }> {
  const cached = await cache?.match(url);
  if (cached) {
    const bytes = new Uint8Array(await cached.arrayBuffer());
    if ((await sha256(bytes)) === sha) return { bytes, from: 'cache' };
    await cache?.delete(url);
  }
  const response = await fetch(url, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`could not fetch ${url}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const got = await sha256(bytes);
  if (got !== sha) throw new ModelIntegrityError(`${url} does not have the expected sha256 (expected ${sha}, got ${got})`);
  await cache?.put(url, new Response(bytes.slice(), { headers: { 'content-type': 'application/octet-stream' } }));
  return { bytes, from: 'network' };
}

/** Fetches every model listed in `base`/manifest.json, each file checked. */
export async function fetchModels(
  base: string,
  onProgress: (p: { model: string; loaded: number; total: number; from: 'cache' | 'network' }) => void,
): Promise<{ models: LoadedModel[]; bytes: number; fromCache: number }> {
  const cache = await openCache();
  const manifestUrl = new URL('manifest.json', base).href;
  let manifest: ModelManifest;
  try {
    const response = (await fetch(manifestUrl, { cache: 'no-cache' }).catch(() => null)) ?? (await cache?.match(manifestUrl));
    if (!response?.ok) throw new Error(`HTTP ${response?.status ?? 'error'}`);
    const text = await response.clone().text();
    manifest = JSON.parse(text) as ModelManifest;
    await cache?.put(manifestUrl, new Response(text, { headers: { 'content-type': 'application/json' } }));
  } catch (error) {
    throw new Error(`could not read the model list ${manifestUrl}: ${error instanceof Error ? error.message : error}`);
  }
  const total = manifest.models.reduce((sum, m) => sum + m.files.reduce((s, f) => s + f.bytes, 0), 0);
  let loaded = 0;
  let fromCache = 0;
  const models: LoadedModel[] = [];
  for (const model of manifest.models) {
    const files: Uint8Array[] = [];
    for (const file of model.files) {
      const { bytes, from } = await fetchChecked(cache, new URL(file.path, base).href, file.sha256);
      files.push(bytes);
      loaded += file.bytes;
      if (from === 'cache') fromCache += file.bytes;
      onProgress({ model: model.name, loaded, total, from });
    }
    models.push({ name: model.name, files });
  }
  return { models, bytes: total, fromCache };
}
