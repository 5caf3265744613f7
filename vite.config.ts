import { defineConfig, type Plugin } from 'vite';

// The app is a static folder (dist/) with no server-side part: everything, models included,
// is served from the page's own origin.

/**
 * The page's privacy promise, enforced by the browser: it may load and connect to its own
 * origin only (wasm compilation allowed). Sent as a header by `vite preview` (which also covers
 * the worker and the service worker) and written into the built pages as a <meta> tag for
 * hosts that serve files as they are. Not added to `vite` dev pages, whose hot reload needs
 * inline code.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "connect-src 'self'",
  "img-src 'self' blob: data:",
  "style-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');

/**
 * Cross-origin isolation, which shared memory (SharedArrayBuffer) needs and with it the threaded
 * build of the engine: the page shares its process with no other origin's window, and loads
 * nothing that did not opt in (everything is its own origin anyway). Headers only: no <meta>
 * can set them, so a static host must send them itself (README, "Hosting"); without them the
 * worker loads the single-thread build.
 */
export const CROSS_ORIGIN_ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

function contentSecurityPolicy(): Plugin {
  return {
    name: 'facecloak-csp',
    apply: 'build',
    transformIndexHtml: () => [
      { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY }, injectTo: 'head-prepend' },
    ],
  };
}

export default defineConfig({
  root: '.',
  base: './',
  plugins: [contentSecurityPolicy()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The wasm module is several megabytes by nature; don't warn about it.
    chunkSizeWarningLimit: 50_000,
    rollupOptions: {
      input: { app: 'index.html', embed: 'examples/embed.html' },
    },
  },
  worker: {
    format: 'es',
  },
  preview: {
    host: '127.0.0.1',
    port: 4173,
    strictPort: true,
    headers: { 'Content-Security-Policy': CONTENT_SECURITY_POLICY, ...CROSS_ORIGIN_ISOLATION },
  },
  server: {
    host: '127.0.0.1',
    headers: CROSS_ORIGIN_ISOLATION,
  },
});
