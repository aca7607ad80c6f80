//! The kernel self-test: every kernel — each block type, on the variants the device runs — on
//! random data and odd shapes, against the CPU reference (`reference::kernels`, f64), each
//! result measured against a stated error budget (the idea of llama.cpp's test-backend-ops).
//!
//! One suite, two targets: the native kernel tests (`crate/tests/kernels_*.rs`, lavapipe in CI)
//! run each [`Suite`] as one `#[test]`, and the browser runs the same suites through the wasm
//! `Engine.selfTest` (`tests/kernels.test.mjs`: Chromium and Firefox ESR), so every WebGPU
//! implementation is held to the same budgets. A user can run them on their own GPU the same way
//! (the npm engine's `selfTest()`).
//!
//! Nothing here asserts or panics: a [`Check`] is data (kernel, block type, shape, error,
//! budget), and an error while a suite runs (a GPU failure) ends that suite only, recorded as a
//! failed check.

mod attention;
mod attention_decode;
mod checks;
mod matmul;
mod ops;
mod oracle;
mod random;
mod sample;

pub use checks::{Check, Measure};
pub use matmul::cols_for;
pub use oracle::OracleRows;
pub use random::{random_weight, RandomWeight, Rng};

use crate::error::{Error, Result};
use crate::gpu::{GpuContext, GpuWeight, KernelVariants, MatmulTiling, OwnedBuffer};
use crate::kernels::{Batch, Kernels};
use crate::quant::QuantType;
use checks::Checks;

/// Weight parts are capped at this many bytes where a suite splits weights, so every weight of
/// more than a few dozen rows spans several buffers (as a large tensor does on a real device).
pub const SPLIT_PART_BYTES: u64 = 16 * 1024;

/// A group of checks: one native `#[test]` each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Suite {
    /// Mat-vec (one token) and tiled mat-mul (prefill) for every block type on split weights,
    /// into a plain output and into columns of a wider one.
    Matmul,
    /// The GLU mat-mul over stacked gate/up weights, every block type.
    MatmulGlu,
    /// The mat-vec that applies the residual update and norm to its input, every block type.
    MatvecNormed,
    /// Row slices of a split weight.
    MatmulRows,
    /// More rows in one weight part than a 1D grid of workgroups can cover.
    MatmulGrid2d,
    /// The largest prefill batch, 2048 tokens: the mat-mul on both tilings, and the attention.
    Batch2048,
    /// Embedding lookup, every block type, split weights.
    Embed,
    /// Rows the Python `gguf` package dequantized (given by the caller, see [`OracleRows`]),
    /// repacked, embedded and multiplied.
    GgufOracle,
    RmsNorm,
    AddNorm,
    /// q/k norms, RoPE and the K/V cache writes in one kernel.
    QkRope,
    Rope,
    /// Attention: GQA, sliding windows, positions, head dims 40 and 64.
    Attention,
    /// Attention at 4096 keys, head dim 256, strided queries, soft-capping.
    AttentionLong,
    /// A decoded token's norms, RoPE, cache writes and attention in one kernel, its keys split or
    /// not, over f32 and f16 caches.
    AttentionDecode,
    /// qk_rope and the prefill attention over an f16 cache.
    AttentionF16,
    /// Gated activations, adds and row copies.
    Elementwise,
    /// Greedy picks and their ties; rows with NaN or +inf get no pick in any mode.
    SampleGreedy,
    SampleTopK,
    SampleWholeVocab,
    SampleDistribution,
    Nll,
    /// Logit bias and repetition penalties.
    Penalties,
}

