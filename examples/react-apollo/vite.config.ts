import react from '@vitejs/plugin-react';
import { defineConfig, loadEnv } from 'vite';

export default defineConfig(({ mode }) => {
  // Where the page's own /graphql goes (HTTP and WebSocket) under `npm run dev` and `npm run preview`.
  const api = loadEnv(mode, '.', '')['API_ORIGIN'] || 'http://127.0.0.1:4000';
  const proxy = { '/graphql': { target: api, ws: true } };
  return {
    plugins: [react()],
    // Relative asset URLs: the built page works from any path or static server.
    base: './',
    server: { host: '127.0.0.1', port: 5174, proxy },
    preview: { host: '127.0.0.1', port: 4174, proxy },
    build: { outDir: 'dist', emptyOutDir: true },
  };
});
