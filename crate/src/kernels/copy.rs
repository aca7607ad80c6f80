//! A plain copy kernel (shaders/copy.wgsl): the bandwidth yardstick of the benchmark's roofline.
//! The model never uses it (buffer copies go through [`Batch::copy_buffer`]).

use super::{Batch, PipelineKey};
use crate::error::Error;

/// Uniforms of shaders/copy.wgsl (`CopyParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct CopyParams {
    pub n: u32,
    pub _pad: [u32; 3],
}

/// 16-byte elements per workgroup: 256 invocations × 4 each (`WG * PER_INV` in the shader).
const ELEMS_PER_WG: u64 = 1024;

impl Batch<'_> {
    /// `dst[..bytes] = src[..bytes]` by a compute dispatch; `bytes` is a multiple of 16.
    pub fn copy_kernel(&mut self, src: &wgpu::Buffer, dst: &wgpu::Buffer, bytes: u64) {
        if src == dst || !bytes.is_multiple_of(16) || bytes / 16 > u32::MAX as u64 {
            return self.fail(Error::InvalidArgument(format!(
                "copy kernel: {bytes} bytes (a multiple of 16, distinct buffers)"
            )));
        }
        if bytes == 0 || !self.need("copy src", src, bytes) || !self.need("copy dst", dst, bytes) {
            return;
        }
        let n = bytes / 16;
        let (gx, gy) = match self.grid2(n.div_ceil(ELEMS_PER_WG)) {
            Ok(g) => g,
            Err(e) => return self.fail(e),
        };
        let params = CopyParams { n: n as u32, _pad: [0; 3] };
        self.dispatch(PipelineKey::Copy, &params, &[(1, src), (2, dst)], (gx, gy, 1));
    }
}
