// Vite serves the playground (www/) for development (`npm start`) and builds it (`npm run build`)
// into www/dist: a static site with relative asset paths (`base: './'`), so it can be hosted in any
// folder of any static host. The build holds no model: host the GGUF next to it under models/, or
// pick one by URL or from disk in the page.
// - COOP/COEP headers, so the page is cross-origin isolated (threads, precise memory figures);
// - /models/* streamed from the repository's models/ folder (never copied into a build);
// - the wasm package from pkg/ (outside the Vite root, hence fs.allow).
import { defineConfig, type Plugin } from 'vite';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveFile } from './scripts/lib/server.mjs';

const repo = path.dirname(fileURLToPath(import.meta.url));

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** Serves GET /models/NAME from models/NAME, streamed, with Range support. */
function serveModels(): Plugin {
  const middleware = (req: any, res: any, next: () => void) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!url.pathname.startsWith('/models/') || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    const name = decodeURIComponent(url.pathname.slice('/models/'.length));
    // One plain file name only: no sub-folders, no `..`.
    if (!/^[\w.-]+$/.test(name) || name.startsWith('.')) return next();
    serveFile(req, res, path.join(repo, 'models', name), name).catch(() => res.destroy());
  };
  return {
    name: 'brasa-serve-models',
    configureServer: (server) => void server.middlewares.use(middleware),
    configurePreviewServer: (server) => void server.middlewares.use(middleware),
  };
}

export default defineConfig({
  root: path.join(repo, 'www'),
  base: './',
  plugins: [serveModels()],
  server: { headers: isolation, fs: { allow: [repo] } },
  preview: { headers: isolation },
  build: { outDir: path.join(repo, 'www/dist'), emptyOutDir: true, target: 'es2022' },
});
