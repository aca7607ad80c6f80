// Damaged model files in Chromium (issue 9): every damage of scripts/damage_gguf.py (truncation at
// each section boundary, header bit flips, absurd counts and lengths, overflowing dims, tensor data
// past the end or overlapping, an unknown type, a duplicate key, non-UTF-8 text, an embedding that
// does not match the vocabulary) must fail `engine.load` with its code and an error message naming
// its byte, leave no model loaded and nothing in the cache, and the engine must load the good
// file afterwards. The positions come from the `gguf` package's reader, not from brasa. The same
// cases run natively and through the CLI in crate/tests/damaged_models.rs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, setUp } from './helpers.mjs';

const tinyDir = path.join(repoRoot, 'target/tiny-models');
const tiny = path.join(tinyDir, 'tiny-gemma.gguf');
const python = path.join(repoRoot, '.venv/bin/python');
let env;
let tmp;
let cases;
/** Served damaged files: one of each kind of error, loaded by URL with the cache on. */
let served;

/** The file with a case's damage (as damage_gguf.py describes it). */
function damaged(file, c) {
  if (c.cut !== undefined) return file.subarray(0, c.cut);
  const out = Buffer.from(file);
  for (const p of c.patches) Buffer.from(p.hex, 'hex').copy(out, p.at);
  return out;
}

/** Checks `{code, message}` against a case: its code, "at byte N" at its offset, its words. */
function checkError(c, e) {
  const codes = Array.isArray(c.code) ? c.code : [c.code];
  assert.ok(codes.includes(e.code), `${c.name}: [${e.code}] ${e.message}`);
  const at = /at byte (\d+)/.exec(e.message ?? '');
  assert.ok(at, `${c.name}: no byte offset in ${JSON.stringify(e.message)}`);
  if (c.offset !== undefined) assert.equal(Number(at[1]), c.offset, `${c.name}: ${e.message}`);
  else assert.ok(Number(at[1]) <= c.max_offset, `${c.name}: ${e.message}`);
  assert.ok(e.message.includes(c.words), `${c.name}: ${e.message}`);
}

before(async () => {
  if (!existsSync(tiny)) {
    execFileSync(python, [path.join(repoRoot, 'scripts/make_tiny_models.py'), tinyDir, path.join(repoRoot, '.cache/llama-testdata')]);
  }
  cases = JSON.parse(execFileSync(python, [path.join(repoRoot, 'scripts/damage_gguf.py'), tiny], { encoding: 'utf8', maxBuffer: 1 << 24 })).cases;
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'brasa-damaged-'));
  const file = await fs.readFile(tiny);
  // A damaged header, a file cut inside its tensor data, an embedding that does not match the vocabulary.
  const pick = [
    cases.find((c) => c.name.startsWith('duplicate key')),
    cases.find((c) => c.cut !== undefined && c.offset !== undefined),
    cases.find((c) => c.code === 'invalid_model'),
  ];
  served = [];
  const files = { '/tiny.gguf': tiny };
  for (const [i, c] of pick.entries()) {
    const p = path.join(tmp, `${i}.gguf`);
    await fs.writeFile(p, damaged(file, c));
    files[`/damaged/${i}.gguf`] = p;
    served.push({ url: `/damaged/${i}.gguf`, case: c });
  }
  env = await setUp(files);
});

