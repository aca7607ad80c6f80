//! Shared helpers of the kernel tests: a GPU context per kernel variant, and running a suite of
//! the kernel self-test (brasa::selftest) on each.
#![allow(dead_code)]

use brasa::gpu::{GpuContext, GpuOptions, KernelVariants, MatmulTiling, OwnedBuffer, VariantRequest};
use brasa::kernels::Kernels;
use brasa::selftest::{Check, OracleRows, SelfTest, Suite};
use std::sync::OnceLock;

/// Weight parts are capped at this many bytes in the "split" context, so every weight of more
/// than a few dozen rows is spread over several buffers (the self-test's own split).
pub const SMALL_BINDING: u64 = brasa::selftest::SPLIT_PART_BYTES;

pub struct Gpu {
    pub ctx: GpuContext,
    pub kernels: Kernels,
}

fn make(opts: GpuOptions) -> Option<Gpu> {
    match pollster::block_on(GpuContext::new(opts)) {
        Ok(ctx) => {
            let kernels = Kernels::new(&ctx).expect("kernels");
            eprintln!("GPU: {}", ctx.describe());
            Some(Gpu { ctx, kernels })
        }
        Err(e) => {
            if std::env::var("BRASA_SKIP_GPU_TESTS").as_deref() == Ok("1") {
                eprintln!("SKIPPED (BRASA_SKIP_GPU_TESTS=1): no GPU: {e}");
                None
            } else {
                panic!(
                    "no GPU adapter for the kernel tests: {e}\n\
                     Install a Vulkan driver (apt-get install mesa-vulkan-drivers gives lavapipe) \
                     or set BRASA_SKIP_GPU_TESTS=1 to skip them explicitly."
                )
            }
        }
    }
}

/// One context per kernel variant the adapter runs: the best it offers (what users get; the
/// environment variable BRASA_VARIANTS can restrict or require variants), then the baseline
/// (workgroup-memory reductions, no f16) unless that is the same. Empty when skipped.
fn make_all(max_binding_bytes: Option<u64>) -> Vec<Gpu> {
    let Some(best) = make(GpuOptions { max_binding_bytes, ..Default::default() }) else {
        return Vec::new();
    };
    let mut all = vec![best];
    if all[0].ctx.variants != KernelVariants::BASELINE {
        let opts = GpuOptions { max_binding_bytes, variants: VariantRequest::BASELINE, ..Default::default() };
        all.extend(make(opts));
    }
    all
}

/// A context per kernel variant (see [`make_all`]), with the device's own binding limit.
pub fn gpus() -> &'static [Gpu] {
    static G: OnceLock<Vec<Gpu>> = OnceLock::new();
    G.get_or_init(|| make_all(None))
}

/// A context per kernel variant whose weights are split into parts of at most
/// [`SMALL_BINDING`] bytes.
pub fn gpus_split() -> &'static [Gpu] {
    static G: OnceLock<Vec<Gpu>> = OnceLock::new();
    G.get_or_init(|| make_all(Some(SMALL_BINDING)))
}

/// The context with the device's own binding limit and its best variants (None: skipped, see
/// BRASA_SKIP_GPU_TESTS).
pub fn gpu() -> Option<&'static Gpu> {
    gpus().first()
}

/// The best-variant context whose weights are split (see [`gpus_split`]).
pub fn gpu_split() -> Option<&'static Gpu> {
    gpus_split().first()
}

impl Gpu {
    /// Which variants this context runs, for test messages.
    pub fn variant(&self) -> String {
        format!("{:?}", self.ctx.variants)
    }
    pub fn f32_buffer(&self, data: &[f32]) -> OwnedBuffer {
        let b = self.ctx.storage_buffer("test f32", (data.len() as u64 * 4).max(4)).unwrap();
        self.ctx.write_buffer(&b, 0, bytemuck::cast_slice(data)).unwrap();
        b
    }
    pub fn zeros(&self, n: usize) -> OwnedBuffer {
        self.ctx.storage_buffer("test out", (n as u64 * 4).max(4)).unwrap()
    }
    pub fn read_f32(&self, b: &wgpu::Buffer, n: usize) -> Vec<f32> {
        pollster::block_on(self.ctx.read_f32(b, 0, n as u64)).unwrap()
    }
}

/// The contexts and variants a suite runs on: each context's own, and for the suites of the
/// prefill mat-mul ([`Suite::has_tiling_variants`]) also the f16 tiles where the device has
/// `shader-f16` (never chosen by default, see brasa::gpu::variants).
fn variant_runs(suite: Suite) -> Vec<(&'static Gpu, KernelVariants)> {
    let mut runs: Vec<_> = gpus().iter().map(|g| (g, g.ctx.variants)).collect();
    if let Some(best) = gpus().first().filter(|g| g.ctx.variants.f16 && suite.has_tiling_variants()) {
        runs.push((best, KernelVariants { matmul: MatmulTiling::WorkgroupF16, ..best.ctx.variants }));
    }
    runs
}

/// Runs `suite` of the kernel self-test (brasa::selftest, the same cases the browser runs) on
/// every variant context and fails with every check over its budget. Returns the checks.
pub fn check_suite(suite: Suite) -> Vec<Check> {
    check_suite_with(suite, &[])
}

/// [`check_suite`] with the rows [`Suite::GgufOracle`] compares.
pub fn check_suite_with(suite: Suite, oracle: &[OracleRows]) -> Vec<Check> {
    let mut all = Vec::new();
    for (g, variants) in variant_runs(suite) {
        // Its own pipeline cache, to see which pipelines the suite builds.
        let kernels = Kernels::new(&g.ctx).expect("kernels");
        let test = SelfTest::new(&g.ctx, &kernels).with_variants(variants).expect("variants");
        let checks = pollster::block_on(test.with_oracle(oracle).run(suite));
        let keys = kernels.pipeline_keys();
        assert_eq!(
            keys.iter().any(|k| k.reduction().is_some()),
            suite.has_reduction_variants(),
            "{}: has_reduction_variants() disagrees with the pipelines it built: {keys:?}",
            suite.name()
        );
        let failed: Vec<String> = checks.iter().filter(|c| !c.passed()).map(|c| c.to_string()).collect();
        let worst = checks
            .iter()
            .filter(|c| c.budget > 0.0)
            .max_by(|a, b| (a.error / a.budget).total_cmp(&(b.error / b.budget)));
        let variant = format!("{variants:?}");
        eprintln!("variant {variant}: {} checks, {} over budget", checks.len(), failed.len());
        if let Some(w) = worst {
            eprintln!("  closest to its budget: {w}");
        }
        assert!(
            failed.is_empty(),
            "variant {variant}: {} of {} checks failed:\n{}",
            failed.len(),
            checks.len(),
            failed.join("\n")
        );
        assert!(!checks.is_empty(), "suite {} checked nothing", suite.name());
        all.extend(checks);
    }
    all
}
