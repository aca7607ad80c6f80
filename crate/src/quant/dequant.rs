//! CPU dequantization of whole blocks, from the file layout ([`dequantize`]) or the GPU layout
//! ([`dequantize_gpu_block`]). This is the reference the GPU kernels are tested against; it
//! follows ggml's `dequantize_row_*` operation for operation (no fused multiply-add), so its
//! results are bit-equal to ggml's and to the Python `gguf` package's.

use super::layout::{f16_to_f32, unpair, Layout};
use super::{pair_fields, q2_k, q3_k, q4_0, q4_1, q4_k, q5_0, q5_1, q5_k, q6_k, q8_0, QuantType};
use crate::error::{Error, Result};

/// Dequantize whole blocks of `ty` from file-format `bytes` into `out`
/// (`out.len() == n_blocks * ty.block_elems()`).
///
/// Errors with [`Error::InvalidArgument`] if `bytes` is not a whole number of blocks or `out` has
/// the wrong length.
pub fn dequantize(ty: QuantType, bytes: &[u8], out: &mut [f32]) -> Result<()> {
    dequantize_layout(ty, Layout::File, bytes, out)
}

/// Dequantize whole GPU units of `ty` (the layout [`super::repack`] writes) into `out`
/// (`out.len() == n_units * ty.gpu_block_elems()`). For F16 and BF16 a unit is two halves (the
/// zero pad half at the end of an odd row comes out as a 0.0 like any other); for the paired
/// types, two blocks. Rows that end mid-unit need [`dequantize_gpu_rows`].
///
/// Errors with [`Error::InvalidArgument`] on lengths as [`dequantize`] does.
pub fn dequantize_gpu_block(ty: QuantType, gpu_bytes: &[u8], out: &mut [f32]) -> Result<()> {
    dequantize_layout(ty, Layout::Gpu, gpu_bytes, out)
}

/// Dequantize a whole GPU-layout tensor of rows of `cols` elements (`gpu_bytes.len() == rows *
/// ty.gpu_row_bytes(cols)`) into `out` (`rows * cols` values: pads are dropped).
///
/// Errors with [`Error::InvalidArgument`] if the lengths do not fit or `cols` is not a whole
/// number of blocks.
pub fn dequantize_gpu_rows(ty: QuantType, cols: u64, gpu_bytes: &[u8], out: &mut [f32]) -> Result<()> {
    ty.row_bytes(cols).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    let row_bytes = ty.gpu_row_bytes(cols) as usize;
    let cols = cols as usize;
    let bad = || {
        Error::InvalidArgument(format!(
            "{} GPU rows of {cols}: {} bytes and {} outputs do not fit",
            ty.name(),
            gpu_bytes.len(),
            out.len()
        ))
    };
    if row_bytes == 0 || cols == 0 {
        return if gpu_bytes.is_empty() && out.is_empty() { Ok(()) } else { Err(bad()) };
    }
    if !gpu_bytes.len().is_multiple_of(row_bytes) || gpu_bytes.len() / row_bytes * cols != out.len() {
        return Err(bad());
    }
    let (ue, ub) = (ty.gpu_block_elems(), ty.gpu_block_bytes());
    let whole = cols / ue;
    for (row, out) in gpu_bytes.chunks_exact(row_bytes).zip(out.chunks_exact_mut(cols)) {
        let (units, tail) = row.split_at(whole * ub);
        dequantize_layout(ty, Layout::Gpu, units, &mut out[..whole * ue])?;
        let out = &mut out[whole * ue..];
        if out.is_empty() {
            continue;
        }
        if let Some(fields) = pair_fields(ty) {
            // The single block that ends an odd paired row.
            let mut single = vec![0u8; ty.gpu_single_bytes()];
            unpair(fields, ty.block_bytes(), tail, 0, &mut single);
            dequant_block(ty, Layout::Gpu, &single, out);
        } else {
            // The last element of an odd F16/BF16 row, and its pad.
            let mut two = [0f32; 2];
            dequant_block(ty, Layout::Gpu, tail, &mut two);
            out.copy_from_slice(&two[..out.len()]);
        }
    }
    Ok(())
}

