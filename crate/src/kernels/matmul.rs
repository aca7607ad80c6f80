//! Matrix × activations for every block format: shaders/matvec.wgsl for one token (decode, the
//! LM head), shaders/matmul.wgsl for a batch (prefill), each composed with a quant include.

use super::{Activation, Batch, MatmulOut, PipelineKey};
use crate::error::Error;
use crate::gpu::GpuWeight;

/// Uniforms of shaders/matmul.wgsl and shaders/matvec.wgsl (`MatmulParams`).
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

/// Rows and tokens per workgroup in matmul.wgsl (`RPW`, `TPW`).
const MATMUL_ROWS_PER_WG: u64 = 64;
const MATMUL_TOKENS_PER_WG: u32 = 64;
/// Rows per workgroup in matvec.wgsl (`RPW`).
const MATVEC_ROWS_PER_WG: u64 = 64;

impl Batch<'_> {
    /// `y[t, r] = Σ_k W[r, k] · x[t, k]` for `t < n_tokens`, `r < w.rows`.
    /// x: `[n_tokens, w.cols]` f32; y: `[n_tokens, w.rows]` f32. Any block format, split weights,
    /// any number of rows. One token takes the mat-vec kernel; more take the register-tiled
    /// kernel, which reuses each dequantized weight group for 8 tokens and each x group for 8 rows.
    pub fn matmul(&mut self, w: &GpuWeight, x: &wgpu::Buffer, y: &wgpu::Buffer, n_tokens: u32) {
        self.matmul_rows(w, x, y, n_tokens, 0, w.rows);
    }

    /// The gated feed-forward input in one dispatch: `y[t, i] = act(gate_i · x_t) · (up_i · x_t)`
    /// for `i < w.rows / 2`, where `w` is a stacked gate/up weight (`model::stacked`: rows in
    /// quads gate 2j, gate 2j + 1, up 2j, up 2j + 1; its parts start at multiples of 4 rows).
    /// x: `[n_tokens, w.cols]`; y: `[n_tokens, w.rows / 2]`.
    pub fn matmul_glu(&mut self, w: &GpuWeight, x: &wgpu::Buffer, y: &wgpu::Buffer, n_tokens: u32, act: Activation) {
        if !w.rows.is_multiple_of(4) || w.parts.iter().any(|p| !p.first_row.is_multiple_of(4)) {
            return self.fail(Error::InvalidArgument(format!(
                "matmul_glu {:?}: {} rows in parts that do not start at multiples of 4 rows",
                w.name, w.rows
            )));
        }
        self.matmul_out(w, x, y, n_tokens, 0, w.rows, MatmulOut::Glu(act));
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
        self.matmul_out(w, x, y, n_tokens, row_begin, row_end, MatmulOut::Plain);
    }

    /// Rows `row_begin..row_end` of W against the tokens, written as `out` says: y is
    /// `[n_tokens, row_end - row_begin]`, or half as wide for the GLU.
    #[allow(clippy::too_many_arguments)]
    fn matmul_out(
        &mut self,
        w: &GpuWeight,
        x: &wgpu::Buffer,
        y: &wgpu::Buffer,
        n_tokens: u32,
        row_begin: u64,
        row_end: u64,
        out: MatmulOut,
    ) {
        if row_begin >= row_end || row_end > w.rows || n_tokens == 0 {
            return self.fail(Error::InvalidArgument(format!(
                "matmul {:?}: rows {row_begin}..{row_end} of {} with {n_tokens} tokens",
                w.name, w.rows
            )));
        }
        if x == y {
            return self
                .fail(Error::InvalidArgument(format!("matmul {:?}: x and y are the same buffer", w.name)));
        }
        let out_cols = row_end - row_begin;
        let n = n_tokens as u64;
        let y_elems = match out {
            MatmulOut::Plain => n * out_cols,
            MatmulOut::Glu(_) => n * out_cols / 2,
        };
        if !self.need("matmul x", x, n * w.cols * 4) || !self.need("matmul y", y, y_elems * 4) {
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
            let (key, rows_per_wg, gz) = if n_tokens == 1 {
                (PipelineKey::Matvec(w.ty, self.ctx.variants.reduction, out), MATVEC_ROWS_PER_WG, 1)
            } else {
                let gz = n_tokens.div_ceil(MATMUL_TOKENS_PER_WG);
                (PipelineKey::Matmul(w.ty, out), MATMUL_ROWS_PER_WG, gz)
            };
            let (gx, gy) = match self.grid2((hi - lo).div_ceil(rows_per_wg)) {
                Ok(g) => g,
                Err(e) => return self.fail(e),
            };
            self.dispatch(key, &params, &[(1, &part.buffer), (2, x), (3, y)], (gx, gy, gz));
            // Each block of tokens (gz) loads the rows again.
            self.weight_read((hi - lo) * w.row_bytes * gz as u64);
        }
    }
}
