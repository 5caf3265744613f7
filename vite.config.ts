import { defineConfig } from 'vite';

// The app is a static folder (dist/) with no server-side part: everything, models included,
// is served from the page's own origin.
export default defineConfig({
  root: '.',
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The wasm module is several megabytes by nature; don't warn about it.
    chunkSizeWarningLimit: 50_000,
  },
  worker: {
    format: 'es',
  },
  preview: {
    host: '127.0.0.1',
    port: 4173,
    strictPort: true,
  },
  server: {
    host: '127.0.0.1',
  },
});