impl Suite {
    pub const ALL: [Suite; 23] = [
        Suite::Matmul,
        Suite::MatmulGlu,
        Suite::MatvecNormed,
        Suite::MatmulRows,
        Suite::MatmulGrid2d,
        Suite::Batch2048,
        Suite::Embed,
        Suite::GgufOracle,
        Suite::RmsNorm,
        Suite::AddNorm,
        Suite::QkRope,
        Suite::Rope,
        Suite::Attention,
        Suite::AttentionLong,
        Suite::AttentionDecode,
        Suite::AttentionF16,
        Suite::Elementwise,
        Suite::SampleGreedy,
        Suite::SampleTopK,
        Suite::SampleWholeVocab,
        Suite::SampleDistribution,
        Suite::Nll,
        Suite::Penalties,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Suite::Matmul => "matmul",
            Suite::MatmulGlu => "matmul_glu",
            Suite::MatvecNormed => "matvec_normed",
            Suite::MatmulRows => "matmul_rows",
            Suite::MatmulGrid2d => "matmul_grid2d",
            Suite::Batch2048 => "batch_2048",
            Suite::Embed => "embed",
            Suite::GgufOracle => "gguf_oracle",
            Suite::RmsNorm => "rms_norm",
            Suite::AddNorm => "add_norm",
            Suite::QkRope => "qk_rope",
            Suite::Rope => "rope",
            Suite::Attention => "attention",
            Suite::AttentionLong => "attention_long",
            Suite::AttentionDecode => "attention_decode",
            Suite::AttentionF16 => "attention_f16",
            Suite::Elementwise => "elementwise",
            Suite::SampleGreedy => "sample_greedy",
            Suite::SampleTopK => "sample_top_k",
            Suite::SampleWholeVocab => "sample_whole_vocab",
            Suite::SampleDistribution => "sample_distribution",
            Suite::Nll => "nll",
            Suite::Penalties => "penalties",
        }
    }

    /// Whether the suite runs the prefill mat-mul, whose [`crate::gpu::MatmulTiling`] the
    /// caller's variants choose (the f16 tiles only when asked for: tests run these suites
    /// again with them).
    pub fn has_tiling_variants(self) -> bool {
        matches!(
            self,
            Suite::Matmul
                | Suite::MatmulGlu
                | Suite::MatmulRows
                | Suite::MatmulGrid2d
                | Suite::Batch2048
                | Suite::GgufOracle
        )
    }

    /// Whether the suite runs a kernel that comes in [`crate::gpu::Reduction`] variants (so a
    /// second variant on the same adapter checks other code); the rest run the same pipelines
    /// in every variant. The native kernel tests check this against the pipelines each suite
    /// builds.
    pub fn has_reduction_variants(self) -> bool {
        matches!(
            self,
            Suite::Matmul
                | Suite::MatmulGlu
                | Suite::MatvecNormed
                | Suite::MatmulGrid2d
                | Suite::RmsNorm
                | Suite::AddNorm
                | Suite::QkRope
                | Suite::AttentionDecode
                | Suite::AttentionF16
        )
    }

    /// The suite of a [`Suite::name`].
    pub fn parse(name: &str) -> Result<Suite> {
        Suite::ALL.into_iter().find(|s| s.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Suite::ALL.iter().map(|s| s.name()).collect();
            Error::InvalidArgument(format!("unknown self-test suite {name:?} (one of {})", names.join(", ")))
        })
    }
}

/// The checks of a run on one device.
pub struct Report {
    /// The kernel variants the device ran.
    pub variants: KernelVariants,
    pub checks: Vec<Check>,
    pub seconds: f64,
}

impl Report {
    /// Whether every check is within its budget.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(Check::passed)
    }
}

/// Runs suites on one device, with the context's kernel variants or others it supports.
pub struct SelfTest<'a> {
    /// The caller's device, with the variants under test.
    ctx: GpuContext,
    kernels: &'a Kernels,
    /// The same, its weights split into parts of [`SPLIT_PART_BYTES`].
    split: GpuContext,
    /// The same with the other prefill mat-mul tiling: the mat-mul suites run their batches on
    /// both, whichever the device chose.
    other_tiling: GpuContext,
    oracle: &'a [OracleRows],
}

impl<'a> SelfTest<'a> {
    pub fn new(ctx: &GpuContext, kernels: &'a Kernels) -> Self {
        let split = ctx.with_max_binding_bytes(SPLIT_PART_BYTES);
        let other_tiling = ctx.with_matmul_tiling(other(ctx.variants.matmul));
        SelfTest { ctx: ctx.view(), kernels, split, other_tiling, oracle: &[] }
    }

