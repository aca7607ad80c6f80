#!/usr/bin/env node
// Browser benchmark, side by side: brasa (WebGPU) and the peer @wllama/wllama (llama.cpp in wasm,
// all cores; and its WebGPU mode) on the same GGUF, in the same headless Chromium, on localhost.
//
//   npm run bench:browser -- --model PATH [--json out.json] [--prompt-tokens 64] [--decode-tokens 16]
//     [--reps 3] [--runtimes brasa,wllama-cpu,wllama-webgpu] [--verbose]
//
// Each repetition of each runtime starts Chromium with a fresh profile: a cold load (empty
// caches) and a greedy generation in one page, then a warm load (the runtime's own cache) in a
// second page. The prompt is the start of tests/reference/texts/en.txt cut to --prompt-tokens
// tokens (the GGUF's tokenizer, BOS included); every runtime gets the same text and is asked for
// exactly --decode-tokens tokens. Prints a table on stdout (logs on stderr); --json writes every
// repetition, the per-figure median/min/max, the greedy texts and the environment.
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot, startServer } from './lib/server.mjs';
import { launchContext, newPage } from './lib/browser.mjs';
import { brasaCutPrompt, brasaGenerate, brasaLoad } from './lib/bench-brasa.mjs';
import { wllamaGenerate, wllamaLoad, wllamaWasmMemory } from './lib/bench-wllama.mjs';
import { processPeaks, sampleJsHeap } from './lib/bench-measure.mjs';
import { FIGURES, environment, summarizeRuntime, table } from './lib/bench-report.mjs';

const USAGE = `usage: bench-browser.mjs --model PATH [--json OUT] [--prompt-tokens N] [--decode-tokens N] [--reps N]
       [--runtimes brasa,wllama-cpu,wllama-webgpu] [--verbose]`;
const PROMPT_TEXT = path.join(repoRoot, 'tests/reference/texts/en.txt');
const MODEL_URL = '/bench/model.gguf';

/** The runtimes: how each loads, generates and reports its wasm memory. */
const RUNTIMES = {
  brasa: {
    load: (page) => brasaLoad(page, { modelUrl: MODEL_URL }),
    generate: (page, job) => brasaGenerate(page, job),
    wasmMemory: (page) => page.evaluate(async () => (await import('/pkg/index.js')).wasmMemoryBytes()),
  },
  'wllama-cpu': {
    load: (page, { nCtx }) => wllamaLoad(page, { modelUrl: MODEL_URL, gpu: false, nCtx }),
    generate: (page, job) => wllamaGenerate(page, job),
    wasmMemory: wllamaWasmMemory,
  },
  'wllama-webgpu': {
    load: (page, { nCtx }) => wllamaLoad(page, { modelUrl: MODEL_URL, gpu: true, nCtx }),
    generate: (page, job) => wllamaGenerate(page, job),
    wasmMemory: wllamaWasmMemory,
  },
};

function parse() {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      json: { type: 'string' },
      'prompt-tokens': { type: 'string', default: '64' },
      'decode-tokens': { type: 'string', default: '16' },
      reps: { type: 'string', default: '3' },
      runtimes: { type: 'string', default: Object.keys(RUNTIMES).join(',') },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const fail = (msg) => {
    console.error(`bench-browser: ${msg}\n${USAGE}`);
    process.exit(2);
  };
  if (values.help) {
    console.error(USAGE);
    process.exit(0);
  }
  if (!values.model) fail('--model is required');
  if (!existsSync(values.model)) fail(`no such file: ${values.model}`);
  if (!existsSync(path.join(repoRoot, 'pkg/wasm/brasa_bg.wasm'))) fail('pkg/wasm/ is missing: run scripts/build-wasm.sh');
  const int = (name) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n <= 0) fail(`--${name} must be a positive integer`);
    return n;
  };
  const runtimes = values.runtimes.split(',').filter(Boolean);
  for (const r of runtimes) if (!RUNTIMES[r]) fail(`unknown runtime ${r} (known: ${Object.keys(RUNTIMES).join(', ')})`);
  return {
    model: path.resolve(values.model),
    json: values.json && path.resolve(values.json),
    promptTokens: int('prompt-tokens'),
    decodeTokens: int('decode-tokens'),
    reps: int('reps'),
    runtimes,
    verbose: Boolean(values.verbose),
  };
}

const say = (line) => process.stderr.write(`bench-browser: ${line}\n`);

/** Runs `fn(page)` in a fresh Chromium profile, then removes the profile. */
async function withProfile(server, log, fn) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'brasa-bench-'));
  const context = await launchContext(dir);
  try {
    return await fn(() => newPage(context, `${server.url}/__blank`, log), context);
  } finally {
    await context.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** The prompt: en.txt cut to `tokens` tokens by brasa's tokenizer (the GGUF's). */
async function preparePrompt(server, log, tokens) {
  const text = readFileSync(PROMPT_TEXT, 'utf8');
  return withProfile(server, log, async (open) => {
    const page = await open();
    await brasaLoad(page, { modelUrl: MODEL_URL });
    // ~4 characters per token in English: 16 per token is plenty to cut from.
    return brasaCutPrompt(page, { text: text.slice(0, tokens * 16), tokens });
  });
}

