//! Logit bias and repetition penalties on the GPU (shaders/penalty.wgsl), applied to a row of
//! logits before [`Batch::sample`].

use super::{Batch, PipelineKey};
use crate::error::Error;

/// Repetition penalties as llama.cpp defines them (`penalty_repeat`, `penalty_freq`,
/// `penalty_present`). For each distinct id among the recent tokens, seen `c` times:
/// `l = l <= 0 ? l · repeat : l / repeat`, then `l -= c · frequency + presence`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Penalties {
    /// 1 = off.
    pub repeat: f32,
    /// 0 = off.
    pub frequency: f32,
    /// 0 = off.
    pub presence: f32,
}

impl Default for Penalties {
    fn default() -> Self {
        Penalties { repeat: 1.0, frequency: 0.0, presence: 0.0 }
    }
}

impl Penalties {
    pub fn is_off(&self) -> bool {
        self.repeat == 1.0 && self.frequency == 0.0 && self.presence == 0.0
    }
}

/// Uniforms of shaders/penalty.wgsl (`PenaltyParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct PenaltyParams {
    pub n_vocab: u32,
    pub row: u32,
    pub n_bias: u32,
    pub n_hist: u32,
    pub repeat: f32,
    pub frequency: f32,
    pub presence: f32,
    pub _pad: u32,
}

impl Batch<'_> {
    /// On row `row` of `logits [*, n_vocab]`: add the `n_bias` pairs of `bias` (`[id: u32,
    /// bias: f32 bits]`, distinct ids; ids ≥ n_vocab are ignored), then apply `p` for the first
    /// `n_hist` ids of `hist` (recent tokens in any order). `bias` and `hist` must hold at least
    /// one element even when their count is 0 (WebGPU has no empty bindings).
    #[allow(clippy::too_many_arguments)]
    pub fn penalize(
        &mut self,
        logits: &wgpu::Buffer,
        row: u32,
        n_vocab: u32,
        bias: &wgpu::Buffer,
        n_bias: u32,
        hist: &wgpu::Buffer,
        n_hist: u32,
        p: &Penalties,
    ) {
        if !(p.repeat > 0.0 && p.repeat.is_finite() && p.frequency.is_finite() && p.presence.is_finite()) {
            return self.fail(Error::InvalidArgument(format!("penalize: penalties {p:?}")));
        }
        let end = (row as u64 + 1) * n_vocab as u64;
        if n_vocab == 0
            || !self.need("penalize logits", logits, end * 4)
            || !self.need("penalize bias", bias, n_bias.max(1) as u64 * 8)
            || !self.need("penalize hist", hist, n_hist.max(1) as u64 * 4)
        {
            return;
        }
        if n_bias == 0 && (n_hist == 0 || p.is_off()) {
            return;
        }
        let params = PenaltyParams {
            n_vocab,
            row,
            n_bias,
            n_hist: if p.is_off() { 0 } else { n_hist },
            repeat: p.repeat,
            frequency: p.frequency,
            presence: p.presence,
            _pad: 0,
        };
        self.dispatch(PipelineKey::Penalty, &params, &[(1, logits), (2, bias), (3, hist)], (1, 1, 1));
    }
}
