#!/usr/bin/env node
// Builds the browser extension (extension/, Manifest V3 for Chromium) with Vite:
//   extension/dist/            the unpacked extension (chrome://extensions → "Load unpacked")
//   extension/brasa-extension.zip   the same files, zipped (for the Chrome Web Store)
// Pages (panel, options, offscreen) and the service worker are ES modules; the npm package is
// bundled from pkg/ (imported as `brasa`), with its Worker and wasm file emitted as files that
// `new URL(…, import.meta.url)` finds. The content script is a separate classic script (what
// chrome.scripting.executeScript injects), with Readability bundled in. No code is fetched at run
// time. Needs pkg/wasm/ (scripts/build-wasm.sh).
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { zipSync } from 'fflate';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.join(repo, 'extension');
export const DIST = path.join(root, 'dist');
export const ZIP = path.join(root, 'brasa-extension.zip');

/** Vite settings both builds share. */
const common = {
  root,
  configFile: false,
  logLevel: 'warn',
  resolve: { alias: { brasa: path.join(repo, 'pkg/index.js') } },
};

export async function buildExtension() {
  if (!existsSync(path.join(repo, 'pkg/wasm/brasa_bg.wasm'))) {
    throw new Error('pkg/wasm/ is missing: run scripts/build-wasm.sh first');
  }
  await build({
    ...common,
    build: {
      outDir: DIST,
      emptyOutDir: true,
      target: 'es2022',
      // Vite's preload helper is not needed: every page loads from the extension's own files.
      modulePreload: false,
      // Files stay files (no data: URLs): the wasm and the Worker load under the CSP's 'self'.
      assetsInlineLimit: 0,
      rollupOptions: {
        input: {
          panel: path.join(root, 'panel.html'),
          options: path.join(root, 'options.html'),
          offscreen: path.join(root, 'offscreen.html'),
          background: path.join(root, 'src/background.js'),
        },
        // The manifest names the service worker by a fixed path.
        output: { entryFileNames: (chunk) => (chunk.name === 'background' ? 'background.js' : 'assets/[name]-[hash].js') },
      },
    },
    worker: { format: 'es' },
  });
  await build({
    ...common,
    build: {
      outDir: DIST,
      emptyOutDir: false,
      target: 'es2022',
      lib: { entry: path.join(root, 'src/content.js'), formats: ['iife'], name: 'brasaContent', fileName: () => 'content.js' },
    },
  });
  await fs.copyFile(path.join(root, 'manifest.json'), path.join(DIST, 'manifest.json'));
  await fs.mkdir(path.join(DIST, 'icons'), { recursive: true });
  for (const name of await fs.readdir(path.join(root, 'icons'))) {
    if (name.endsWith('.png')) await fs.copyFile(path.join(root, 'icons', name), path.join(DIST, 'icons', name));
  }
  await fs.writeFile(ZIP, zipSync(await readTree(DIST), { level: 9 }));
  return { dist: DIST, zip: ZIP };
}

/** Every file under `dir`, as fflate's `{ 'path/in/zip': bytes }`. */
async function readTree(dir, prefix = '') {
  const out = {};
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const name = prefix + entry.name;
    if (entry.isDirectory()) Object.assign(out, await readTree(full, `${name}/`));
    else out[name] = new Uint8Array(await fs.readFile(full));
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = performance.now();
  const { dist, zip } = await buildExtension();
  const { size } = await fs.stat(zip);
  console.error(`build-extension: ${path.relative(repo, dist)}/ and ${path.relative(repo, zip)} (${(size / 1e6).toFixed(1)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
