// The in-page part of browser-generate.mjs and the browser tests: load the model and run greedy
// generation or perplexity, returning plain numbers. The page is one from openPage().

/**
 * @param {import('playwright-core').Page} page
 * @param {{ modelUrl: string, prompt?: string, maxTokens?: number, ctxSize?: number, chunks?: number,
 *           perplexityUrl?: string, perplexityText?: string, kvCache?: 'f16' | 'f32',
 *           onText?: (text: string) => void }} job
 *   perplexity runs when perplexityUrl (fetched by the page) or perplexityText is given, over at
 *   most `chunks` chunks of ctxSize tokens (all when undefined); `kvCache` as the engine's option
 * @returns {Promise<object>} the JSON line's fields
 */
export async function runInPage(page, job) {
  const { onText, ...plain } = job;
  // A fresh binding name per call, so a page can run several jobs.
  const binding = `__brasaText${Math.random().toString(36).slice(2)}`;
  await page.exposeFunction(binding, (t) => onText?.(t));
  return page.evaluate(pageJob, { ...plain, binding });
}

// Runs inside the page (serialized by Playwright: no closures over module scope).
async function pageJob({ modelUrl, prompt, maxTokens, ctxSize, chunks, perplexityUrl, perplexityText, kvCache, binding }) {
  // Errors thrown in evaluate lose their properties: keep the code in the message.
  const withCode = (e) => new Error(`${e?.code ? `[${e.code}] ` : ''}${e?.message ?? e}`);
  try {
    const brasa = await import('/pkg/index.js');
    // Later jobs in the same page reuse the engine and model (kernels compile once).
    const cache = (self.__brasaJobCache ??= {});
    const t0 = performance.now();
    if (cache.modelUrl !== modelUrl) {
      cache.engine ??= await brasa.createGpuEngine();
      let nextLog = 0;
      cache.model = await brasa.loadModel(cache.engine, modelUrl, {
        onProgress: (done, total) => {
          if (done < nextLog && done < total) return;
          console.log(`loaded ${done} / ${total} bytes`);
          nextLog = done + total / 4;
        },
      });
      cache.modelUrl = modelUrl;
    }
    const { engine, model } = cache;
    const load_s = (performance.now() - t0) / 1000;
    const info = await brasa.adapterInfo();
    const adapter = info ? `${info.vendor} ${info.architecture}`.trim() || engine.gpuInfo() : engine.gpuInfo();
    if (perplexityUrl || perplexityText !== undefined) {
      const text = perplexityText ?? (await (await fetch(perplexityUrl)).text());
      const r = await brasa.perplexity(engine, model, text, ctxSize, chunks, kvCache);
      return { ppl: r.ppl, tokens: r.tokens, chunks: r.chunks, adapter };
    }
    console.log(`model: ${JSON.stringify(model.summary())}`);
    const session = new brasa.Session(engine, model, ctxSize ?? 0, false, kvCache);
    const params = { maxTokens, temperature: 0, topK: 1, seed: 0, stop: [] }; // greedy
    const stats = await session.generate(prompt, params, (t) => {
      self[binding](t);
      return true;
    });
    return {
      text: stats.text,
      prompt_tokens: stats.promptTokens,
      load_s,
      prefill_tok_s: stats.prefillTokS,
      decode_tok_s: stats.decodeTokS,
      adapter,
    };
  } catch (e) {
    throw withCode(e);
  }
}
