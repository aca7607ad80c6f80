// Files past 2 GiB and 4 GiB load in Chromium: they stream through fetch into the engine chunk by
// chunk and never pass through wasm memory or a single ArrayBuffer, and offsets past 2^31 / 2^32
// stay exact. The files are the tiny llama model plus an unused tensor whose data is a hole in a
// sparse file (scripts/make_big_gguf.py), so they take no disk space and no GPU memory; they must
// generate exactly what the tiny model generates.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, setUp } from './helpers.mjs';

const python = path.join(repoRoot, '.venv/bin/python');
const tinyDir = path.join(repoRoot, 'target/tiny-models');
const tiny = path.join(tinyDir, 'tiny-llama.gguf');
let env;
let tmp;
const sizes = {};

before(async () => {
  if (!existsSync(tiny)) {
    execFileSync(python, [path.join(repoRoot, 'scripts/make_tiny_models.py'), tinyDir, path.join(repoRoot, '.cache/llama-testdata')]);
  }
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'brasa-big-'));
  const files = { '/tiny.gguf': tiny };
  for (const gib of ['2.2', '4.2']) {
    const file = path.join(tmp, `big-${gib}.gguf`);
    execFileSync(python, [path.join(repoRoot, 'scripts/make_big_gguf.py'), tiny, file, gib]);
    files[`/big-${gib}.gguf`] = file;
    sizes[gib] = (await fs.stat(file)).size;
  }
  env = await setUp(files);
});

after(async () => {
  await env?.close();
  await fs.rm(tmp, { recursive: true, force: true });
});

test('GGUF files of 2.2 and 4.2 GiB load and generate like the model they carry', { timeout: 1_200_000 }, async () => {
  assert.ok(sizes['2.2'] > 2 ** 31 && sizes['4.2'] > 2 ** 32);
  const r = await env.page.evaluate(async () => {
    const brasa = await import('/pkg/index.js');
    const engine = await brasa.createGpuEngine();
    const run = async (url) => {
      const t0 = performance.now();
      const model = await brasa.loadModel(engine, url);
      const seconds = (performance.now() - t0) / 1000;
      const session = new brasa.Session(engine, model, 64);
      const s = await session.generate('Hello there', { maxTokens: 4, temperature: 0, topK: 1, ignoreEos: true }, () => true);
      const out = { bytes: model.summary().bytes, tokens: Array.from(s.tokens), seconds, wasm: brasa.wasmMemoryBytes() };
      session.free();
      model.free();
      return out;
    };
    return { tiny: await run('/tiny.gguf'), big22: await run('/big-2.2.gguf'), big42: await run('/big-4.2.gguf') };
  });
  console.error(`2.2 GiB in ${r.big22.seconds.toFixed(1)} s, 4.2 GiB in ${r.big42.seconds.toFixed(1)} s; wasm memory ${r.big42.wasm >> 20} MiB`);
  assert.equal(r.big22.bytes, sizes['2.2']);
  assert.equal(r.big42.bytes, sizes['4.2']);
  assert.deepEqual(r.big22.tokens, r.tiny.tokens);
  assert.deepEqual(r.big42.tokens, r.tiny.tokens);
  // The file never sat in wasm memory.
  assert.ok(r.big42.wasm < 512 * 2 ** 20, `wasm memory ${r.big42.wasm}`);
});
