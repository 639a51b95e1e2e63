// Builds the dashboard (web/) into dist/web, which the API serves at `/` (src/api/routes/web.ts).
// Run as `vite build web` from the repository root; paths below are relative to web/.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  // React's automatic JSX runtime through Vite's own transformer (no plugin needed).
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    // `vite web` during development: API calls go to a local `tern server`.
    proxy: { '/api': 'http://127.0.0.1:7070' },
  },
});
