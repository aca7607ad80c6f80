// Smoke test of the GPU side-by-side script (bench/gpu/run.sh) without a GPU: its dry run writes
// the benchmark model from the real model's header, runs `brasa bench` on whatever adapter there
// is (lavapipe) with tiny sizes, and compare.py puts it beside a llama-bench result (a real one,
// recorded on this kind of machine: bench/gpu/testdata/llama-bench-cpu.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, copyFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MODEL, repoRoot } from './helpers.mjs';

function brasaBinary() {
  for (const profile of ['release', 'debug']) {
    const dir = process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, 'target');
    const bin = path.join(dir, profile, 'brasa');
    if (existsSync(bin)) return bin;
  }
  throw new Error('no brasa binary: cargo build --features cli (npm test builds it)');
}

test('bench/gpu/run.sh --dry-run and compare.py', { timeout: 600_000 }, () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'brasa-gpu-out-'));
  const work = mkdtempSync(path.join(os.tmpdir(), 'brasa-gpu-work-'));
  try {
    // prettier-ignore
    execFileSync('bash', [
      path.join(repoRoot, 'bench/gpu/run.sh'), '--dry-run', '--brasa', brasaBinary(), '--like', MODEL,
      '--out', out, '--work', work, '--prompt-sizes', '8', '--decode-tokens', '2', '--depths', '0', '--reps', '1',
    ], { stdio: ['ignore', 'inherit', 'inherit'] });

    // The benchmark model keeps the real header byte for byte and the real length.
    const model = path.join(work, 'bench-model.gguf');
    const real = readFileSync(MODEL);
    const made = readFileSync(model);
    assert.equal(made.length, real.length);
    assert.equal(JSON.parse(readFileSync(path.join(out, 'brasa.json'))).model.file_bytes, real.length);
    assert.ok(made.subarray(0, 4096).equals(real.subarray(0, 4096)), 'header copied');
    assert.ok(!made.subarray(real.length - 4096).equals(real.subarray(real.length - 4096)), 'weights replaced');

    // brasa's figures from the tiny run.
    const brasa = JSON.parse(readFileSync(path.join(out, 'brasa.json')));
    assert.equal(brasa.prefill[0].tokens, 8);
    assert.ok(brasa.decode[0].tok_s.median > 0);

    // Beside a recorded llama-bench run: ratios are brasa / llama.cpp for matching sizes.
    const llama = JSON.parse(readFileSync(path.join(repoRoot, 'bench/gpu/testdata/llama-bench-cpu.json')));
    copyFileSync(path.join(repoRoot, 'bench/gpu/testdata/llama-bench-cpu.json'), path.join(out, 'llama-cpu.json'));
    const python = existsSync(path.join(repoRoot, '.venv/bin/python')) ? path.join(repoRoot, '.venv/bin/python') : 'python3';
    execFileSync(python, [path.join(repoRoot, 'bench/gpu/compare.py'), '--dir', out], { stdio: 'ignore' });
    const side = JSON.parse(readFileSync(path.join(out, 'side-by-side.json')));
    const peer = side.peers['llama.cpp CPU'];
    const tg = llama.find((r) => r.n_prompt === 0 && r.n_depth === 0);
    const want = brasa.decode[0].tok_s.median / tg.avg_ts;
    assert.ok(Math.abs(peer.ratios['decode@0'] - want) < 1e-3 * want, `${peer.ratios['decode@0']} vs ${want}`);
    assert.equal(peer.ratios['prefill@8'], undefined, 'no llama.cpp figure at 8 tokens: no ratio');
    assert.match(readFileSync(path.join(out, 'side-by-side.md'), 'utf8'), /decode at depth 0/);
    // lavapipe has timestamps inside passes: the per-kernel profile of decode and of the prefill.
    assert.equal(side.brasa_profile_prefill.batch, 8);
    assert.match(readFileSync(path.join(out, 'side-by-side.md'), 'utf8'), /brasa prefill of 8 tokens: .* us of GPU time per token/);
    // The prefill again on the other mat-mul tiling (lavapipe chose the register tiles).
    assert.match(brasa.gpu.description, /registers mat-mul tiles/);
    assert.match(side.brasa_other_tiling.kernels, /workgroup mat-mul tiles/);
    assert.ok(side.brasa_other_tiling.prefill['8'] > 0);
    assert.match(readFileSync(path.join(out, 'side-by-side.md'), 'utf8'), /prefill with .* against .*workgroup mat-mul tiles/);
    // And on the f16 tiles, which lavapipe's shader-f16 allows.
    assert.match(side.brasa_f16_tiles.kernels, /shader-f16 \(prefill mat-mul tiles\), workgroup-f16 mat-mul tiles/);
    assert.ok(side.brasa_f16_tiles.prefill['8'] > 0);
  } finally {
    rmSync(out, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
});
