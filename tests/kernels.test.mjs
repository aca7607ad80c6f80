// Every kernel in the browser: the kernel self-test (crate/src/selftest/, the same suites, cases
// and budgets as the native kernel tests on lavapipe) run through the wasm `Engine.selfTest` in
// Chromium (WebGPU on SwiftShader: subgroups, no f16) and Firefox ESR (its own WebGPU on
// lavapipe, validating WGSL with naga: f16, no subgroups), on every kernel variant the adapter
// offers: the best (what users get) and, where that is not the baseline, the forced baseline;
// where the adapter has shader-f16 (Firefox), the prefill mat-mul suites again on f16 tiles.
// Each check compares a kernel's output with the f64 CPU reference (and the gguf package's
// dequantized rows, target/test-data/quant) by its stated error budget. Chromium's subgroups reach the
// kernels only because pkg/core.js requests them (wgpu 30 does not): checked here too.
//
// The self-test is not in the shipped wasm (it would add 8–9%): this test serves the build made by
// `scripts/build-wasm.sh --selftest` in place of pkg/wasm/. The gguf package's rows are generated,
// never committed (scripts/setup.sh --test writes them; here they are written if missing).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { BROWSERS, repoRoot, setUp } from './helpers.mjs';

const SELFTEST_WASM = path.join(repoRoot, 'target/wasm-selftest');
const QUANT_DATA = 'target/test-data/quant';

