//! Matrix × activations for every block format (shaders/matmul.wgsl + a quant include).

use super::{Batch, PipelineKey};
use crate::error::Error;
use crate::gpu::GpuWeight;

/// Uniforms of shaders/matmul.wgsl (`MatmulParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct MatmulParams {
    pub rows: u32,
    pub cols: u32,
    pub row_words: u32,
    pub w_row0: u32,
    pub n_tokens: u32,
    pub y_stride: u32,
    pub y_col0: u32,
    pub _pad: u32,
}

/// Rows per workgroup and tokens per tile in matmul.wgsl.
const ROWS_PER_WG: u64 = 8;
const TOKENS_PER_TILE: u32 = 8;

impl Batch<'_> {
    /// `y[t, r] = Σ_k W[r, k] · x[t, k]` for `t < n_tokens`, `r < w.rows`.
    /// x: `[n_tokens, w.cols]` f32; y: `[n_tokens, w.rows]` f32. Any block format, split weights,
    /// any number of rows. Each dequantized weight group is reused for a tile of 8 tokens.
    pub fn matmul(&mut self, w: &GpuWeight, x: &wgpu::Buffer, y: &wgpu::Buffer, n_tokens: u32) {
        self.matmul_rows(w, x, y, n_tokens, 0, w.rows);
    }

    /// As [`Self::matmul`] for rows `row_begin..row_end` of W only; y: `[n_tokens, row_end -
    /// row_begin]` (e.g. an LM head computed in slices into a bounded logits buffer).
    pub fn matmul_rows(
        &mut self,
        w: &GpuWeight,
        x: &wgpu::Buffer,
        y: &wgpu::Buffer,
        n_tokens: u32,
        row_begin: u64,
        row_end: u64,
    ) {
        if row_begin >= row_end || row_end > w.rows || n_tokens == 0 {
            return self.fail(Error::InvalidArgument(format!(
                "matmul {:?}: rows {row_begin}..{row_end} of {} with {n_tokens} tokens",
                w.name, w.rows
            )));
        }
        if x == y {
            return self.fail(Error::InvalidArgument(format!(
                "matmul {:?}: x and y are the same buffer",
                w.name
            )));
        }
        let out_cols = row_end - row_begin;
        let n = n_tokens as u64;
        if !self.need("matmul x", x, n * w.cols * 4) || !self.need("matmul y", y, n * out_cols * 4)
        {
            return;
        }
        for part in &w.parts {
            let lo = row_begin.max(part.first_row);
            let hi = row_end.min(part.first_row + part.rows);
            if lo >= hi {
                continue;
            }
            let params = MatmulParams {
                rows: (hi - lo) as u32,
                cols: w.cols as u32,
                row_words: (w.row_bytes / 4) as u32,
                w_row0: (lo - part.first_row) as u32,
                n_tokens,
                y_stride: out_cols as u32,
                y_col0: (lo - row_begin) as u32,
                _pad: 0,
            };
            let (gx, gy) = match self.grid2((hi - lo).div_ceil(ROWS_PER_WG)) {
                Ok(g) => g,
                Err(e) => return self.fail(e),
            };
            let gz = n_tokens.div_ceil(TOKENS_PER_TILE);
            self.dispatch(
                PipelineKey::Matmul(w.ty),
                &params,
                &[(1, &part.buffer), (2, x), (3, y)],
                (gx, gy, gz),
            );
        }
    }
}
