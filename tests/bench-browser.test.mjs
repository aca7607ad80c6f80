// Smoke test of the browser benchmark (scripts/bench-browser.mjs) with tiny sizes, so that it
// keeps working: every runtime loads cold and warm, generates, and the JSON has sane figures.
// The two tokenizers (brasa's and llama.cpp's inside wllama) must agree on the prompt's length.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { MODEL, repoRoot, requireInputs } from './helpers.mjs';

const PROMPT_TOKENS = 8;
const DECODE_TOKENS = 4;

test('bench:browser runs brasa and wllama (CPU and WebGPU mode) side by side', { timeout: 600_000 }, async () => {
  requireInputs();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'brasa-bench-test-'));
  const out = path.join(dir, 'bench.json');
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['scripts/bench-browser.mjs', '--model', MODEL, '--json', out, '--reps', '1',
        '--prompt-tokens', String(PROMPT_TOKENS), '--decode-tokens', String(DECODE_TOKENS)],
      { cwd: repoRoot, timeout: 540_000 },
    );
    console.error(stdout);
    const doc = JSON.parse(await fs.readFile(out, 'utf8'));
    const { size } = await fs.stat(MODEL);

    assert.equal(doc.schema, 'brasa-bench-browser/1');
    assert.match(doc.chromium ?? '', /Chrom/);
    assert.match(doc.brasa_commit ?? '', /^[0-9a-f]{40}$/);
    assert.ok(doc.machine.nproc >= 1);
    assert.equal(doc.model.bytes, size);
    assert.equal(doc.config.prompt_tokens_brasa, PROMPT_TOKENS);
    assert.deepEqual(Object.keys(doc.runtimes), ['brasa', 'wllama-cpu', 'wllama-webgpu']);
    for (const [name, r] of Object.entries(doc.runtimes)) {
      assert.equal(r.error, undefined, `${name} failed: ${r.error}`);
      const f = (key) => r.figures[key]?.median;
      assert.ok(r.text.length > 0, `${name}: empty text`);
      assert.equal(f('prompt_tokens'), PROMPT_TOKENS, `${name}: prompt tokens`);
      assert.ok(f('generated_tokens') >= 1 && f('generated_tokens') <= DECODE_TOKENS, `${name}: generated tokens`);
      assert.equal(f('cold_model_bytes'), size, `${name}: a cold load fetches the whole model once`);
      assert.equal(f('warm_model_bytes'), 0, `${name}: a warm load fetches no model bytes`);
      for (const key of ['cold_load_s', 'warm_load_s', 'ttft_s', 'prefill_tok_s', 'decode_tok_s', 'wasm_memory_load_bytes']) {
        assert.ok(f(key) > 0, `${name}: ${key} = ${f(key)}`);
      }
      assert.ok(f('wasm_memory_peak_bytes') >= f('wasm_memory_load_bytes'), `${name}: wasm memory only grows`);
      assert.equal(r.reps.length, 1);
    }
    // wllama asked for exactly DECODE_TOKENS (ignore_eos); its WebGPU mode says whether it ran there.
    assert.equal(doc.runtimes['wllama-cpu'].figures.generated_tokens.median, DECODE_TOKENS);
    const webgpu = doc.runtimes['wllama-webgpu'];
    assert.equal(typeof webgpu.ran_on_gpu, 'boolean');
    assert.equal(typeof webgpu.adapter.shader_f16, 'boolean');
    assert.equal(doc.runtimes['wllama-cpu'].ran_on_gpu, false, 'n_gpu_layers 0 must not offload');
    assert.match(stdout, /load, cold/);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
