//! Weight tensors on the GPU: the padded-block layout of [`crate::quant`], split by whole rows
//! into parts that each fit one storage binding.

use super::{GpuContext, OwnedBuffer};
use crate::error::{Error, Result};
use crate::quant::QuantType;

/// A weight matrix `[rows, cols]` (row-major, `cols` = the input dimension) in GPU layout:
/// each row is `row_bytes` bytes of GPU blocks ([`QuantType::gpu_row_bytes`]).
#[derive(Debug)]
pub struct GpuWeight {
    pub name: String,
    pub ty: QuantType,
    pub rows: u64,
    pub cols: u64,
    pub row_bytes: u64,
    /// Consecutive row ranges covering `0..rows`, each in its own buffer.
    pub parts: Vec<WeightPart>,
}

/// Rows `first_row .. first_row + rows` of a [`GpuWeight`], row-major in `buffer`.
#[derive(Debug)]
pub struct WeightPart {
    pub buffer: OwnedBuffer,
    pub first_row: u64,
    pub rows: u64,
}

impl GpuWeight {
    /// Total bytes of the tensor in GPU layout.
    pub fn gpu_bytes(&self) -> u64 {
        self.rows * self.row_bytes
    }
}

impl GpuContext {
    /// Allocate a weight tensor of `rows × cols` elements of type `ty`, split by whole rows so no
    /// part exceeds the binding limit. Contents are zero until [`Self::write_weight`].
    pub fn create_weight(&self, name: &str, ty: QuantType, rows: u64, cols: u64) -> Result<GpuWeight> {
        self.create_weight_in_groups(name, ty, rows, cols, 1)
    }

    /// As [`Self::create_weight`], with every part starting at a multiple of `row_group` rows
    /// (kernels that read rows in groups, such as the GLU's quads of a stacked weight).
    pub fn create_weight_in_groups(
        &self,
        name: &str,
        ty: QuantType,
        rows: u64,
        cols: u64,
        row_group: u64,
    ) -> Result<GpuWeight> {
        if rows == 0 || cols == 0 {
            return Err(Error::InvalidModel(format!("tensor {name:?} has an empty shape [{rows}, {cols}]")));
        }
        if !cols.is_multiple_of(ty.block_elems() as u64) {
            return Err(Error::InvalidModel(format!(
                "tensor {name:?}: {} rows of {cols} elements are not whole blocks of {}",
                ty.name(),
                ty.block_elems()
            )));
        }
        let row_bytes = ty.gpu_row_bytes(cols);
        let row_group = row_group.max(1);
        let rows_per_part = self.max_binding_bytes / row_bytes / row_group * row_group;
        if rows_per_part == 0 {
            return Err(Error::DeviceLimit {
                what: format!("{row_group} row(s) of tensor {name:?}"),
                needed: row_bytes * row_group,
                limit: self.max_binding_bytes,
            });
        }
        let mut parts = Vec::new();
        let mut first_row = 0;
        while first_row < rows {
            let n = rows_per_part.min(rows - first_row);
            let label = format!("{name}[{first_row}..{}]", first_row + n);
            let buffer = self.create_buffer(
                &label,
                n * row_bytes,
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
            )?;
            parts.push(WeightPart { buffer, first_row, rows: n });
            first_row += n;
        }
        Ok(GpuWeight { name: name.to_string(), ty, rows, cols, row_bytes, parts })
    }

    /// Write `data` (GPU layout) at byte `gpu_offset` of the logical, unsplit tensor; the write
    /// is cut at part boundaries. Offset and length must be multiples of 4.
    pub fn write_weight(&self, w: &GpuWeight, gpu_offset: u64, data: &[u8]) -> Result<()> {
        self.check()?;
        let len = data.len() as u64;
        if !gpu_offset.is_multiple_of(4) || !len.is_multiple_of(4) {
            return Err(Error::InvalidArgument(format!(
                "write to {:?} at byte {gpu_offset} of length {len}: both must be multiples of 4",
                w.name
            )));
        }
        if gpu_offset.checked_add(len).is_none_or(|end| end > w.gpu_bytes()) {
            return Err(Error::InvalidArgument(format!(
                "write to {:?} at byte {gpu_offset} of length {len} is past its {} bytes",
                w.name,
                w.gpu_bytes()
            )));
        }
        let mut pos = gpu_offset;
        let end = gpu_offset + len;
        for part in &w.parts {
            let p_begin = part.first_row * w.row_bytes;
            let p_end = p_begin + part.rows * w.row_bytes;
            if pos >= end {
                break;
            }
            if pos >= p_end {
                continue;
            }
            let chunk_end = end.min(p_end);
            let src = &data[(pos - gpu_offset) as usize..(chunk_end - gpu_offset) as usize];
            self.queue.write_buffer(&part.buffer, pos - p_begin, src);
            pos = chunk_end;
        }
        Ok(())
    }
}