    /// Test `variants` instead of the context's (on the same device and pipeline cache, so the
    /// pipelines that do not vary are built once); an error if the device lacks their features.
    pub fn with_variants(mut self, variants: KernelVariants) -> Result<Self> {
        self.ctx = self.ctx.with_variants(variants)?;
        self.split = self.ctx.with_max_binding_bytes(SPLIT_PART_BYTES);
        self.other_tiling = self.ctx.with_matmul_tiling(other(variants.matmul));
        Ok(self)
    }

    /// The rows [`Suite::GgufOracle`] checks (without them that suite fails: it has nothing to
    /// compare).
    pub fn with_oracle(mut self, rows: &'a [OracleRows]) -> Self {
        self.oracle = rows;
        self
    }

    /// Runs one suite. An error ends the suite and is recorded as a failed check.
    pub async fn run(&self, suite: Suite) -> Vec<Check> {
        let mut out = Checks::new(suite);
        let result = match suite {
            Suite::Matmul => matmul::matmul(self, &mut out).await,
            Suite::MatmulGlu => matmul::glu(self, &mut out).await,
            Suite::MatvecNormed => matmul::normed(self, &mut out).await,
            Suite::MatmulRows => matmul::rows(self, &mut out).await,
            Suite::MatmulGrid2d => matmul::grid2d(self, &mut out).await,
            Suite::Batch2048 => matmul::batch_2048(self, &mut out).await,
            Suite::Embed => matmul::embed(self, &mut out).await,
            Suite::GgufOracle => oracle::run(self, &mut out).await,
            Suite::RmsNorm => ops::rms_norm(self, &mut out).await,
            Suite::AddNorm => ops::add_norm(self, &mut out).await,
            Suite::QkRope => ops::qk_rope(self, &mut out).await,
            Suite::Rope => ops::rope(self, &mut out).await,
            Suite::Attention => attention::short(self, &mut out).await,
            Suite::AttentionLong => attention::long(self, &mut out).await,
            Suite::AttentionDecode => attention_decode::decode(self, &mut out).await,
            Suite::AttentionF16 => attention_decode::prefill_f16(self, &mut out).await,
            Suite::Elementwise => ops::elementwise(self, &mut out).await,
            Suite::SampleGreedy => sample::greedy(self, &mut out).await,
            Suite::SampleTopK => sample::top_k(self, &mut out).await,
            Suite::SampleWholeVocab => sample::whole_vocab(self, &mut out).await,
            Suite::SampleDistribution => sample::distribution(self, &mut out).await,
            Suite::Nll => sample::nll(self, &mut out).await,
            Suite::Penalties => sample::penalties(self, &mut out).await,
        };
        // Errors the device reports late (on the web, after the work that caused them).
        if let Err(e) = result.and_then(|_| self.ctx.check()) {
            out.failed(e);
        }
        out.into_vec()
    }

    /// Runs `suites` in order.
    pub async fn run_all(&self, suites: &[Suite]) -> Report {
        let t0 = web_time::Instant::now();
        let mut checks = Vec::new();
        for &s in suites {
            checks.extend(self.run(s).await);
        }
        Report { variants: self.ctx.variants, checks, seconds: t0.elapsed().as_secs_f64() }
    }

    // Helpers of the suites.

