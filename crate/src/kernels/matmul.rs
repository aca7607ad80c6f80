//! Matrix × activations for every block format: shaders/matvec.wgsl for one token (decode, the
//! LM head), shaders/matmul.wgsl for a batch (prefill), each composed with a quant include.

use super::{Activation, Batch, MatmulOut, MatvecIn, PipelineKey};
use crate::error::Error;
use crate::gpu::GpuWeight;
use crate::quant::QuantType;

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
    pub write_x: u32,
    pub has_post: u32,
    pub eps: f32,
    pub _pad: [u32; 2],
}

/// The input of a one-token mat-vec that applies the previous block's residual update and this
/// block's input norm itself (shaders/input/add_norm.wgsl), instead of reading a normed vector
/// that an `add_norm` dispatch wrote: `v = x + (post_w ? rms_norm(o) · post_w : o)`, input
/// `rms_norm(v) · norm_w` — the same as [`Batch::add_norm`] — and, when `write_x`, `v` stored
/// in `x_out`. All are `[1, n]` (weights F32 `[1, n]`).
pub struct NormedInput<'a> {
    pub x: &'a wgpu::Buffer,
    pub o: &'a wgpu::Buffer,
    pub post_w: Option<&'a GpuWeight>,
    pub norm_w: &'a GpuWeight,
    pub x_out: &'a wgpu::Buffer,
    pub write_x: bool,
    pub eps: f32,
}

/// Where in a wider output a mat-mul writes: y is `[n_tokens, stride]` and the weight's rows go
/// to columns `col0 ..` of each token's row (the q, k and v projections into one `qkv` buffer).
#[derive(Clone, Copy, Debug)]
pub struct OutCols {
    pub stride: u64,
    pub col0: u64,
}

/// What the mat-mul kernels read: a buffer of activations, or a vector still to update and norm.
#[derive(Clone, Copy)]
enum Input<'a> {
    Plain(&'a wgpu::Buffer),
    Normed(&'a NormedInput<'a>),
}

/// Widest vector the normed input holds in workgroup memory: 3584 floats (14 KiB) leave room for
/// the reductions within WebGPU's default 16 KiB.
pub const MAX_NORMED_INPUT: u64 = 3584;

