// The wasm module loads in Chromium, reports a WebGPU adapter, streams the real model through
// fetch → ModelLoader chunk by chunk, and turns bad files into Errors with stable codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MODEL, readPreamble, repoRoot, setUp } from './helpers.mjs';

let env;
let tmp;
/** The real model split into files of at most 100 tensors by the `gguf` package's writer. */
let splitParts;

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'brasa-test-'));
  // Bad inputs: not a GGUF file, and the real model's first 1000 bytes only.
  await fs.writeFile(path.join(tmp, 'not.gguf'), Buffer.from('this is not a gguf file, just text'));
  const head = Buffer.alloc(1000);
  const fh = await fs.open(MODEL);
  await fh.read(head, 0, 1000, 0);
  await fh.close();
  await fs.writeFile(path.join(tmp, 'head.gguf'), head);
  splitParts = execFileSync(path.join(repoRoot, '.venv/bin/python'), [path.join(repoRoot, 'scripts/split_gguf.py'), MODEL, tmp, '100'], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n');
  const served = Object.fromEntries(splitParts.map((p) => [`/split/${path.basename(p)}`, p]));
  env = await setUp({ '/bad/not.gguf': path.join(tmp, 'not.gguf'), '/bad/head.gguf': path.join(tmp, 'head.gguf'), ...served });
});

after(async () => {
  await env?.close();
  await fs.rm(tmp, { recursive: true, force: true });
});

test('the wasm module loads and reports a WebGPU adapter', async () => {
  const info = await env.page.evaluate(async () => {
    const brasa = await import('/pkg/index.js');
    const engine = await brasa.createGpuEngine();
    return { version: brasa.version(), gpu: engine.gpuInfo(), isolated: self.crossOriginIsolated };
  });
  assert.match(info.version, /^\d+\.\d+\.\d+/);
  assert.ok(info.gpu.length > 0, 'empty adapter description');
  assert.equal(info.isolated, true, 'the page should be cross-origin isolated');
  console.error(`adapter: ${info.gpu}`);
});

