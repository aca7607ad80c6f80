//! Residual add fused with the RMS norms around it (shaders/add_norm.wgsl).

use super::{Batch, PipelineKey};
use crate::error::Error;
use crate::gpu::GpuWeight;
use crate::quant::QuantType;

/// Uniforms of shaders/add_norm.wgsl (`AddNormParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct AddNormParams {
    pub n: u32,
    pub n_rows: u32,
    pub eps: f32,
    pub _pad: u32,
}

impl Batch<'_> {
    /// For each row `r < n_rows` of `n = norm_w.cols` f32:
    /// `x[r] += post_w.map_or(o[r], |p| rms_norm(o[r]) * p)`, then `xn[r] = rms_norm(x[r]) * norm_w`.
    /// One dispatch for a block's post-norm, residual add and the next block's input norm.
    /// Weights are F32 `[1, n]`; `o`, `x` and `xn` are distinct `[n_rows, n]` buffers.
    #[allow(clippy::too_many_arguments)]
    pub fn add_norm(
        &mut self,
        x: &wgpu::Buffer,
        o: &wgpu::Buffer,
        post_w: Option<&GpuWeight>,
        norm_w: &GpuWeight,
        xn: &wgpu::Buffer,
        n_rows: u32,
        eps: f32,
    ) {
        let n = norm_w.cols;
        for w in post_w.iter().copied().chain([norm_w]) {
            if w.ty != QuantType::F32 || w.rows != 1 || w.cols != n || w.parts.len() != 1 {
                return self.fail(Error::InvalidArgument(format!(
                    "add_norm weight {:?} must be F32 [1, {n}], is {} [{}, {}]",
                    w.name,
                    w.ty.name(),
                    w.rows,
                    w.cols
                )));
            }
        }
        if x == o || x == xn || o == xn {
            return self
                .fail(Error::InvalidArgument("add_norm: x, o and xn must be distinct buffers".into()));
        }
        if n_rows == 0 {
            return;
        }
        let bytes = n_rows as u64 * n * 4;
        if !self.need("add_norm x", x, bytes)
            || !self.need("add_norm o", o, bytes)
            || !self.need("add_norm xn", xn, bytes)
        {
            return;
        }
        let params = AddNormParams { n: n as u32, n_rows, eps, _pad: 0 };
        let (gx, gy) = match self.grid2(n_rows as u64) {
            Ok(g) => g,
            Err(e) => return self.fail(e),
        };
        let norm = &norm_w.parts[0].buffer;
        // Every row's workgroup loads each weight vector once.
        self.weight_read(n_rows as u64 * (norm_w.row_bytes + post_w.map_or(0, |p| p.row_bytes)));
        match post_w {
            Some(p) => self.dispatch(
                PipelineKey::AddNorm { post_norm: true, reduction: self.ctx.variants.reduction },
                &params,
                &[(1, o), (2, x), (3, &p.parts[0].buffer), (4, norm), (5, xn)],
                (gx, gy, 1),
            ),
            None => self.dispatch(
                PipelineKey::AddNorm { post_norm: false, reduction: self.ctx.variants.reduction },
                &params,
                &[(1, o), (2, x), (4, norm), (5, xn)],
                (gx, gy, 1),
            ),
        }
    }
}