after(async () => {
  await env?.close();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

test('every damaged file fails to load with its code at its byte; no model is left; the good file then loads', async () => {
  const r = await env.page.evaluate(async (cases) => {
    const brasa = await import('/pkg/index.js');
    const engine = await brasa.createEngine();
    const good = new Uint8Array(await (await fetch('/tiny.gguf')).arrayBuffer());
    const ask = () => engine.completions.create({ prompt: 'One, two,', max_tokens: 4, temperature: 0 });
    await engine.load(new File([good], 'tiny.gguf'), { contextLength: 64 });
    const before = (await ask()).choices[0].text;
    const hex = (h) => Uint8Array.from(h.match(/../g), (b) => parseInt(b, 16));
    const results = [];
    for (const c of cases) {
      let bytes = good;
      if (c.cut !== undefined) bytes = good.subarray(0, c.cut);
      else {
        bytes = good.slice();
        for (const p of c.patches) bytes.set(hex(p.hex), p.at);
      }
      const error = await engine.load(new File([bytes], 'damaged.gguf'), { contextLength: 64 }).then(
        () => ({ code: 'loaded' }),
        (e) => ({ code: e.code, message: e.message }),
      );
      const after = await ask().then(() => 'a model answered', (e) => e.code);
      results.push({ error, after });
    }
    await engine.load(new File([good], 'tiny.gguf'), { contextLength: 64 });
    const again = (await ask()).choices[0].text;
    engine.terminate();
    return { before, results, again };
  }, cases);
  for (const [i, c] of cases.entries()) {
    checkError(c, r.results[i].error);
    assert.equal(r.results[i].after, 'no_model', `${c.name}: no half-loaded model`);
  }
  assert.equal(r.again, r.before, 'the good file gives the same reply after all that');
  console.error(`${cases.length} damaged files, each its error at its byte: ${[...new Set(r.results.map((x) => x.error.code))].join(', ')}`);
});

test('no damaged file leaves a GPU buffer behind, not even one that fails part-way through the upload', async () => {
  await env.page.goto(`${env.url}/__blank`);
  // All of them: the cuts inside the tensor data fail after weights went to the GPU.
  const late = cases;
  const r = await env.page.evaluate(async (late) => {
    const brasa = await import('/pkg/index.js');
    const { watchGpu } = await import('/tests/page/watch-gpu.js');
    const gpu = watchGpu();
    // On this thread, so that the page sees the engine's buffers.
    const engine = await brasa.createEngine({ worker: false });
    const good = new Uint8Array(await (await fetch('/tiny.gguf')).arrayBuffer());
    const hex = (h) => Uint8Array.from(h.match(/../g), (b) => parseInt(b, 16));
    await engine.load(new File([good], 'tiny.gguf'), { contextLength: 64 });
    const loaded = gpu.bytes();
    await engine.unload();
    const idle = { buffers: gpu.buffers(), bytes: gpu.bytes() };
    const left = [];
    for (const c of late) {
      let bytes = c.cut !== undefined ? good.subarray(0, c.cut) : good.slice();
      if (c.cut === undefined) for (const p of c.patches) bytes.set(hex(p.hex), p.at);
      const code = await engine.load(new File([bytes], 'damaged.gguf'), { contextLength: 64 }).then(() => 'loaded', (e) => e.code);
      left.push({ name: c.name, code, buffers: gpu.buffers(), bytes: gpu.bytes() });
    }
    engine.terminate();
    return { loaded, idle, left };
  }, late);
  assert.ok(r.loaded > 1 << 20, `the good model's buffers were seen (${r.loaded} B)`);
  for (const x of r.left) {
    assert.notEqual(x.code, 'loaded', x.name);
    assert.deepEqual({ buffers: x.buffers, bytes: x.bytes }, r.idle, `${x.name}: GPU buffers left after the failed load`);
  }
  console.error(`${late.length} failed loads: ${r.idle.buffers} GPU buffer(s), ${r.idle.bytes} B alive after each, as with no model (a loaded model: ${r.loaded} B)`);
});

test('damaged files loaded by URL with the cache on leave no cache entry', async () => {
  await env.page.goto(`${env.url}/__blank`);
  const r = await env.page.evaluate(async (served) => {
    const brasa = await import('/pkg/index.js');
    await caches.delete(brasa.MODEL_CACHE);
    const engine = await brasa.createEngine();
    const errors = [];
    for (const { url } of served) {
      errors.push(await engine.load(url, { cache: true, contextLength: 64 }).then(() => ({ code: 'loaded' }), (e) => ({ code: e.code, message: e.message })));
    }
    const cachedAfterFailures = (await brasa.listCachedModels()).map((m) => m.url);
    await engine.load('/tiny.gguf', { cache: true, contextLength: 64 });
    const cachedAfterGood = (await brasa.listCachedModels()).map((m) => new URL(m.url).pathname);
    engine.terminate();
    await caches.delete(brasa.MODEL_CACHE);
    return { errors, cachedAfterFailures, cachedAfterGood };
  }, served.map(({ url }) => ({ url })));
  for (const [i, s] of served.entries()) checkError(s.case, r.errors[i]);
  assert.deepEqual(r.cachedAfterFailures, [], 'no entry for a file that failed');
  assert.deepEqual(r.cachedAfterGood, ['/tiny.gguf'], 'the good file is cached (the cache works)');
});
