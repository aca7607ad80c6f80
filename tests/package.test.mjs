// The npm package as a user gets it: `npm pack` of pkg/, installed (offline) into a fresh Vite app
// that imports `brasa` by name; its TypeScript types check a consumer under --strict, `vite build`
// bundles it (the Worker and the wasm file resolved through `new URL(…, import.meta.url)`, no
// configuration), and the built site generates text in Chromium. The same package in a fresh
// webpack 5 app (plain JavaScript, a minimal config with no loaders or plugins for brasa) builds and
// generates too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MODEL, repoRoot, requireInputs } from './helpers.mjs';

/** Runs a command; on failure the error carries its output. */
function run(cmd, args, cwd) {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    throw new Error(`${path.basename(cmd)} ${args.slice(0, 2).join(' ')} failed:\n${e.stdout}${e.stderr}`);
  }
}
import { startServer } from '../scripts/lib/server.mjs';
import { openPage } from '../scripts/lib/browser.mjs';

let tmp;
before(async () => {
  requireInputs();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'brasa-app-'));
});
after(async () => fs.rm(tmp, { recursive: true, force: true }));


/** Serves a built app's `dist` with the model and returns what its page wrote into #out. */
async function runBuiltApp(dist) {
  const server = await startServer({ root: dist, files: { '/model.gguf': MODEL } });
  let browser;
  try {
    const opened = await openPage(server.url, { path: '/index.html' });
    browser = opened.browser;
    const handle = await opened.page.waitForFunction(() => document.getElementById('out')?.textContent, null, { timeout: 600_000 });
    return JSON.parse(await handle.jsonValue());
  } finally {
    await browser?.close();
    await server.close();
  }
}

/** What every app's page must have done: load, fit, and generate at most 3 tokens. */
function checkGenerated(result) {
  assert.equal(result.error, undefined);
  assert.ok(result.text.length > 0);
  assert.equal(result.fits, true);
  assert.ok(result.completion >= 1 && result.completion <= 3);
}

/** `npm pack` of pkg/ installed offline into a new folder `name` of tmp with `files`. */
async function freshApp(name, files) {
  const app = path.join(tmp, name);
  await fs.mkdir(app);
  const packed = run('npm', ['pack', path.join(repoRoot, 'pkg'), '--pack-destination', tmp, '--silent'], repoRoot).trim();
  await fs.writeFile(path.join(app, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  for (const [file, text] of Object.entries(files)) await fs.writeFile(path.join(app, file), text);
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', path.join(tmp, packed)], app);
  return app;
}

const MAIN_TS = `
import { createEngine, inspectModel, BrasaError, type ChatCompletionChunk } from 'brasa';

const out = document.getElementById('out')!;
async function main(): Promise<void> {
  const info = await inspectModel('/model.gguf', { contextLength: 256 });
  const engine = await createEngine();
  await engine.load('/model.gguf', { contextLength: 256, onProgress: (done: number, total: number) => void (out.dataset.progress = String(done / total)) });
  const stream = await engine.chat.completions.create({
    messages: [{ role: 'user', content: 'Name a color.' }],
    max_tokens: 3,
    temperature: 0,
    stream: true,
  });
  let text = '';
  let last: ChatCompletionChunk | undefined;
  for await (const chunk of stream) {
    text += chunk.choices[0].delta.content ?? '';
    last = chunk;
  }
  out.textContent = JSON.stringify({ text, fits: info.fits, completion: last?.usage?.completion_tokens });
}
main().catch((e: unknown) => {
  out.textContent = JSON.stringify({ error: e instanceof BrasaError ? e.code : String(e) });
});
`;

test('npm pack → a fresh Vite app: types check, it builds, and it generates in Chromium', { timeout: 900_000 }, async () => {
  const app = await freshApp('app', {
    'index.html': '<!doctype html><meta charset="utf-8"><pre id="out"></pre><script type="module" src="./main.ts"></script>',
    'main.ts': MAIN_TS,
  });

  // The published types, as a strict TypeScript consumer sees them.
  const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');
  run(
    process.execPath,
    [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler', '--lib', 'es2022,dom,dom.iterable', 'main.ts'],
    app,
  );

  const vite = path.join(repoRoot, 'node_modules/vite/bin/vite.js');
  run(process.execPath, [vite, 'build', '--logLevel', 'warn'], app);
  const dist = path.join(app, 'dist');
  const assets = await fs.readdir(path.join(dist, 'assets'));
  assert.ok(assets.some((f) => f.endsWith('.wasm')), `the wasm file is emitted: ${assets}`);

  const result = await runBuiltApp(path.join(app, 'dist'));
  console.error(`fresh Vite app: ${JSON.stringify(result)}; assets ${assets.join(', ')}`);
  checkGenerated(result);
});

// The page as plain JavaScript: what a webpack user without TypeScript writes.
const MAIN_JS = MAIN_TS.replace(', type ChatCompletionChunk', '')
  .replace("document.getElementById('out')!", "document.getElementById('out')")
  .replace('async function main(): Promise<void>', 'async function main()')
  .replace('let last: ChatCompletionChunk | undefined;', 'let last;')
  .replace('(done: number, total: number)', '(done, total)')
  .replace('(e: unknown)', '(e)');

const WEBPACK_CONFIG = `
import path from 'node:path';
export default {
  mode: 'production',
  entry: './main.js',
  output: { path: path.resolve('dist'), filename: 'main.js', clean: true },
  performance: { hints: false },
};
`;

test('npm pack → a fresh webpack app builds with a minimal config and generates in Chromium', { timeout: 900_000 }, async () => {
  const app = await freshApp('webpack-app', { 'main.js': MAIN_JS, 'webpack.config.js': WEBPACK_CONFIG });
  const webpack = path.join(repoRoot, 'node_modules/webpack-cli/bin/cli.js');
  run(process.execPath, [webpack, '--config', 'webpack.config.js'], app);
  const dist = path.join(app, 'dist');
  const emitted = await fs.readdir(dist);
  // webpack 5 turns `new URL('…', import.meta.url)` into an emitted asset and `new Worker(new URL(…))` into a chunk.
  assert.ok(emitted.some((f) => f.endsWith('.wasm')), `the wasm file is emitted: ${emitted}`);
  assert.ok(emitted.length >= 3, `the page, the Worker and the wasm are separate files: ${emitted}`);
  await fs.writeFile(path.join(dist, 'index.html'), '<!doctype html><meta charset="utf-8"><pre id="out"></pre><script type="module" src="./main.js"></script>');
  const result = await runBuiltApp(dist);
  console.error(`fresh webpack app: ${JSON.stringify(result)}; files ${emitted.join(', ')}`);
  checkGenerated(result);
});
