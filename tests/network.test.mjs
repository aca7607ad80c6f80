// Loading under real-world conditions, in Chromium: a connection that drops mid-download resumes
// with a Range request (and one that keeps dropping fails with `network`); a model from a `File`
// and from a `ReadableStream`; the optional sha256 integrity check (the expected digest computed
// here by Node's crypto, independently of the wasm hasher) accepts the right file and rejects
// a wrong digest with `integrity`, leaving nothing in the cache.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { MODEL, setUp } from './helpers.mjs';

let env;
let sha256;
let fileBytes;

before(async () => {
  fileBytes = (await fs.stat(MODEL)).size;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(MODEL)) hash.update(chunk);
  sha256 = hash.digest();
  env = await setUp(
    { '/flaky.gguf': MODEL, '/dead.gguf': MODEL },
    { faults: { '/flaky.gguf': { dropAfter: 40 << 20, times: 2 }, '/dead.gguf': { dropAfter: 10 << 20, times: 10 } } },
  );
});

after(async () => env?.close());

test('a dropped connection resumes where it stopped; one that keeps dropping fails with `network`', async () => {
  env.traffic.reset();
  const r = await env.page.evaluate(async () => {
    const brasa = await import('/pkg/index.js');
    const engine = await brasa.createGpuEngine();
    const model = await brasa.loadModel(engine, '/flaky.gguf');
    const summary = model.summary();
    model.free();
    const dead = await brasa.loadModel(engine, '/dead.gguf').then(() => 'no error', (e) => e.code);
    return { summary, dead };
  });
  assert.equal(r.summary.bytes, fileBytes);
  assert.equal(r.summary.architecture, 'gemma3');
  // Two drops 40 MiB into a response: the file arrives in three responses. Bytes in flight when
  // a socket dies are sent again, but nothing near a restart from byte 0 (+40 MiB or more).
  const flaky = env.traffic.bytes((p) => p === '/flaky.gguf');
  console.error(`flaky: ${flaky} bytes sent for a ${fileBytes}-byte file`);
  assert.ok(flaky >= fileBytes && flaky < fileBytes + (8 << 20), `${flaky} bytes sent for a ${fileBytes}-byte file`);
  assert.equal(r.dead, 'network');
});

test('a File, a ReadableStream and the integrity check', async () => {
  const hex = sha256.toString('hex');
  const sri = `sha256-${sha256.toString('base64')}`;
  const wrong = `${hex.slice(0, -1)}${hex.at(-1) === '0' ? '1' : '0'}`;
  const r = await env.page.evaluate(
    async ({ hex, sri, wrong }) => {
      const brasa = await import('/pkg/index.js');
      const engine = await brasa.createGpuEngine();
      const codeOf = (p) => p.then((m) => (m.free(), 'no error'), (e) => e.code);
      const blob = await (await fetch('/model.gguf')).blob();
      const file = new File([blob], 'gemma.gguf');
      const fromFile = await brasa.loadModel(engine, file, { integrity: sri });
      const fileSummary = fromFile.summary();
      fromFile.free();
      const stream = (await fetch('/model.gguf')).body;
      const fromStream = await brasa.loadModel(engine, stream, { size: blob.size, integrity: hex });
      const streamSummary = fromStream.summary();
      fromStream.free();
      const mismatch = await codeOf(brasa.loadModel(engine, '/model.gguf', { integrity: wrong, cache: true }));
      const cached = await brasa.listCachedModels();
      const noSize = await codeOf(brasa.loadModel(engine, (await fetch('/model.gguf')).body));
      return { fileSummary, streamSummary, mismatch, cached, noSize };
    },
    { hex, sri, wrong },
  );
  assert.equal(r.fileSummary.bytes, fileBytes);
  assert.equal(r.streamSummary.bytes, fileBytes);
  assert.deepEqual(r.fileSummary.types, r.streamSummary.types);
  assert.equal(r.mismatch, 'integrity');
  assert.deepEqual(r.cached, [], 'a file that failed its check is not cached');
  assert.equal(r.noSize, 'invalid_argument');
});
