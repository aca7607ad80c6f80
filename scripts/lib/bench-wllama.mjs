// The in-page parts of the browser benchmark for the peer runtime @wllama/wllama (llama.cpp built
// to wasm; pinned in package.json). Served from node_modules by our server, in the same
// cross-origin-isolated page kind as brasa, so it gets its multi-threaded build.
//
// Functions passed to page.evaluate are serialized by Playwright: they may not close over
// anything in this module.

export const WLLAMA_MODULE = '/node_modules/@wllama/wllama/esm/index.js';
export const WLLAMA_WASM = '/node_modules/@wllama/wllama/esm/wasm/wllama.wasm';

/**
 * Creates a Wllama and loads the model from its URL through wllama's own cache (OPFS): a first
 * load downloads into the cache and reads from it, a later one only reads. `gpu: false` is
 * n_gpu_layers 0 (CPU); `gpu: true` offloads every layer to ggml's WebGPU backend, when that
 * backend finds a device it can use — whether it did is read from llama.cpp's log: an offload
 * line with N > 0 layers or a WebGPU buffer of non-zero size.
 * @param {import('playwright-core').Page} page
 * @param {{ modelUrl: string, gpu: boolean, nCtx: number }} job
 */
export function wllamaLoad(page, job) {
  return page.evaluate(
    async ({ modelUrl, gpu, nCtx, moduleUrl, wasmUrl }) => {
      const { Wllama } = await import(moduleUrl);
      const logs = [];
      const keep = (...args) => logs.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
      const t0 = performance.now();
      const wllama = new Wllama({ default: wasmUrl }, { logger: { debug: keep, log: keep, warn: keep, error: keep } });
      const nThreads = navigator.hardwareConcurrency;
      await wllama.loadModelFromUrl(new URL(modelUrl, location.href).href, {
        n_ctx: nCtx,
        n_threads: nThreads,
        n_gpu_layers: gpu ? 999 : 0,
      });
      const load_s = (performance.now() - t0) / 1000;
      self.__bench = { wllama, logs };
      const gpuLog = logs.filter((l) => /webgpu|offload|gpu|model buffer size/i.test(l));
      const offloaded = gpuLog.map((l) => /offloaded (\d+)\/\d+ layers to GPU/i.exec(l)).find(Boolean);
      const webgpuMiB = gpuLog
        .map((l) => /WebGPU\S*\s+model buffer size\s*=\s*([\d.]+)\s*MiB/i.exec(l))
        .filter(Boolean)
        .reduce((sum, m) => sum + Number(m[1]), 0);
      const adapter = await navigator.gpu?.requestAdapter();
      return {
        load_s,
        threads: wllama.getNumThreads(),
        multithread: wllama.isMultithread(),
        ran_on_gpu: Number(offloaded?.[1] ?? 0) > 0 || webgpuMiB > 0,
        webgpu_model_mib: webgpuMiB,
        gpu_log: gpuLog.slice(0, 20),
        adapter: {
          vendor: adapter?.info?.vendor ?? null,
          architecture: adapter?.info?.architecture ?? null,
          shader_f16: adapter?.features.has('shader-f16') ?? false,
        },
      };
    },
    { ...job, moduleUrl: WLLAMA_MODULE, wasmUrl: WLLAMA_WASM },
  );
}

/**
 * Greedy completion of exactly `decodeTokens` tokens (ignore_eos) after `prompt`, streamed so
 * that TTFT is the page's wall time to the first text; prefill and decode rates are llama.cpp's
 * own `timings`.
 * @param {import('playwright-core').Page} page
 * @param {{ prompt: string, decodeTokens: number }} job
 */
export function wllamaGenerate(page, job) {
  return page.evaluate(async ({ prompt, decodeTokens }) => {
    const { wllama } = self.__bench;
    const t0 = performance.now();
    let first = null;
    let text = '';
    let last = null;
    await wllama.createCompletion({
      prompt,
      max_tokens: decodeTokens,
      temperature: 0,
      top_k: 1,
      seed: 0,
      ignore_eos: true,
      cache_prompt: false,
      stream: true,
      onData: (chunk) => {
        const piece = chunk.choices?.[0]?.text ?? '';
        if (piece && first === null) first = performance.now();
        text += piece;
        last = chunk;
      },
    });
    const generate_s = (performance.now() - t0) / 1000;
    const t = last?.timings ?? {};
    return {
      text,
      prompt_tokens: last?.usage?.prompt_tokens ?? t.prompt_n ?? null,
      generated_tokens: last?.usage?.completion_tokens ?? t.predicted_n ?? null,
      finish: last?.choices?.[0]?.finish_reason ?? null,
      ttft_s: first === null ? null : (first - t0) / 1000,
      generate_s,
      prefill_tok_s: t.prompt_per_second ?? null,
      decode_tok_s: t.predicted_per_second ?? null,
    };
  }, job);
}

/**
 * wllama's wasm memory in bytes: its linear memory is one shared WebAssembly.Memory, held by the
 * worker that runs llama.cpp and by its pthread workers (emscripten's global `wasmMemory` in
 * each). Asks every worker of the page, with a timeout because a thread parked in a wait cannot
 * answer, and keeps the largest answer (null when none answered). Wasm memory only grows, so
 * this is also the peak so far.
 * @param {import('playwright-core').Page} page
 */
export async function wllamaWasmMemory(page) {
  const ask = (w) =>
    Promise.race([
      w.evaluate(() => (typeof wasmMemory === 'undefined' ? null : Number(wasmMemory.buffer.byteLength))),
      new Promise((ok) => setTimeout(() => ok(null), 1000)),
    ]).catch(() => null);
  const sizes = await Promise.all(page.workers().map(ask));
  const known = sizes.filter((n) => typeof n === 'number');
  return known.length ? Math.max(...known) : null;
}
