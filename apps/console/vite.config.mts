import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The operations console: static files in dist/apps/console, served by the API at `/` (apps/api/src/console).
// `npx nx run console:serve` runs Vite's dev server and forwards the API's paths to an API on port 3000.
const root = fileURLToPath(new URL('.', import.meta.url));
const api = process.env['CONSOLE_API_URL'] ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../../dist/apps/console', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    // One chunk of ~600 kB (React, Recharts): a console on a local network, loaded once per session.
    chunkSizeWarningLimit: 900,
  },
  server: { proxy: { '/v1': api, '/health': api } },
});