/** Writes target/test-data/quant (scripts/gen_quant_testdata.py) unless it is there, complete. */
function ensureQuantData() {
  if (existsSync(path.join(repoRoot, QUANT_DATA, '.complete'))) return;
  const python = path.join(repoRoot, '.venv/bin/python');
  if (!existsSync(python)) throw new Error(`${QUANT_DATA} is missing: run scripts/setup.sh --test`);
  const r = spawnSync(python, ['scripts/gen_quant_testdata.py', '--out', QUANT_DATA], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`scripts/gen_quant_testdata.py failed: ${r.stdout}${r.stderr}`);
}
const TYPES = ['F32', 'F16', 'BF16', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'];

for (const engine of BROWSERS) {
  describe(engine, () => {
    let env;
    before(async () => {
      if (!existsSync(path.join(SELFTEST_WASM, 'brasa_bg.wasm'))) {
        throw new Error(`${SELFTEST_WASM} is missing: run scripts/build-wasm.sh --selftest`);
      }
      ensureQuantData();
      const files = Object.fromEntries(
        ['brasa.js', 'brasa_bg.wasm'].map((f) => [`/pkg/wasm/${f}`, path.join(SELFTEST_WASM, f)]),
      );
      env = await setUp(files, { engine });
    });
    after(async () => env?.close());

    test('every kernel, block type and variant is within its error budget', async () => {
      const r = await env.page.evaluate(async (dir) => {
        const brasa = await import('/pkg/core.js');
        // The gguf package's rows (scripts/gen_quant_testdata.py), as the native test reads them.
        const get = async (url) => {
          const res = await fetch(url);
          if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
          return res;
        };
        const fetchBytes = async (url) => new Uint8Array(await (await get(url)).arrayBuffer());
        const index = await (await get(`${dir}/index.txt`)).text();
        const oracle = [];
        for (const line of index.split('\n').filter((l) => l.trim() && !l.startsWith('#'))) {
          const [name, type, , cols] = line.trim().split(/\s+/);
          const values = new Float32Array((await fetchBytes(`${dir}/${name}.f32`)).buffer);
          oracle.push({ name, type, cols: Number(cols), file: await fetchBytes(`${dir}/${name}.bin`), values });
        }
        const adapter = await navigator.gpu.requestAdapter();
        const offersSubgroups = adapter.features.has('subgroups');
        const runs = [];
        // The best variants (what users get): every suite.
        const gpu = await brasa.createGpuEngine();
        runs.push({ info: gpu.gpuInfo(), ...(await gpu.selfTest({ oracle })) });
        // Then the baseline on the same device if the best used subgroups: the suites whose
        // kernels differ between the two (the others would run the very same pipelines again).
        // The 2D-grid suite's subject is the dispatch grid, the same code in both, and it costs
        // ~11 s per run on SwiftShader (65536 workgroups, twice): it runs once.
        if (runs[0].variants.reduction === 'subgroup') {
          const suites = brasa
            .selfTestSuites()
            .filter((s) => s.reductionVariants && s.name !== 'matmul_grid2d')
            .map((s) => s.name);
          runs.push({ suites, ...(await gpu.selfTest({ suites, variants: 'nosubgroups' })) });
        }
        // The f16 mat-mul tiles, which run only when asked for: the suites of the prefill
        // mat-mul but the two largest (their grid and batch code is the f32 tiles' own).
        if (adapter.features.has('shader-f16')) {
          const suites = brasa
            .selfTestSuites()
            .filter((s) => s.tilingVariants && !['matmul_grid2d', 'batch_2048'].includes(s.name))
            .map((s) => s.name);
          runs.push({ suites, f16: true, ...(await gpu.selfTest({ suites, oracle, variants: 'wgmatmul,f16' })) });
        }
        const features = gpu.gpuDetails().features;
        gpu.free();
        // Variants can still be forced: the baseline on a device that offers subgroups, and
        // subgroups where the adapter has none is an error.
        const forced = await brasa.createGpuEngine('nosubgroups');
        const forcedVariants = forced.gpuDetails().variants;
        forced.free();
        const mustHave = await brasa.createGpuEngine('subgroups').then(
          (e) => (e.free(), 'created'),
          (e) => e.code,
        );
        const suites = brasa.selfTestSuites().map((s) => s.name);
        return { offersSubgroups, runs, suites, features, forcedVariants, mustHave };
      }, `/${QUANT_DATA}`);
      const brasaSuites = r.suites;

      for (const run of r.runs) {
        const failed = run.checks.filter((c) => !c.passed);
        const suites = new Set(run.checks.map((c) => c.suite));
        console.error(
          `${engine} ${JSON.stringify(run.variants)}: ${run.checks.length} checks in ${suites.size} suites, ` +
            `${failed.length} over budget, ${run.seconds.toFixed(1)} s`,
        );
        // The check closest to its budget in each suite: how much margin the budgets leave here.
        const closest = new Map();
        for (const c of run.checks.filter((c) => c.budget > 0)) {
          const prev = closest.get(c.suite);
          if (!prev || c.error / c.budget > prev.error / prev.budget) closest.set(c.suite, c);
        }
        for (const c of closest.values()) {
          console.error(`  ${c.suite}: ${c.kernel} ${c.type ?? ''} [${c.shape}] ${c.measure} ${c.error.toExponential(2)} / ${c.budget}`);
        }
        const describe = (c) => `${c.suite} ${c.kernel} ${c.type ?? ''} [${c.shape}]: ${c.measure} ${c.error} > ${c.budget} ${c.detail}`;
        assert.deepEqual(failed.map(describe), [], `${engine} ${JSON.stringify(run.variants)}: checks over budget`);
        assert.deepEqual([...suites], run.suites ?? brasaSuites, 'every suite asked for ran');
        // Mat-vec (decode) for every block type, plain, into columns, GLU and with a normed
        // input; mat-mul (prefill) and embedding too where the run has them.
        const kernels = run.f16
          ? ['matmul_wg16', 'matmul_cols', 'matmul_wg16_glu']
          : ['matvec', 'matvec_cols', 'matvec_glu', 'matvec_normed'];
        // Both prefill tilings run in every full run, whichever the device chose.
        if (!run.suites) kernels.push('matmul', 'matmul_wg', 'matmul_cols', 'matmul_glu', 'matmul_wg_glu', 'embed');
        for (const type of TYPES) {
          for (const kernel of kernels) {
            assert.ok(run.checks.some((c) => c.type === type && c.kernel === kernel), `${kernel} ${type} was checked`);
          }
        }
        if (!run.suites) {
          assert.ok(run.checks.filter((c) => c.suite === 'gguf_oracle' && c.kernel === 'matmul').length >= 10, 'gguf oracle rows');
        }
      }
      // Chromium's adapter offers subgroups: the best run uses the subgroup kernels (wgpu does not
      // request the feature itself; pkg/core.js does), and the baseline runs as well.
      const reductions = r.runs.filter((run) => !run.f16).map((run) => run.variants.reduction);
      const f16Runs = r.runs.filter((run) => run.f16);
      assert.equal(f16Runs.length, r.features.includes('shader_f16') ? 1 : 0, 'an f16 tile run where the device has f16');
      for (const run of f16Runs) assert.equal(run.variants.matmul, 'workgroup-f16');
      assert.deepEqual(reductions, r.offersSubgroups ? ['subgroup', 'workgroup'] : ['workgroup']);
      if (r.offersSubgroups) assert.match(r.runs[0].info, /kernels: subgroup reductions/);
      assert.equal(r.features.includes('subgroup'), r.offersSubgroups, `device features ${r.features}`);
      assert.equal(r.forcedVariants.reduction, 'workgroup');
      // Both browsers run on a CPU emulator here (SwiftShader, lavapipe): the register tiles.
      assert.equal(r.runs[0].variants.matmul, 'registers', 'an emulator gets the register mat-mul tiles');
      assert.equal(r.mustHave, r.offersSubgroups ? 'created' : 'gpu_unavailable');
    });
  });
}