test('the real model streams through the page chunk by chunk', async () => {
  const expected = await readPreamble(MODEL);
  const got = await env.page.evaluate(async () => {
    const brasa = await import('/pkg/index.js');
    const engine = await brasa.createGpuEngine();
    let chunks = 0;
    let last = 0;
    let monotonic = true;
    const t0 = performance.now();
    const model = await brasa.loadModel(engine, '/model.gguf', {
      onProgress: (done) => {
        chunks += 1;
        monotonic &&= done > last;
        last = done;
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    return { summary: model.summary(), chunks, last, monotonic, seconds };
  });
  assert.equal(got.last, expected.bytes, 'bytes reported by progress');
  assert.equal(got.summary.bytes, expected.bytes, 'bytes counted by the loader');
  assert.ok(got.monotonic, 'progress must grow with every chunk');
  assert.ok(got.chunks > 10, `the file should arrive in many chunks, got ${got.chunks}`);
  assert.equal(got.summary.version, expected.version);
  assert.equal(got.summary.tensors, expected.tensors);
  assert.equal(got.summary.metadata, expected.metadata);
  assert.equal(got.summary.architecture, 'gemma3');
  // gemma-3-270m's shape (llama.cpp's model card figures): 18 blocks, width 640, 262,144 tokens.
  assert.deepEqual([got.summary.nLayer, got.summary.nEmbd, got.summary.nVocab], [18, 640, 262144]);
  // The weights went to the GPU: about the file's size (repacked layouts add a little padding).
  assert.ok(
    got.summary.weightBytes > 0.95 * expected.bytes && got.summary.weightBytes < 1.25 * expected.bytes,
    `weightBytes ${got.summary.weightBytes}`,
  );
  // Tensor types of gemma-3-270m-q4_k_m as llama.cpp lists them: F32 ×109, Q5_0 ×81, Q4_K ×27,
  // Q8_0 ×10, Q6_K ×9 (ggml type ids 0, 6, 12, 8, 14).
  assert.deepEqual(got.summary.types, { 0: 109, 6: 81, 8: 10, 12: 27, 14: 9 });
  console.error(`streamed ${expected.bytes} bytes in ${got.chunks} chunks, ${got.seconds.toFixed(2)} s`);
});

test('bad files become Errors with stable codes', async () => {
  const fileLen = (await fs.stat(MODEL)).size;
  const codes = await env.page.evaluate(async (fileLen) => {
    const brasa = await import('/pkg/index.js');
    const engine = await brasa.createGpuEngine();
    const codeOf = (p) => p.then(() => 'no error', (e) => `${e instanceof Error}:${e.code}`);
    return {
      notGguf: await codeOf(brasa.loadModel(engine, '/bad/not.gguf')),
      missing: await codeOf(brasa.loadModel(engine, '/bad/missing.gguf')),
      // A file cut after 1000 bytes: its header announces arrays longer than the whole file.
      cut: await codeOf(brasa.loadModel(engine, '/bad/head.gguf')),
      // The stream ends before the announced length (the real model's).
      shortStream: await codeOf(
        (async () => {
          const head = new Uint8Array(await (await fetch('/bad/head.gguf')).arrayBuffer());
          const loader = new brasa.ModelLoader(engine, BigInt(fileLen));
          loader.push(head);
          return loader.finish();
        })(),
      ),
      // More bytes arrive than announced.
      longStream: await codeOf(
        (async () => {
          const loader = new brasa.ModelLoader(engine, 10n);
          loader.push(new Uint8Array(20));
        })(),
      ),
    };
  }, fileLen);
  assert.deepEqual(codes, {
    notGguf: 'true:bad_file',
    missing: 'true:network',
    cut: 'true:bad_file',
    shortStream: 'true:truncated',
    longStream: 'true:invalid_argument',
  });
});

test('a split model loads from the URL of any of its files and generates like the whole file', async () => {
  assert.equal(splitParts.length, 3);
  const partBytes = (await Promise.all(splitParts.map((p) => fs.stat(p)))).reduce((n, st) => n + st.size, 0);
  const second = `/split/${path.basename(splitParts[1])}`;
  const got = await env.page.evaluate(async (second) => {
    const brasa = await import('/pkg/index.js');
    const engine = await brasa.createGpuEngine();
    const run = async (url) => {
      let last = 0;
      const model = await brasa.loadModel(engine, url, { onProgress: (done) => (last = done) });
      const session = new brasa.Session(engine, model, 64);
      const s = await session.generate('The capital of France is', { maxTokens: 4, temperature: 0, topK: 1 }, () => {});
      const out = { summary: model.summary(), tokens: Array.from(s.tokens), last };
      session.free();
      model.free();
      return out;
    };
    return { whole: await run('/model.gguf'), split: await run(second), urls: brasa.splitUrls(second) };
  }, second);
  assert.deepEqual(got.urls, splitParts.map((p) => `/split/${path.basename(p)}`));
  assert.deepEqual(got.split.tokens, got.whole.tokens, 'greedy tokens');
  assert.equal(got.split.summary.bytes, partBytes);
  assert.equal(got.split.last, partBytes, 'progress counts every file');
  for (const key of ['tensors', 'types', 'ggufWeightBytes', 'architecture', 'nLayer', 'nVocab']) {
    assert.deepEqual(got.split.summary[key], got.whole.summary[key], key);
  }
  // A layer whose q, k and v lie in different files is not stacked into one weight, so not
  // widened to Q8_0 either (model::qkv): its GPU bytes can only be fewer than the whole file's.
  assert.ok(got.split.summary.weightBytes <= got.whole.summary.weightBytes, 'GPU weight bytes');
});

test('inspectModel reads only the header and says whether the model fits', async () => {
  const fileBytes = (await fs.stat(MODEL)).size;
  env.traffic.reset();
  const r = await env.page.evaluate(async () => {
    const brasa = await import('/pkg/index.js');
    const info = await brasa.inspectModel('/model.gguf', { contextLength: 2048 });
    // Bindings of 1 MiB cannot hold the 16 MiB of logits rows (or one layer's 2 MiB K/V cache).
    const capped = await brasa.inspectModel('/model.gguf', { contextLength: 2048, limits: { maxStorageBufferBindingSize: 2 ** 20 } });
    const notGguf = await brasa.inspectModel('/bad/not.gguf').then(() => 'no error', (e) => e.code);
    return { info, capped, notGguf };
  });
  const sent = env.traffic.bytes((p) => p === '/model.gguf');
  console.error(`inspectModel: ${r.info.bytesFetched} bytes fetched (server sent ${sent} of ${fileBytes}); ${JSON.stringify(r.info)}`);
  assert.ok(sent < 16 * 2 ** 20 && sent < fileBytes / 10, `${sent} bytes sent for the header`);
  assert.equal(r.info.architecture, 'gemma3');
  assert.equal(r.info.fileBytes, fileBytes);
  // llama.cpp's load log for this file: "model params = 268.10 M"; its tensor type counts.
  assert.ok(Math.abs(r.info.parameters - 268.1e6) < 0.01e6, `${r.info.parameters} parameters`);
  assert.deepEqual(r.info.types, { F32: 109, Q5_0: 81, Q8_0: 10, Q4_K: 27, Q6_K: 9 });
  // 18 layers × K and V × 2048 positions × 256 (1 KV head of 256) × 2 bytes (f16, the default),
  // or 4 (f32).
  assert.equal(r.info.kvCacheBytes, 18 * 2 * 2048 * 256 * 2);
  // (After the traffic count, which is for two header reads.)
  const info32 = await env.page.evaluate(async () => {
    const brasa = await import('/pkg/index.js');
    return brasa.inspectModel('/model.gguf', { contextLength: 2048, kvCache: 'f32' });
  });
  assert.equal(info32.kvCacheBytes, 18 * 2 * 2048 * 256 * 4);
  assert.ok(r.info.fits, r.info.reasons.join('; '));
  assert.equal(r.capped.fits, false);
  assert.match(r.capped.reasons[0], /binding limit/);
  assert.equal(r.notGguf, 'bad_file');
});
