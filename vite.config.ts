// Vite serves the playground (www/) for development (`npm start`) and builds it (`npm run build`)
// into www/dist: a static site with relative asset paths (`base: './'`), so it can be hosted in any
// folder of any static host. The build holds no model: host the GGUF next to it under models/, or
// pick one by URL or from disk in the page.
// - COOP/COEP headers, so the page is cross-origin isolated (threads, precise memory figures);
// - /models/* streamed from the repository's models/ folder (never copied into a build);
// - the wasm package from pkg/ (outside the Vite root, hence fs.allow).
import { defineConfig, type Plugin } from 'vite';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
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

/**
 * Writes www/sw.js into the build as sw.js with the build's file list (relative to the site's
 * folder) and a version from their names, so that the service worker stores exactly this build.
 */
function serviceWorker(): Plugin {
  return {
    name: 'brasa-service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      const files = ['index.html', ...Object.keys(bundle).filter((f) => f !== 'index.html')].sort();
      const version = createHash('sha256').update(files.join('\n')).digest('hex').slice(0, 12);
      const source = readFileSync(path.join(repo, 'www/sw.js'), 'utf8')
        .replace('const PRECACHE = [/* build files */];', `const PRECACHE = ${JSON.stringify(files.map((f) => `./${f}`))};`)
        .replace("const VERSION = 'dev';", `const VERSION = '${version}';`);
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}

export default defineConfig({
  root: path.join(repo, 'www'),
  base: './',
  plugins: [serveModels(), serviceWorker()],
  server: { headers: isolation, fs: { allow: [repo] } },
  preview: { headers: isolation },
  build: { outDir: path.join(repo, 'www/dist'), emptyOutDir: true, target: 'es2022' },
});
