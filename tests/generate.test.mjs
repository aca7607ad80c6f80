// Greedy generation and perplexity in Chromium (WebGPU on SwiftShader without a GPU) and Firefox
// ESR (its own WebGPU implementation, validating WGSL with naga, on lavapipe), compared with
// llama.cpp's own results for the same model (tests/reference/, see its README.md).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BROWSERS, repoRoot, setUp } from './helpers.mjs';
import { runInPage } from '../scripts/lib/page-run.mjs';

const REF = path.join(repoRoot, 'tests/reference');
const refJson = (name) => JSON.parse(readFileSync(path.join(REF, 'gemma-3-270m-q4_k_m', name), 'utf8'));
const refChat = JSON.parse(readFileSync(path.join(REF, 'chat-templates.json'), 'utf8'));

for (const engine of BROWSERS) {
  describe(engine, () => {
    let env;
    before(async () => {
      env = await setUp({}, { engine });
    });
    after(async () => env?.close());

    test('greedy generation matches llama.cpp where its choice is clear', async () => {
      const greedy = refJson('greedy.json');
      const ref = greedy.runs[greedy.primary_run].prompts.find((p) => p.prompt === 'def fibonacci(n):');
      assert.ok(ref, 'reference prompt missing from greedy.json');
      // llama.cpp's own kernel options change its greedy choice where the top-2 logits are close
      // (README: compare up to the first step whose margin is below ~1 logit).
      const stable = ref.steps.findIndex((s) => s.margin < 1.0);
      assert.ok(stable >= 3, `expected a few clear steps, got ${stable}`);
      const r = await env.page.evaluate(
        async ({ prompt, maxTokens }) => {
          const brasa = await import('/pkg/index.js');
          const engine = await brasa.createGpuEngine();
          const model = await brasa.loadModel(engine, '/model.gguf');
          const session = new brasa.Session(engine, model, 128);
          const streamed = [];
          const s = await session.generate(prompt, { maxTokens, temperature: 0, topK: 1 }, (t) => {
            streamed.push(t);
          });
          // Free GPU memory before the next test loads the model again.
          session.free();
          model.free();
          const gpu = engine.gpuInfo();
          engine.free();
          const offersSubgroups = (await navigator.gpu.requestAdapter()).features.has('subgroups');
          return { ...s, tokens: Array.from(s.tokens), streamed, gpu, offersSubgroups };
        },
        { prompt: ref.prompt, maxTokens: stable },
      );
      const pieces = r.streamed;
      console.error(`GPU: ${r.gpu}`);
      assert.match(r.gpu, /kernels: (subgroup|workgroup-memory) reductions/, 'gpuInfo names the kernel variants');
      // Where the adapter offers subgroups (Chromium), the model runs the subgroup kernels
      // (pkg/core.js requests the feature; wgpu 30 does not), here and in the perplexity tests
      // below; Firefox has none and runs the baseline.
      assert.match(r.gpu, r.offersSubgroups ? /kernels: subgroup reductions/ : /kernels: workgroup-memory reductions/);
      console.error(`generated ${JSON.stringify(r.text)}: prefill ${r.prefillTokS.toFixed(2)} tok/s, decode ${r.decodeTokS.toFixed(2)} tok/s`);
      assert.equal(r.promptTokens, ref.prompt_ids.length, 'prompt tokens (BOS included)');
      assert.deepEqual(r.tokens, ref.generated_ids.slice(0, stable));
      assert.equal(r.generatedTokens, stable);
      assert.equal(r.finish, 'length');
      // The streamed pieces add up to the returned text, which llama.cpp's text starts with.
      assert.equal(pieces.join(''), r.text);
      assert.ok(ref.generated_text.startsWith(r.text), `${JSON.stringify(r.text)} is not a prefix of llama.cpp's text`);
    });

    test('logit bias and repetition penalties are applied on the GPU; bad values are typed errors; chat template', async () => {
      const chatCase = refChat.cases[1];
      const r = await env.page.evaluate(async (chatMessages) => {
        const brasa = await import('/pkg/index.js');
        const engine = await brasa.createGpuEngine();
        const model = await brasa.loadModel(engine, '/model.gguf');
        const chat = model.applyChatTemplate(chatMessages, true);
        const session = new brasa.Session(engine, model, 128);
        const prompt = 'one, two, one, two, one, two,';
        const run = async (params) => {
          session.reset();
          const s = await session.generate(prompt, { maxTokens: 6, temperature: 0, topK: 1, ...params }, () => true);
          return Array.from(s.tokens);
        };
        const forced = await run({ logitBias: { 1000: 100 } });
        const plain = await run({});
        const banned = await run({ maxTokens: 1, logitBias: { [plain[0]]: -Infinity } });
        const penalized = await run({ repetitionPenalty: 1.5, frequencyPenalty: 0.7, presencePenalty: 0.4, penaltyLastN: 16 });
        let error = null;
        try {
          await run({ topP: 0 });
        } catch (e) {
          error = e.code;
        }
        session.free();
        model.free();
        engine.free();
        return { forced, plain, banned, penalized, error, chat };
      }, chatCase.messages);
      // gemma-3-270m has no template: the built-in Gemma one, as llama.cpp's built-in renders it.
      assert.equal(r.chat, refChat.builtin.gemma[1]);
      assert.deepEqual(r.forced, [1000, 1000, 1000, 1000, 1000, 1000]);
      assert.notEqual(r.banned[0], r.plain[0], 'a -Infinity bias bans the greedy token');
      assert.notDeepEqual(r.penalized, r.plain, 'penalties change a repetitive continuation');
      assert.equal(r.error, 'invalid_argument');
    });

    // llama-perplexity -c 128 --chunks 2 on the reference texts (perplexity_ctx128.json: the short
    // context keeps this within CI time on an emulated GPU, where each text takes minutes). The
    // native tests run all three whole texts (crate/tests/model_llamacpp.rs); here each browser
    // runs its share of them, so that together they cover all three: Chromium (SwiftShader, about
    // 4 times slower) en, Firefox zh and code. BRASA_PPL_TEXTS=en,zh,code picks the texts instead.
    const ppl128 = refJson('perplexity_ctx128.json');
    const share = { chromium: 'en', firefox: 'zh,code' };
    const pplTexts = (process.env.BRASA_PPL_TEXTS ?? share[engine] ?? 'en,zh,code').split(',').filter(Boolean);
    for (const name of pplTexts) {
      const ref = ppl128.texts[name];
      assert.ok(ref, `no ctx-128 reference for ${name}`);
      // Two budgets (tests/reference/README.md): against llama.cpp's f32_dequantized run, which
      // computes in f32 as brasa does, only summation order differs: 0.1 %. Against its default run,
      // its 8-bit activations alone move these short-context figures by up to 2.9 %: 3.5 %.
      test(`perplexity of ${name}.txt (ctx 128, 2 chunks) matches llama.cpp`, async () => {
        const f32 = ref.runs.f32_dequantized.final_ppl;
        const quantized = ref.runs.default.final_ppl;
        const text = readFileSync(path.join(REF, 'texts', `${name}.txt`), 'utf8');
        const result = await runInPage(env.page, {
          modelUrl: '/model.gguf',
          perplexityText: text,
          ctxSize: ppl128.n_ctx,
          chunks: ppl128.chunks,
          // An f32 K/V cache, as the f32 run compared with (the engine's default is f16).
          kvCache: 'f32',
        });
        const rel = (want) => Math.abs(result.ppl - want) / want;
        console.error(
          `${name}: perplexity ${result.ppl.toFixed(4)}; llama.cpp f32 ${f32} (${(rel(f32) * 100).toFixed(3)}% apart), ` +
            `default ${quantized} (${(rel(quantized) * 100).toFixed(2)}% apart)`,
        );
        assert.equal(result.chunks, ppl128.chunks);
        assert.ok(rel(f32) < 0.001, `perplexity ${result.ppl} vs llama.cpp f32 ${f32}`);
        assert.ok(rel(quantized) < 0.035, `perplexity ${result.ppl} vs llama.cpp default ${quantized}`);
      });
    }
  });
}
