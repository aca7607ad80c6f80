//! Shared helpers of the kernel tests: a GPU context per test binary, uploads and readback,
//! a deterministic RNG, random weights in GPU layout with their exact dense values, and the
//! normalized-error check.
#![allow(dead_code)]

pub mod blocks;

use brasa::gpu::{GpuContext, GpuOptions, KernelVariants, VariantRequest};
use brasa::kernels::Kernels;
use std::sync::OnceLock;

/// Weight parts are capped at this many bytes in the "split" context, so every weight of more
/// than a few dozen rows is spread over several buffers.
pub const SMALL_BINDING: u64 = 16 * 1024;

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
    pub fn f32_buffer(&self, data: &[f32]) -> wgpu::Buffer {
        let b = self.ctx.storage_buffer("test f32", (data.len() as u64 * 4).max(4)).unwrap();
        self.ctx.write_buffer(&b, 0, bytemuck::cast_slice(data)).unwrap();
        b
    }
    pub fn u32_buffer(&self, data: &[u32]) -> wgpu::Buffer {
        let b = self.ctx.storage_buffer("test u32", (data.len() as u64 * 4).max(4)).unwrap();
        self.ctx.write_buffer(&b, 0, bytemuck::cast_slice(data)).unwrap();
        b
    }
    pub fn zeros(&self, n: usize) -> wgpu::Buffer {
        self.ctx.storage_buffer("test out", (n as u64 * 4).max(4)).unwrap()
    }
    pub fn read_f32(&self, b: &wgpu::Buffer, n: usize) -> Vec<f32> {
        pollster::block_on(self.ctx.read_f32(b, 0, n as u64)).unwrap()
    }
    pub fn read_u32(&self, b: &wgpu::Buffer, n: usize) -> Vec<u32> {
        pollster::block_on(self.ctx.read_u32(b, 0, n as u64)).unwrap()
    }
}

/// splitmix64: small, deterministic, good enough for test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    pub fn byte(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }
    /// Uniform in [lo, hi).
    pub fn f32(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32)
    }
    pub fn vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.f32(lo, hi)).collect()
    }
}

/// Assert `max |got - want| / max |want| <= budget` (the normalized error of llama.cpp's
/// test-backend-ops), reporting the worst element.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], budget: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0f64, |a, &b| a.max((b as f64).abs())).max(1e-30);
    let (mut worst, mut at) = (0f64, 0usize);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let e = if g.is_finite() { (g as f64 - w as f64).abs() } else { f64::INFINITY };
        if e > worst || !e.is_finite() {
            worst = e;
            at = i;
            if !e.is_finite() {
                break;
            }
        }
    }
    let norm = worst / scale;
    assert!(
        norm <= budget,
        "{what}: normalized error {norm:.3e} > budget {budget:.1e} (element {at}: got {}, want {}; max |want| {scale:.4})",
        got[at],
        want[at]
    );
}
