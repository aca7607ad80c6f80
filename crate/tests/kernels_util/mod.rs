//! Shared helpers of the kernel tests: a GPU context per kernel variant, and running a suite of
//! the kernel self-test (brasa::selftest) on each.
#![allow(dead_code)]

use brasa::gpu::{GpuContext, GpuOptions, KernelVariants, OwnedBuffer, VariantRequest};
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

/// Runs `suite` of the kernel self-test (brasa::selftest, the same cases the browser runs) on
/// every variant context and fails with every check over its budget. Returns the checks.
pub fn check_suite(suite: Suite) -> Vec<Check> {
    check_suite_with(suite, &[])
}

/// [`check_suite`] with the rows [`Suite::GgufOracle`] compares.
pub fn check_suite_with(suite: Suite, oracle: &[OracleRows]) -> Vec<Check> {
    let mut all = Vec::new();
    for g in gpus() {
        // Its own pipeline cache, to see which pipelines the suite builds.
        let kernels = Kernels::new(&g.ctx).expect("kernels");
        let checks = pollster::block_on(SelfTest::new(&g.ctx, &kernels).with_oracle(oracle).run(suite));
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
        eprintln!("variant {}: {} checks, {} over budget", g.variant(), checks.len(), failed.len());
        if let Some(w) = worst {
            eprintln!("  closest to its budget: {w}");
        }
        assert!(
            failed.is_empty(),
            "variant {}: {} of {} checks failed:\n{}",
            g.variant(),
            failed.len(),
            checks.len(),
            failed.join("\n")
        );
        assert!(!checks.is_empty(), "suite {} checked nothing", suite.name());
        all.extend(checks);
    }
    all
}
