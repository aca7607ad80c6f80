//! Elementwise ops (shaders/elementwise.wgsl) and row copies.

use super::{Activation, Batch, PipelineKey};
use crate::error::Error;

/// Uniforms of shaders/elementwise.wgsl (`ElementwiseParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct ElementwiseParams {
    pub n: u32,
    /// Row length (add_bias only).
    pub cols: u32,
    /// The cap (softcap only).
    pub cap: f32,
    /// Floats from one row of y to the next, and the first column the bias adds to (add_bias
    /// only).
    pub stride: u32,
    pub col0: u32,
    pub _pad: [u32; 3],
}

impl ElementwiseParams {
    fn new(n: u32) -> Self {
        ElementwiseParams { n, cols: 0, cap: 0.0, stride: 0, col0: 0, _pad: [0; 3] }
    }
}

impl Batch<'_> {
    /// `out[i] = act(gate[i]) * up[i]` for `i < n`.
    pub fn gated_act(
        &mut self,
        gate: &wgpu::Buffer,
        up: &wgpu::Buffer,
        out: &wgpu::Buffer,
        n: u32,
        act: Activation,
    ) {
        let bytes = n as u64 * 4;
        if n == 0
            || !self.need("gated_act gate", gate, bytes)
            || !self.need("gated_act up", up, bytes)
            || !self.need("gated_act out", out, bytes)
        {
            return;
        }
        let Some(groups) = self.elementwise_grid(n) else {
            return;
        };
        let params = ElementwiseParams::new(n);
        self.dispatch(PipelineKey::GatedAct(act), &params, &[(1, gate), (2, up), (3, out)], groups);
    }

    /// `y[i] += x[i]` for `i < n`.
    pub fn add_inplace(&mut self, y: &wgpu::Buffer, x: &wgpu::Buffer, n: u32) {
        let bytes = n as u64 * 4;
        if n == 0 || !self.need("add_inplace y", y, bytes) || !self.need("add_inplace x", x, bytes) {
            return;
        }
        let Some(groups) = self.elementwise_grid(n) else {
            return;
        };
        let params = ElementwiseParams::new(n);
        self.dispatch(PipelineKey::AddInplace, &params, &[(4, y), (5, x)], groups);
    }

    /// `y[r, col0 .. col0 + n] += bias[:]` for `r < n_rows`: y is `[n_rows, stride]` f32, `bias`
    /// an F32 `[1, n]` weight (a projection's bias, on its columns of the stacked q/k/v rows).
    pub fn add_bias(
        &mut self,
        y: &wgpu::Buffer,
        bias: &crate::gpu::GpuWeight,
        n_rows: u32,
        stride: u32,
        col0: u32,
    ) {
        if bias.ty != crate::quant::QuantType::F32 || bias.rows != 1 || bias.parts.len() != 1 {
            return self
                .fail(Error::InvalidArgument(format!("add_bias: {:?} must be F32 [1, n]", bias.name)));
        }
        if (col0 as u64 + bias.cols) > stride as u64 {
            return self.fail(Error::InvalidArgument(format!(
                "add_bias {:?}: columns {col0}..{} past the row stride {stride}",
                bias.name,
                col0 as u64 + bias.cols
            )));
        }
        let n = n_rows as u64 * bias.cols;
        if n == 0 || n > u32::MAX as u64 || !self.need("add_bias y", y, n_rows as u64 * stride as u64 * 4) {
            return;
        }
        let Some(groups) = self.elementwise_grid(n as u32) else {
            return;
        };
        self.weight_read(bias.row_bytes);
        let params =
            ElementwiseParams { cols: bias.cols as u32, stride, col0, ..ElementwiseParams::new(n as u32) };
        self.dispatch(PipelineKey::AddBias, &params, &[(4, y), (5, &bias.parts[0].buffer)], groups);
    }

    /// `y[i] = cap · tanh(y[i] / cap)` for `i < n` (Gemma 2's final logit soft-capping).
    pub fn softcap(&mut self, y: &wgpu::Buffer, n: u32, cap: f32) {
        if !(cap > 0.0 && cap.is_finite()) {
            return self.fail(Error::InvalidArgument(format!("softcap: cap {cap}")));
        }
        if n == 0 || !self.need("softcap y", y, n as u64 * 4) {
            return;
        }
        let Some(groups) = self.elementwise_grid(n) else {
            return;
        };
        let params = ElementwiseParams { cap, ..ElementwiseParams::new(n) };
        self.dispatch(PipelineKey::Softcap, &params, &[(4, y)], groups);
    }

    /// `dst[dst_row0 + i, :] = src[i, :]` for `i < n_rows`, rows of `row_elems` f32 (KV cache
    /// writes). A buffer copy.
    pub fn copy_rows(
        &mut self,
        src: &wgpu::Buffer,
        dst: &wgpu::Buffer,
        dst_row0: u32,
        n_rows: u32,
        row_elems: u32,
    ) {
        let row_bytes = row_elems as u64 * 4;
        self.copy_buffer(src, 0, dst, dst_row0 as u64 * row_bytes, n_rows as u64 * row_bytes);
    }

    /// `dst[dst_offset..][..bytes] = src[src_offset..][..bytes]`: a plain buffer copy (offsets
    /// and size in bytes, multiples of 4).
    pub fn copy_buffer(
        &mut self,
        src: &wgpu::Buffer,
        src_offset: u64,
        dst: &wgpu::Buffer,
        dst_offset: u64,
        bytes: u64,
    ) {
        if src == dst {
            return self.fail(Error::InvalidArgument("copy: src and dst are the same buffer".into()));
        }
        if !(src_offset | dst_offset | bytes).is_multiple_of(4) {
            return self.fail(Error::InvalidArgument(format!(
                "copy: offsets {src_offset}/{dst_offset} and size {bytes} must be multiples of 4"
            )));
        }
        if bytes == 0
            || !self.need("copy src", src, src_offset + bytes)
            || !self.need("copy dst", dst, dst_offset + bytes)
        {
            return;
        }
        self.encoder().copy_buffer_to_buffer(src, src_offset, dst, dst_offset, bytes);
    }

    fn elementwise_grid(&mut self, n: u32) -> Option<(u32, u32, u32)> {
        match self.grid2((n as u64).div_ceil(256)) {
            Ok((x, y)) => Some((x, y, 1)),
            Err(e) => {
                self.fail(e);
                None
            }
        }
    }
}
