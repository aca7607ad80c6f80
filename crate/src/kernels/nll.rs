//! Per-position negative log-likelihood (shaders/nll.wgsl), for perplexity without reading
//! logits back.

use super::{Batch, PipelineKey};

/// Uniforms of shaders/nll.wgsl (`NllParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct NllParams {
    pub n_rows: u32,
    pub n_vocab: u32,
    pub _pad: [u32; 2],
}

impl Batch<'_> {
    /// `out[t] = logsumexp(logits[t, :]) - logits[t, targets[t]]` for `t < n_rows`.
    /// logits: `[n_rows, n_vocab]` f32; targets: `[n_rows]` u32; out: `[n_rows]` f32 (-1, which no
    /// log-likelihood can be, where a target is out of range).
    pub fn nll(
        &mut self,
        logits: &wgpu::Buffer,
        targets: &wgpu::Buffer,
        out: &wgpu::Buffer,
        n_rows: u32,
        n_vocab: u32,
    ) {
        let rows = n_rows as u64;
        if rows == 0
            || n_vocab == 0
            || !self.need("nll logits", logits, rows * n_vocab as u64 * 4)
            || !self.need("nll targets", targets, rows * 4)
            || !self.need("nll out", out, rows * 4)
        {
            return;
        }
        let (gx, gy) = match self.grid2(rows) {
            Ok(g) => g,
            Err(e) => return self.fail(e),
        };
        let params = NllParams { n_rows, n_vocab, _pad: [0; 2] };
        self.dispatch(PipelineKey::Nll, &params, &[(1, logits), (2, targets), (3, out)], (gx, gy, 1));
    }
}
