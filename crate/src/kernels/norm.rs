//! RMS norm (shaders/norm.wgsl).

use super::{Batch, PipelineKey};
use crate::error::Error;
use crate::gpu::GpuWeight;
use crate::quant::QuantType;

/// Uniforms of shaders/norm.wgsl (`NormParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct NormParams {
    pub n: u32,
    pub n_rows: u32,
    pub eps: f32,
    pub _pad: u32,
}

impl Batch<'_> {
    /// `y[r, :] = x[r, :] / sqrt(mean(x[r, :]²) + eps) * w[:]` for `r < n_rows`; rows of
    /// `n = w.cols` f32; `w` is F32 `[1, n]`. `x` and `y` may be the same buffer.
    pub fn rms_norm(&mut self, x: &wgpu::Buffer, w: &GpuWeight, y: &wgpu::Buffer, n_rows: u32, eps: f32) {
        if w.ty != QuantType::F32 || w.rows != 1 || w.parts.len() != 1 {
            return self.fail(Error::InvalidArgument(format!(
                "rms_norm weight {:?} must be F32 [1, n], is {} [{}, {}]",
                w.name,
                w.ty.name(),
                w.rows,
                w.cols
            )));
        }
        if n_rows == 0 {
            return;
        }
        let bytes = n_rows as u64 * w.cols * 4;
        if !self.need("rms_norm x", x, bytes) || !self.need("rms_norm y", y, bytes) {
            return;
        }
        let params = NormParams { n: w.cols as u32, n_rows, eps, _pad: 0 };
        let (gx, gy) = match self.grid2(n_rows as u64) {
            Ok(g) => g,
            Err(e) => return self.fail(e),
        };
        let weight = &w.parts[0].buffer;
        // Every row's workgroup loads the whole weight vector.
        self.weight_read(n_rows as u64 * w.row_bytes);
        if x == y {
            self.dispatch(
                PipelineKey::RmsNorm { in_place: true, reduction: self.ctx.variants.reduction },
                &params,
                &[(1, weight), (4, x)],
                (gx, gy, 1),
            );
        } else {
            self.dispatch(
                PipelineKey::RmsNorm { in_place: false, reduction: self.ctx.variants.reduction },
                &params,
                &[(1, weight), (2, x), (3, y)],
                (gx, gy, 1),
            );
        }
    }
}
