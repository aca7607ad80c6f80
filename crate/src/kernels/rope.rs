//! Rotary position embedding (shaders/rope.wgsl).

use super::{Batch, PipelineKey, RopeMode};
use crate::error::Error;

/// Uniforms of shaders/rope.wgsl (`RopeParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct RopeParams {
    pub n_tokens: u32,
    pub n_heads: u32,
    pub head_dim: u32,
    pub n_rot: u32,
    pub pos0: u32,
    pub mode: u32,
    pub log2_base: f32,
    pub freq_scale: f32,
}

impl Batch<'_> {
    /// In-place RoPE on x: `[n_tokens, n_heads, head_dim]`. Token t is at position `pos0 + t`;
    /// pair i rotates by `pos · base^(-2i/n_rot) · freq_scale`; dims ≥ `n_rot` are untouched.
    #[allow(clippy::too_many_arguments)]
    pub fn rope(
        &mut self,
        x: &wgpu::Buffer,
        mode: RopeMode,
        n_tokens: u32,
        n_heads: u32,
        head_dim: u32,
        n_rot: u32,
        pos0: u32,
        base: f32,
        freq_scale: f32,
    ) {
        if n_rot == 0 || !n_rot.is_multiple_of(2) || n_rot > head_dim || base.is_nan() || base <= 0.0 {
            return self.fail(Error::InvalidArgument(format!(
                "rope: n_rot {n_rot} must be even, positive and <= head_dim {head_dim}; base {base} > 0"
            )));
        }
        let pairs = n_tokens as u64 * n_heads as u64 * (n_rot / 2) as u64;
        if pairs == 0 || !self.need("rope x", x, n_tokens as u64 * n_heads as u64 * head_dim as u64 * 4) {
            return;
        }
        let params = RopeParams {
            n_tokens,
            n_heads,
            head_dim,
            n_rot,
            pos0,
            mode: match mode {
                RopeMode::Neox => 0,
                RopeMode::Normal => 1,
            },
            log2_base: (base as f64).log2() as f32,
            freq_scale,
        };
        let (gx, gy) = match self.grid2(pairs.div_ceil(64)) {
            Ok(g) => g,
            Err(e) => return self.fail(e),
        };
        self.dispatch(PipelineKey::Rope, &params, &[(1, x)], (gx, gy, 1));
    }
}
