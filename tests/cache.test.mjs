// brasa's opt-in model cache (pkg/index.js `loadModel(engine, url, { cache: true })`): a second
// load streams from Cache Storage, fetches no model bytes and gives the same model (same greedy
// text); an aborted load leaves no entry. Bytes are counted by our server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MODEL, readPreamble, setUp } from './helpers.mjs';

let env;
before(async () => {
  env = await setUp();
});
after(async () => env?.close());

// Loads the model with the cache on and generates a few greedy tokens, after reloading the page
// (Cache Storage outlives it; the engine and model do not).
async function loadAndGenerate(opts = {}) {
  const { page } = env;
  await page.goto(`${env.url}/__blank`);
  env.traffic.reset();
  return page.evaluate(async ({ abortAt }) => {
      const brasa = await import('/pkg/index.js');
      const engine = await brasa.createGpuEngine();
      const ctl = new AbortController();
      const onProgress = (done) => {
        if (abortAt && done >= abortAt) ctl.abort();
      };
      let model;
      try {
        model = await brasa.loadModel(engine, '/model.gguf', { cache: true, signal: ctl.signal, onProgress });
      } catch (e) {
        const store = await caches.open(brasa.MODEL_CACHE);
        return { code: e.code, cached: Boolean(await store.match(new URL('/model.gguf', location.href).href)) };
      }
      const session = new brasa.Session(engine, model, 64);
      const s = await session.generate('The capital of France is', { maxTokens: 3, temperature: 0, topK: 1 }, () => true);
    return { text: s.text, tokens: Array.from(s.tokens), bytes: model.summary().bytes };
  }, opts);
}

test('an aborted load leaves nothing in the cache', async () => {
  const r = await loadAndGenerate({ abortAt: 50 << 20 });
  assert.equal(r.code, 'aborted');
  assert.equal(r.cached, false);
});

test('a warm load streams from the cache: no model bytes fetched, same greedy text', async () => {
  const { bytes } = await readPreamble(MODEL);
  const cold = await loadAndGenerate();
  const coldBytes = env.traffic.bytes((p) => p === '/model.gguf');
  const warm = await loadAndGenerate();
  const warmBytes = env.traffic.bytes((p) => p === '/model.gguf');
  console.error(`cold: ${coldBytes} model bytes fetched, warm: ${warmBytes}; text ${JSON.stringify(warm.text)}`);
  assert.equal(cold.bytes, bytes);
  assert.equal(warm.bytes, bytes, 'the cached copy has the whole file');
  assert.equal(coldBytes, bytes, 'the cold load fetches the file once');
  assert.equal(warmBytes, 0, 'the warm load fetches nothing');
  assert.ok(cold.tokens.length > 0);
  assert.deepEqual(warm.tokens, cold.tokens);
  assert.equal(warm.text, cold.text);
});

test('listCachedModels lists the cached file with its size; deleteCachedModel removes it', async () => {
  const { bytes } = await readPreamble(MODEL);
  const r = await env.page.evaluate(async () => {
    const brasa = await import('/pkg/index.js');
    const before = await brasa.listCachedModels();
    const removed = await brasa.deleteCachedModel('/model.gguf');
    const again = await brasa.deleteCachedModel('/model.gguf');
    return { before, removed, again, after: await brasa.listCachedModels() };
  });
  assert.deepEqual(r.before, [{ url: `${env.url}/model.gguf`, bytes }]);
  assert.equal(r.removed, true);
  assert.equal(r.again, false);
  assert.deepEqual(r.after, []);
});

test('a cache over its quota only loses the copy: the load succeeds, with a warning', async () => {
  await env.page.goto(`${env.url}/__blank`);
  const cdp = await env.page.context().newCDPSession(env.page);
  // 50 MB for this origin: the 253 MB model cannot be stored.
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: env.url, quotaSize: 50e6 });
  const warnings = [];
  const onConsole = (m) => m.type() === 'warning' && warnings.push(m.text());
  env.page.on('console', onConsole);
  try {
    const r = await env.page.evaluate(async () => {
      const brasa = await import('/pkg/index.js');
      const engine = await brasa.createGpuEngine();
      const model = await brasa.loadModel(engine, '/model.gguf', { cache: true });
      const bytes = model.summary().bytes;
      model.free();
      // Let the failed put settle before looking.
      await new Promise((ok) => setTimeout(ok, 500));
      return { bytes, cached: await brasa.listCachedModels() };
    });
    const { bytes } = await readPreamble(MODEL);
    assert.equal(r.bytes, bytes);
    assert.deepEqual(r.cached, []);
    assert.ok(warnings.some((w) => /not caching/.test(w)), `warnings: ${warnings}`);
  } finally {
    env.page.off('console', onConsole);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: env.url });
  }
});
