import { defineConfig } from 'vite';

// The <face-cloak> widget as an npm package (dist-widget/, packed with `npm pack dist-widget`):
// one ES module, face-cloak.js, that defines the element; its worker and wasm beside it in
// assets/, found relative to the module's own URL, so the package works wherever it is served.
// Not Vite's library mode: that inlines every asset, the 10 MB wasm module included, as base64.
export default defineConfig({
  root: '.',
  base: './',
  publicDir: false,
  build: {
    outDir: 'dist-widget',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 50_000,
    rollupOptions: {
      input: { 'face-cloak': 'web/src/widget/face-cloak.ts' },
      preserveEntrySignatures: 'strict',
      output: { entryFileNames: '[name].js' },
    },
  },
  worker: { format: 'es' },
});
