// The in-page parts of the browser benchmark for brasa (scripts/bench-browser.mjs). Each function
// runs one step in a cross-origin-isolated page from our server and returns plain numbers; the
// engine and model stay in the page (`self.__bench`) between steps.
//
// Functions passed to page.evaluate are serialized by Playwright: they may not close over
// anything in this module.

/**
 * Initialises the wasm module, creates the engine and streams the model (through brasa's Cache
 * Storage cache). The time covers all of it: what a page waits for before it can generate.
 * @param {import('playwright-core').Page} page
 * @param {{ modelUrl: string }} job
 */
export function brasaLoad(page, job) {
  return page.evaluate(async ({ modelUrl }) => {
    const brasa = await import('/pkg/index.js');
    const t0 = performance.now();
    const engine = await brasa.createGpuEngine();
    const model = await brasa.loadModel(engine, modelUrl, { cache: true });
    const load_s = (performance.now() - t0) / 1000;
    self.__bench = { brasa, engine, model };
    const summary = model.summary();
    const adapter = await brasa.adapterInfo();
    const gpu = await navigator.gpu.requestAdapter();
    // Hardware-independent figures (BENCH_CONTRACT.md); null until the engine reports them.
    const stats = typeof engine.stats === 'function' ? engine.stats() : null;
    return {
      load_s,
      wasm_memory_bytes: brasa.wasmMemoryBytes(),
      gpu_buffers: stats?.buffersCreated ?? null,
      gpu_buffer_bytes: stats?.bufferBytesCreated ?? null,
      file_bytes: summary.bytes,
      weight_bytes: summary.weightBytes,
      gguf_weight_bytes: summary.ggufWeightBytes ?? null,
      adapter: { ...adapter, shader_f16: gpu?.features.has('shader-f16') ?? false, gpu_info: engine.gpuInfo() },
    };
  }, job);
}

/**
 * Cuts `text` so that brasa's tokenizer (the GGUF's own, BOS included) gives `tokens` tokens:
 * the longest prefix ending at a word end with at most that many, else the longest prefix by
 * characters. Needs brasaLoad first. Counting uses `perplexity` with a context no text can fill:
 * it tokenizes, then refuses before any GPU work with a message that gives the token count.
 * @param {import('playwright-core').Page} page
 * @param {{ text: string, tokens: number }} job
 * @returns {Promise<{ prompt: string, tokens: number }>}
 */
export function brasaCutPrompt(page, job) {
  return page.evaluate(async ({ text, tokens }) => {
    const { brasa, engine, model } = self.__bench;
    const count = async (s) => {
      try {
        await brasa.perplexity(engine, model, s, 0x40000000, 1);
      } catch (e) {
        const m = /the text has (\d+)/.exec(e.message);
        if (m) return Number(m[1]);
        throw e;
      }
      throw new Error('token count: perplexity unexpectedly ran');
    };
    // Longest prefix among `ends` (increasing cut positions) with at most `tokens` tokens.
    const longest = async (ends) => {
      let lo = 0;
      let hi = ends.length - 1;
      let best = null;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const n = await count(text.slice(0, ends[mid]));
        if (n <= tokens) {
          best = { prompt: text.slice(0, ends[mid]), tokens: n };
          lo = mid + 1;
        } else hi = mid - 1;
      }
      return best;
    };
    const wordEnds = [...text.matchAll(/\S(?=\s|$)/g)].map((m) => m.index + 1);
    const byWord = await longest(wordEnds);
    if (byWord?.tokens === tokens) return byWord;
    const chars = Array.from({ length: text.length }, (_, i) => i + 1).filter((i) => !/\s/.test(text[i - 1]));
    const byChar = await longest(chars);
    return byChar?.tokens === tokens ? byChar : byWord ?? byChar ?? { prompt: '', tokens: 0 };
  }, job);
}

/**
 * Greedy generation of exactly `decodeTokens` tokens (ignoreEos) after `prompt`. TTFT is the
 * page's wall time from the call to the first streamed piece; prefill and decode rates are the
 * engine's own (decode counts the tokens after the first, which comes out of prefill).
 * @param {import('playwright-core').Page} page
 * @param {{ prompt: string, decodeTokens: number, ctxSize: number }} job
 */
export function brasaGenerate(page, job) {
  return page.evaluate(async ({ prompt, decodeTokens, ctxSize }) => {
    const { brasa, engine, model } = self.__bench;
    const session = new brasa.Session(engine, model, ctxSize);
    const params = { maxTokens: decodeTokens, temperature: 0, topK: 1, seed: 0, stop: [], ignoreEos: true };
    const t0 = performance.now();
    let first = null;
    const s = await session.generate(prompt, params, () => {
      first ??= performance.now();
      return true;
    });
    const total_s = (performance.now() - t0) / 1000;
    session.free();
    const stats = typeof engine.stats === 'function' ? engine.stats() : null;
    const num = (x) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
    return {
      text: s.text,
      prompt_tokens: s.promptTokens,
      generated_tokens: s.generatedTokens,
      finish: s.finish,
      ttft_s: first === null ? null : (first - t0) / 1000,
      generate_s: total_s,
      prefill_tok_s: s.prefillTokS,
      decode_tok_s: s.decodeTokS,
      wasm_memory_bytes: brasa.wasmMemoryBytes(),
      gpu_buffers: stats?.buffersCreated ?? null,
      // Per decoded token (BENCH_CONTRACT.md); null until the engine reports them.
      decode_steps: num(s.decodeSteps),
      dispatches_per_token: num(s.dispatchesPerToken),
      weight_bytes_per_token: num(s.weightBytesPerToken),
      weight_read_ratio: num(s.weightReadRatio),
      bind_groups_per_token: num(s.bindGroupsPerToken),
      buffers_per_token: num(s.buffersPerToken),
      host_ms_per_token: num(s.hostMsPerToken),
    };
  }, job);
}
