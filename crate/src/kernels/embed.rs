//! Embedding lookup for every block format (shaders/embed.wgsl + a quant include).

use super::{Batch, PipelineKey};
use crate::error::Error;
use crate::gpu::GpuWeight;

/// Uniforms of shaders/embed.wgsl (`EmbedParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct EmbedParams {
    pub cols: u32,
    pub row_words: u32,
    pub part_row0: u32,
    pub part_rows: u32,
    pub total_rows: u32,
    pub zero_invalid: u32,
    pub scale: f32,
    pub _pad: u32,
}

impl Batch<'_> {
    /// `out[t, :] = dequant(W row tokens[t]) * scale` for `t < n_tokens`. tokens: `[n_tokens]`
    /// u32; out: `[n_tokens, w.cols]` f32. Token ids ≥ `w.rows` give a zero row.
    pub fn embed(
        &mut self,
        w: &GpuWeight,
        tokens: &wgpu::Buffer,
        out: &wgpu::Buffer,
        n_tokens: u32,
        scale: f32,
    ) {
        if n_tokens == 0 {
            return;
        }
        let max_dim = self.ctx.limits.max_compute_workgroups_per_dimension;
        if n_tokens > max_dim {
            return self.fail(Error::InvalidArgument(format!(
                "embed {:?}: {n_tokens} tokens in one call (at most {max_dim})",
                w.name
            )));
        }
        let n = n_tokens as u64;
        if !self.need("embed tokens", tokens, n * 4) || !self.need("embed out", out, n * w.cols * 4) {
            return;
        }
        let gx = w.cols.div_ceil(8 * 64) as u32;
        // One row per token, whichever part holds it.
        self.weight_read(n * w.row_bytes);
        for (i, part) in w.parts.iter().enumerate() {
            let params = EmbedParams {
                cols: w.cols as u32,
                row_words: (w.row_bytes / 4) as u32,
                part_row0: part.first_row as u32,
                part_rows: part.rows as u32,
                total_rows: w.rows as u32,
                zero_invalid: (i == 0) as u32,
                scale,
                _pad: 0,
            };
            self.dispatch(
                PipelineKey::Embed(w.ty),
                &params,
                &[(1, &part.buffer), (2, tokens), (3, out)],
                (gx, n_tokens, 1),
            );
        }
    }
}