/** One repetition: cold load + generation in one page, warm load in a second one. */
async function repetition(server, log, runtime, job) {
  const isModel = (p) => p === MODEL_URL;
  return withProfile(server, log, async (open, context) => {
    const rep = {};
    let page = await open();
    server.traffic.reset();
    const heap = await sampleJsHeap(page);
    const loaded = await runtime.load(page, job);
    rep.cold_load_s = loaded.load_s;
    rep.cold_model_bytes = server.traffic.bytes(isModel);
    rep.cold_total_bytes = server.traffic.bytes();
    rep.wasm_memory_load_bytes = await runtime.wasmMemory(page);
    const gen = await runtime.generate(page, job);
    rep.js_heap_peak_bytes = await heap.stop();
    rep.wasm_memory_peak_bytes = await runtime.wasmMemory(page);
    const peaks = await processPeaks(context);
    rep.renderer_peak_rss_bytes = peaks.renderer;
    rep.gpu_process_peak_rss_bytes = peaks.gpu;
    Object.assign(rep, gen, { load: loaded });
    await page.close();

    page = await open();
    server.traffic.reset();
    rep.warm_load_s = (await runtime.load(page, job)).load_s;
    rep.warm_model_bytes = server.traffic.bytes(isModel);
    rep.warm_total_bytes = server.traffic.bytes();
    await page.close();
    return rep;
  });
}

async function main() {
  const args = parse();
  const started = performance.now();
  const log = args.verbose ? (line) => process.stderr.write(`${line}\n`) : () => {};
  const server = await startServer({ files: { [MODEL_URL]: args.model } });
  const doc = {
    schema: 'brasa-bench-browser/1',
    ...environment(),
    model: { file: path.basename(args.model), bytes: (await fs.stat(args.model)).size },
    config: { prompt_tokens: args.promptTokens, decode_tokens: args.decodeTokens, reps: args.reps, runtimes: args.runtimes },
    units: Object.fromEntries(FIGURES.map(([k, unit, label, how]) => [k, { unit, label, how }])),
    runtimes: {},
    warnings: [],
  };
  try {
    say(`cutting the prompt to ${args.promptTokens} tokens`);
    const prompt = await preparePrompt(server, log, args.promptTokens);
    if (prompt.tokens !== args.promptTokens) doc.warnings.push(`the prompt has ${prompt.tokens} tokens, not ${args.promptTokens}`);
    // Room for the prompt and the generated tokens, the same for every runtime.
    const nCtx = Math.max(128, Math.ceil((prompt.tokens + args.decodeTokens + 8) / 64) * 64);
    Object.assign(doc.config, { prompt: prompt.prompt, prompt_tokens_brasa: prompt.tokens, n_ctx: nCtx });
    const job = { prompt: prompt.prompt, decodeTokens: args.decodeTokens, ctxSize: nCtx, nCtx };

    for (const name of args.runtimes) {
      const reps = [];
      try {
        for (let i = 1; i <= args.reps; i++) {
          say(`${name}: repetition ${i}/${args.reps}`);
          const rep = await repetition(server, log, RUNTIMES[name], job);
          say(`${name}: cold load ${rep.cold_load_s.toFixed(2)} s, warm ${rep.warm_load_s.toFixed(2)} s, ` +
            `prefill ${rep.prefill_tok_s?.toFixed(2)} tok/s, decode ${rep.decode_tok_s?.toFixed(2)} tok/s: ${JSON.stringify(rep.text)}`);
          reps.push(rep);
        }
        const { load } = reps[0];
        doc.runtimes[name] = { ...summarizeRuntime(reps), adapter: load.adapter, reps };
        if ('ran_on_gpu' in load) {
          Object.assign(doc.runtimes[name], { ran_on_gpu: reps.every((r) => r.load.ran_on_gpu), threads: load.threads, multithread: load.multithread });
        }
      } catch (e) {
        say(`${name} failed: ${e.stack ?? e}`);
        doc.runtimes[name] = { error: String(e.message ?? e).split('\n')[0], reps };
      }
    }
  } finally {
    await server.close();
  }
  checks(doc, args);
  doc.wall_s = (performance.now() - started) / 1000;
  process.stdout.write(`${table(doc)}\nwall time ${doc.wall_s.toFixed(0)} s\n`);
  if (args.json) {
    await fs.writeFile(args.json, JSON.stringify(doc, null, 2) + '\n');
    say(`wrote ${args.json}`);
  }
  if (Object.values(doc.runtimes).some((r) => r.error)) process.exit(1);
}

/** Cross-runtime checks that only warn: token counts, lengths, what ran on the GPU. */
function checks(doc, args) {
  const want = doc.config.prompt_tokens_brasa;
  for (const [name, r] of Object.entries(doc.runtimes)) {
    for (const rep of r.reps ?? []) {
      if (rep.prompt_tokens !== want) doc.warnings.push(`${name} counted ${rep.prompt_tokens} prompt tokens, brasa ${want}`);
      if (rep.generated_tokens !== args.decodeTokens) {
        doc.warnings.push(`${name} generated ${rep.generated_tokens} tokens, not ${args.decodeTokens} (finish: ${rep.finish})`);
      }
    }
    if (r.ran_on_gpu === false && name.endsWith('webgpu')) {
      const f16 = r.adapter?.shader_f16 ? '' : ' (the adapter has no shader-f16)';
      doc.warnings.push(`${name} did not run on the GPU${f16}: llama.cpp fell back to its CPU backend`);
    }
  }
  doc.warnings = [...new Set(doc.warnings)];
}

main().catch((e) => {
  console.error(`bench-browser: ${e.stack ?? e}`);
  process.exit(1);
});
