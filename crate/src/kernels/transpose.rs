//! Transposing row copy (shaders/transpose.wgsl): appends keys to the position-fastest K cache.

use super::{Batch, PipelineKey};
use crate::error::Error;

/// Uniforms of shaders/transpose.wgsl (`TransposeParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct TransposeParams {
    pub n_rows: u32,
    pub row_elems: u32,
    pub dst_col0: u32,
    pub dst_stride: u32,
}

impl Batch<'_> {
    /// `dst[c, dst_col0 + i] = src[i, c]` for `i < n_rows`, `c < row_elems`: src is `[n_rows,
    /// row_elems]` f32, dst `[row_elems, dst_stride]` f32 (K cache writes: `dst_stride` is the
    /// cache capacity, `dst_col0` the first position). Requires `dst_col0 + n_rows <=
    /// dst_stride`.
    pub fn copy_rows_transposed(
        &mut self,
        src: &wgpu::Buffer,
        dst: &wgpu::Buffer,
        dst_col0: u32,
        n_rows: u32,
        row_elems: u32,
        dst_stride: u32,
    ) {
        if src == dst {
            return self.fail(Error::InvalidArgument("copy_rows_transposed: src is dst".into()));
        }
        if dst_col0 as u64 + n_rows as u64 > dst_stride as u64 {
            return self.fail(Error::InvalidArgument(format!(
                "copy_rows_transposed: columns {dst_col0}+{n_rows} exceed the stride {dst_stride}"
            )));
        }
        let n = n_rows as u64 * row_elems as u64;
        if n == 0
            || !self.need("copy_rows_transposed src", src, n * 4)
            || !self.need("copy_rows_transposed dst", dst, row_elems as u64 * dst_stride as u64 * 4)
        {
            return;
        }
        if n > u32::MAX as u64 {
            return self.fail(Error::InvalidArgument(format!("copy_rows_transposed: {n} elements")));
        }
        let (gx, gy) = match self.grid2(n.div_ceil(256)) {
            Ok(g) => g,
            Err(e) => return self.fail(e),
        };
        let params = TransposeParams { n_rows, row_elems, dst_col0, dst_stride };
        self.dispatch(PipelineKey::Transpose, &params, &[(1, src), (2, dst)], (gx, gy, 1));
    }
}