    fn batch(&self) -> Batch<'_> {
        self.kernels.batch(&self.ctx)
    }

    /// A batch whose mat-muls use the tiling the device did not choose.
    fn other_tiling_batch(&self) -> Batch<'_> {
        self.kernels.batch(&self.other_tiling)
    }

    /// The check name of the mat-mul (or its GLU form) under the device's tiling (`mine`) or
    /// the other one.
    fn matmul_name(&self, mine: bool, glu: bool) -> &'static str {
        let ctx = if mine { &self.ctx } else { &self.other_tiling };
        match (ctx.variants.matmul, glu) {
            (MatmulTiling::Registers, false) => "matmul",
            (MatmulTiling::Registers, true) => "matmul_glu",
            (MatmulTiling::Workgroup, false) => "matmul_wg",
            (MatmulTiling::Workgroup, true) => "matmul_wg_glu",
            (MatmulTiling::WorkgroupF16, false) => "matmul_wg16",
            (MatmulTiling::WorkgroupF16, true) => "matmul_wg16_glu",
        }
    }

    /// The error budget of a product of `n_tokens` tokens under the device's tiling (`mine`)
    /// or the other one: f16 tiles get [`matmul::F16_BUDGET`].
    fn product_budget(&self, n_tokens: usize, mine: bool) -> f64 {
        if n_tokens > 1 && self.f16_tiles(mine) {
            matmul::F16_BUDGET
        } else {
            matmul::BUDGET
        }
    }

    /// Whether the device's tiling (`mine`) or the other one keeps the mat-mul tiles in f16.
    fn f16_tiles(&self, mine: bool) -> bool {
        let ctx = if mine { &self.ctx } else { &self.other_tiling };
        ctx.variants.matmul == MatmulTiling::WorkgroupF16
    }

    fn f32_buffer(&self, data: &[f32]) -> Result<OwnedBuffer> {
        let b = self.ctx.storage_buffer("selftest f32", data.len() as u64 * 4)?;
        self.ctx.write_buffer(&b, 0, bytemuck::cast_slice(data))?;
        Ok(b)
    }

    fn u32_buffer(&self, data: &[u32]) -> Result<OwnedBuffer> {
        let b = self.ctx.storage_buffer("selftest u32", data.len() as u64 * 4)?;
        self.ctx.write_buffer(&b, 0, bytemuck::cast_slice(data))?;
        Ok(b)
    }

    fn zeros(&self, n: usize) -> Result<OwnedBuffer> {
        self.ctx.storage_buffer("selftest out", n as u64 * 4)
    }

    /// An F32 `[1, n]` weight holding `values` (norm weights, RoPE frequency factors).
    fn vector_weight(&self, name: &str, values: &[f32]) -> Result<GpuWeight> {
        let w = self.ctx.create_weight(name, QuantType::F32, 1, values.len() as u64)?;
        self.ctx.write_weight(&w, 0, bytemuck::cast_slice(values))?;
        Ok(w)
    }

    /// A random `[rows, cols]` weight of `ty` on the GPU (split into parts of
    /// [`SPLIT_PART_BYTES`] when `split`), uploaded in two uneven pieces so that writes straddle
    /// part boundaries; with its exact values.
    fn random_weight(
        &self,
        split: bool,
        ty: QuantType,
        rows: usize,
        cols: usize,
        rng: &mut Rng,
    ) -> Result<(GpuWeight, Vec<f32>)> {
        let ctx = if split { &self.split } else { &self.ctx };
        let rw = random_weight(ty, rows, cols, rng)?;
        let w = ctx.create_weight("selftest weight", ty, rows as u64, cols as u64)?;
        let cut = (rw.gpu.len() / 3) & !3;
        ctx.write_weight(&w, 0, &rw.gpu[..cut])?;
        ctx.write_weight(&w, cut as u64, &rw.gpu[cut..])?;
        Ok((w, rw.dense))
    }

    /// Reads the buffers back in one round trip (Firefox answers a map only every ~100 ms).
    async fn read(&self, buffers: &[(&wgpu::Buffer, usize)]) -> Result<Vec<Vec<f32>>> {
        let reads: Vec<(&wgpu::Buffer, u64)> = buffers.iter().map(|&(b, n)| (b, n as u64 * 4)).collect();
        let bytes = self.ctx.read_buffers(&reads).await?;
        Ok(bytes.iter().map(|b| bytemuck::pod_collect_to_vec::<u8, f32>(b)).collect())
    }

    async fn read_u32(&self, buffer: &wgpu::Buffer, n: usize) -> Result<Vec<u32>> {
        self.ctx.read_u32(buffer, 0, n as u64).await
    }
}

/// The prefill mat-mul tiling that is not `t`.
fn other(t: MatmulTiling) -> MatmulTiling {
    match t {
        MatmulTiling::Registers => MatmulTiling::Workgroup,
        MatmulTiling::Workgroup | MatmulTiling::WorkgroupF16 => MatmulTiling::Registers,
    }
}