/// Rows and tokens per workgroup in matmul.wgsl and matmul_workgroup.wgsl (`RPW`, `TPW`).
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

    /// As [`Self::matmul`], writing columns `cols.col0 .. cols.col0 + w.rows` of y
    /// `[n_tokens, cols.stride]`.
    pub fn matmul_cols(
        &mut self,
        w: &GpuWeight,
        x: &wgpu::Buffer,
        y: &wgpu::Buffer,
        n_tokens: u32,
        cols: OutCols,
    ) {
        self.matmul_out(w, Input::Plain(x), y, n_tokens, 0, w.rows, MatmulOut::Plain, Some(cols));
    }

    /// The gated feed-forward input in one dispatch: `y[t, i] = act(gate_i · x_t) · (up_i · x_t)`
    /// for `i < w.rows / 2`, where `w` is a stacked gate/up weight (`model::stacked`: rows in
    /// quads gate 2j, gate 2j + 1, up 2j, up 2j + 1; its parts start at multiples of 4 rows).
    /// x: `[n_tokens, w.cols]`; y: `[n_tokens, w.rows / 2]`.
    pub fn matmul_glu(
        &mut self,
        w: &GpuWeight,
        x: &wgpu::Buffer,
        y: &wgpu::Buffer,
        n_tokens: u32,
        act: Activation,
    ) {
        self.matmul_out(w, Input::Plain(x), y, n_tokens, 0, w.rows, MatmulOut::Glu(act), None);
    }

    /// One token: `y = W · input` (or the GLU of a stacked gate/up weight, `out`), where the
    /// input is the residual update and norm of [`NormedInput`], applied inside the mat-vec.
    /// `w.cols` ≤ [`MAX_NORMED_INPUT`]. With `cols`, a plain output goes to those columns of a
    /// wider y (as [`Self::matmul_cols`]).
    pub fn matvec_normed(
        &mut self,
        w: &GpuWeight,
        input: &NormedInput,
        y: &wgpu::Buffer,
        out: MatmulOut,
        cols: Option<OutCols>,
    ) {
        let n = w.cols;
        if n > MAX_NORMED_INPUT {
            return self.fail(Error::InvalidArgument(format!(
                "matvec_normed {:?}: {n} columns, more than {MAX_NORMED_INPUT}",
                w.name
            )));
        }
        for nw in input.post_w.iter().copied().chain([input.norm_w]) {
            if nw.ty != QuantType::F32 || nw.rows != 1 || nw.cols != n || nw.parts.len() != 1 {
                return self.fail(Error::InvalidArgument(format!(
                    "matvec_normed norm weight {:?} must be F32 [1, {n}]",
                    nw.name
                )));
            }
        }
        let bufs = [input.x, input.o, input.x_out, y];
        if bufs.iter().enumerate().any(|(i, a)| bufs[i + 1..].contains(a)) {
            return self
                .fail(Error::InvalidArgument("matvec_normed: x, o, x_out and y must be distinct".into()));
        }
        for (what, b) in [("x", input.x), ("o", input.o), ("x_out", input.x_out)] {
            if !self.need(what, b, n * 4) {
                return;
            }
        }
        self.matmul_out(w, Input::Normed(input), y, 1, 0, w.rows, out, cols);
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
        self.matmul_out(w, Input::Plain(x), y, n_tokens, row_begin, row_end, MatmulOut::Plain, None);
    }

    /// Rows `row_begin..row_end` of W against the tokens, written as `out` says: y is
    /// `[n_tokens, row_end - row_begin]`, or half as wide for the GLU, or (plain only) the
    /// columns `cols` says of a wider y.
    #[allow(clippy::too_many_arguments)]
    fn matmul_out(
        &mut self,
        w: &GpuWeight,
        input: Input,
        y: &wgpu::Buffer,
        n_tokens: u32,
        row_begin: u64,
        row_end: u64,
        out: MatmulOut,
        cols: Option<OutCols>,
    ) {
        if row_begin >= row_end || row_end > w.rows || n_tokens == 0 {
            return self.fail(Error::InvalidArgument(format!(
                "matmul {:?}: rows {row_begin}..{row_end} of {} with {n_tokens} tokens",
                w.name, w.rows
            )));
        }
        let x = match input {
            Input::Plain(x) => x,
            Input::Normed(i) => i.x,
        };
        if x == y {
            return self
                .fail(Error::InvalidArgument(format!("matmul {:?}: x and y are the same buffer", w.name)));
        }
        let quads = |r: u64| r.is_multiple_of(4);
        if matches!(out, MatmulOut::Glu(_))
            && (!quads(row_begin) || !quads(row_end) || w.parts.iter().any(|p| !quads(p.first_row)))
        {
            return self.fail(Error::InvalidArgument(format!(
                "GLU mat-mul {:?}: rows {row_begin}..{row_end} or its parts do not start at multiples of 4",
                w.name
            )));
        }
        let out_cols = row_end - row_begin;
        let n = n_tokens as u64;
        let cols = cols.unwrap_or(OutCols { stride: out_cols, col0: 0 });
        if cols.col0 + out_cols > cols.stride || (matches!(out, MatmulOut::Glu(_)) && cols.stride != out_cols)
        {
            return self.fail(Error::InvalidArgument(format!(
                "matmul {:?}: {out_cols} rows into columns {}.. of rows of {}",
                w.name, cols.col0, cols.stride
            )));
        }
        let y_elems = match out {
            MatmulOut::Plain => n * cols.stride,
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
                y_stride: cols.stride as u32,
                y_col0: (cols.col0 + lo - row_begin) as u32,
                // Only the first part's dispatch stores the updated residual stream.
                write_x: matches!(input, Input::Normed(i) if i.write_x && lo == row_begin) as u32,
                has_post: matches!(input, Input::Normed(i) if i.post_w.is_some()) as u32,
                eps: match input {
                    Input::Normed(i) => i.eps,
                    Input::Plain(_) => 0.0,
                },
                _pad: [0; 2],
            };
            let reduction = self.ctx.variants.reduction;
            let (key, rows_per_wg, gz) = if let Input::Normed(i) = input {
                let key = PipelineKey::Matvec(
                    w.ty,
                    reduction,
                    out,
                    MatvecIn::AddNorm { len: w.cols.next_multiple_of(8) as u32 },
                );
                let post = i.post_w.unwrap_or(i.norm_w);
                let bindings = [
                    (1, &*part.buffer),
                    (2, i.x),
                    (3, y),
                    (4, i.o),
                    (5, &*post.parts[0].buffer),
                    (6, &*i.norm_w.parts[0].buffer),
                    (7, i.x_out),
                ];
                let (gx, gy) = match self.grid2((hi - lo).div_ceil(MATVEC_ROWS_PER_WG)) {
                    Ok(g) => g,
                    Err(e) => return self.fail(e),
                };
                self.dispatch(key, &params, &bindings, (gx, gy, 1));
                // Every workgroup reads the norm vectors (a few KiB): counted once, as the
                // workgroups after the first find them in cache.
                let norms = i.norm_w.row_bytes + i.post_w.map_or(0, |p| p.row_bytes);
                self.weight_read((hi - lo) * w.row_bytes + norms);
                continue;
            } else if n_tokens == 1 {
                (PipelineKey::Matvec(w.ty, reduction, out, MatvecIn::Plain), MATVEC_ROWS_PER_WG, 1)
            } else {
                let gz = n_tokens.div_ceil(MATMUL_TOKENS_PER_WG);
                (PipelineKey::Matmul(w.ty, out, self.ctx.variants.matmul), MATMUL_ROWS_PER_WG, gz)
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