fn dequantize_layout(ty: QuantType, layout: Layout, bytes: &[u8], out: &mut [f32]) -> Result<()> {
    let (block_bytes, block_elems) = match layout {
        Layout::File => (ty.block_bytes(), ty.block_elems()),
        Layout::Gpu => (ty.gpu_block_bytes(), ty.gpu_block_elems()),
    };
    if !bytes.len().is_multiple_of(block_bytes) {
        return Err(Error::InvalidArgument(format!(
            "{} {layout:?} data of {} bytes is not a whole number of {block_bytes}-byte blocks",
            ty.name(),
            bytes.len()
        )));
    }
    let n_blocks = bytes.len() / block_bytes;
    if out.len() != n_blocks * block_elems {
        return Err(Error::InvalidArgument(format!(
            "{} blocks: {n_blocks} blocks of {block_elems} elements need an output of {}, got {}",
            ty.name(),
            n_blocks * block_elems,
            out.len()
        )));
    }
    match pair_fields(ty) {
        Some(fields) if layout == Layout::Gpu => {
            // Each block of a pair, rewritten as a single block.
            let mut single = vec![0u8; ty.gpu_single_bytes()];
            let be = ty.block_elems();
            for (pair, out) in bytes.chunks_exact(block_bytes).zip(out.chunks_exact_mut(block_elems)) {
                for (j, out) in out.chunks_exact_mut(be).enumerate() {
                    unpair(fields, ty.block_bytes(), pair, j, &mut single);
                    dequant_block(ty, layout, &single, out);
                }
            }
        }
        _ => {
            for (block, out) in bytes.chunks_exact(block_bytes).zip(out.chunks_exact_mut(block_elems)) {
                dequant_block(ty, layout, block, out);
            }
        }
    }
    Ok(())
}

/// One block; `block` and `out` have exactly the block's sizes for `layout` (for the GPU layout
/// of F16/BF16 a pair of halves, of the paired types a single block).
fn dequant_block(ty: QuantType, layout: Layout, block: &[u8], out: &mut [f32]) {
    match ty {
        // F32, F16 and BF16 are the same in both layouts, element for element.
        QuantType::F32 => {
            for (o, b) in out.iter_mut().zip(block.chunks_exact(4)) {
                *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        QuantType::F16 => {
            for (o, b) in out.iter_mut().zip(block.chunks_exact(2)) {
                *o = f16_to_f32([b[0], b[1]]);
            }
        }
        QuantType::BF16 => {
            // The top half of an f32: exact, NaN payloads included.
            for (o, b) in out.iter_mut().zip(block.chunks_exact(2)) {
                *o = f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16);
            }
        }
        QuantType::Q4_0 => q4_0::dequant_block(block, layout, out),
        QuantType::Q4_1 => q4_1::dequant_block(block, layout, out),
        QuantType::Q5_0 => q5_0::dequant_block(block, layout, out),
        QuantType::Q5_1 => q5_1::dequant_block(block, layout, out),
        QuantType::Q8_0 => q8_0::dequant_block(block, layout, out),
        QuantType::Q2_K => q2_k::dequant_block(block, layout, out),
        QuantType::Q3_K => q3_k::dequant_block(block, layout, out),
        QuantType::Q4_K => q4_k::dequant_block(block, layout, out),
        QuantType::Q5_K => q5_k::dequant_block(block, layout, out),
        QuantType::Q6_K => q6_k::dequant_block(block, layout, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_partial_blocks_and_wrong_output() {
        let mut out = vec![0.0; 32];
        let e = dequantize(QuantType::Q4_0, &[0; 17], &mut out).unwrap_err();
        assert_eq!(e.code(), "invalid_argument");
        let e = dequantize(QuantType::Q4_0, &[0; 18], &mut out[..31]).unwrap_err();
        assert_eq!(e.code(), "invalid_argument");
        let e = dequantize_gpu_block(QuantType::Q4_0, &[0; 20], &mut out).unwrap_err();
        assert_eq!(e.code(), "invalid_argument");
        let mut out = vec![0.0; 64];
        dequantize_gpu_block(QuantType::Q4_0, &[0; 36], &mut out).unwrap(); // a pair
        let e = dequantize_gpu_rows(QuantType::Q4_0, 32, &[0; 36], &mut out).unwrap_err();
        assert_eq!(e.code(), "invalid_argument");
        dequantize_gpu_rows(QuantType::Q4_0, 32, &[0; 40], &mut out).unwrap(); // 2 rows of 1 block
        assert_eq!(
            dequantize_gpu_rows(QuantType::Q4_0, 33, &[], &mut []).unwrap_err().code(),
            "invalid_argument"
        );
    }

    #[test]
    fn q8_0_by_hand() {
        // d = 0.5 (f16 0x3800), q = [-128, -1, 0, 1, 127, 0, ...]
        let mut block = vec![0x00, 0x38, 0x80, 0xff, 0x00, 0x01, 0x7f];
        block.resize(34, 0);
        let mut out = vec![1.0; 32];
        dequantize(QuantType::Q8_0, &block, &mut out).unwrap();
        assert_eq!(&out[..6], &[-64.0, -0.5, 0.0, 0.5, 63.5, 0.0]);
    }
}
