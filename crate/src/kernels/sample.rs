//! Token sampling on the GPU (shaders/sample.wgsl): only the chosen id is ever read back.

use super::{Batch, PipelineKey};
use crate::error::Error;

/// What the sampler writes instead of a token id when the logits hold NaN or +inf (the
/// reference rule's value; shaders/sample.wgsl's `NON_FINITE`).
pub use crate::reference::kernels::NON_FINITE_TOKEN;

/// Sampling rule. Greedy when `top_k == 1` or `temperature <= 0`. Otherwise: keep the `top_k`
/// most likely tokens (0 = all), then top-p and min-p (on temperature-1 probabilities, the order
/// llama.cpp applies them), then sample at `temperature` with the caller's uniform `u ∈ [0, 1)`:
/// the first candidate (sorted by logit desc, id asc) whose cumulative weight exceeds
/// `u · total`. With the whole vocabulary and no top-p, candidates are taken in id order (same
/// distribution, no sort). With `top_p < 1` and `top_k` of 0 or > 256, top-p is applied to the
/// 256 most likely tokens (the mass beyond them is negligible for language models).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleArgs {
    pub temperature: f32,
    pub top_k: u32,
    /// 1 = off.
    pub top_p: f32,
    /// 0 = off.
    pub min_p: f32,
    /// Uniform random number in [0, 1) from the caller's seeded RNG.
    pub u: f32,
}

impl Default for SampleArgs {
    fn default() -> Self {
        Self { temperature: 0.0, top_k: 1, top_p: 1.0, min_p: 0.0, u: 0.0 }
    }
}

/// The most candidates the top-k path keeps (one per invocation of the workgroup).
pub const MAX_TOP_K: u32 = 256;

/// Which branch of sample.wgsl a call takes, and its k.
pub(crate) fn plan(p: &SampleArgs, n_vocab: u32) -> (u32, u32) {
    let greedy = p.top_k == 1 || p.temperature.is_nan() || p.temperature <= 0.0 || n_vocab == 1;
    if greedy {
        return (0, 1);
    }
    let k = if p.top_k == 0 { n_vocab } else { p.top_k.min(n_vocab) };
    if k <= MAX_TOP_K {
        (1, k)
    } else if p.top_p < 1.0 {
        (1, MAX_TOP_K)
    } else {
        (2, n_vocab)
    }
}

/// Uniforms of shaders/sample.wgsl (`SampleParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct SampleParams {
    pub n_vocab: u32,
    pub row: u32,
    pub slot: u32,
    pub mode: u32,
    pub top_k: u32,
    pub temperature: f32,
    pub top_p: f32,
    pub min_p: f32,
    pub u: f32,
    pub _pad: [u32; 3],
}

impl Batch<'_> {
    /// Choose a token from row `row` of logits `[*, n_vocab]` f32 and write its id (u32) to
    /// `out_token[slot]`. See [`SampleArgs`] for the rule.
    pub fn sample(
        &mut self,
        logits: &wgpu::Buffer,
        row: u32,
        n_vocab: u32,
        p: &SampleArgs,
        out_token: &wgpu::Buffer,
        slot: u32,
    ) {
        if n_vocab == 0 || !(0.0..1.0).contains(&p.u) {
            return self
                .fail(Error::InvalidArgument(format!("sample: n_vocab {n_vocab}, u {} not in [0, 1)", p.u)));
        }
        let end = (row as u64 + 1) * n_vocab as u64;
        if end > u32::MAX as u64 {
            return self
                .fail(Error::InvalidArgument(format!("sample: row {row} of {n_vocab} logits is past 2^32")));
        }
        if !self.need("sample logits", logits, end * 4)
            || !self.need("sample out_token", out_token, (slot as u64 + 1) * 4)
        {
            return;
        }
        let (mode, k) = plan(p, n_vocab);
        let params = SampleParams {
            n_vocab,
            row,
            slot,
            mode,
            top_k: k,
            temperature: if p.temperature > 0.0 { p.temperature } else { 1.0 },
            top_p: p.top_p,
            min_p: p.min_p.max(0.0),
            u: p.u,
            _pad: [0; 3],
        };
        self.dispatch(PipelineKey::Sample, &params, &[(1, logits), (2, out_token)], (1, 1, 1));
    }
}
