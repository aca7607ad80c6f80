//! CPU dequantization of whole blocks, from the file layout ([`dequantize`]) or the GPU layout
//! ([`dequantize_gpu_block`]). This is the reference the GPU kernels are tested against; it
//! follows ggml's `dequantize_row_*` operation for operation (no fused multiply-add), so its
//! results are bit-equal to ggml's and to the Python `gguf` package's.

use super::layout::{f16_to_f32, Layout};
use super::{q2_k, q3_k, q4_0, q4_1, q4_k, q5_0, q5_1, q5_k, q6_k, q8_0, QuantType};
use crate::error::{Error, Result};

/// Dequantize whole blocks of `ty` from file-format `bytes` into `out`
/// (`out.len() == n_blocks * ty.block_elems()`).
///
/// Errors with [`Error::InvalidArgument`] if `bytes` is not a whole number of blocks or `out` has
/// the wrong length.
pub fn dequantize(ty: QuantType, bytes: &[u8], out: &mut [f32]) -> Result<()> {
    dequantize_layout(ty, Layout::File, bytes, out)
}

/// Dequantize whole GPU blocks of `ty` (the layout [`super::repack`] writes) into `out`
/// (`out.len() == n_gpu_blocks * ty.gpu_block_elems()`). For F16 and BF16 a GPU block is two
/// halves; the zero pad half at the end of an odd row comes out as a 0.0 like any other.
///
/// Errors with [`Error::InvalidArgument`] on lengths as [`dequantize`] does.
pub fn dequantize_gpu_block(ty: QuantType, gpu_bytes: &[u8], out: &mut [f32]) -> Result<()> {
    dequantize_layout(ty, Layout::Gpu, gpu_bytes, out)
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
    for (block, out) in bytes.chunks_exact(block_bytes).zip(out.chunks_exact_mut(block_elems)) {
        dequant_block(ty, layout, block, out);
    }
    Ok(())
}

/// One block; `block` and `out` have exactly the block's sizes for `layout`.
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
        let e = dequantize_gpu_block(QuantType::Q4_0, &[0; 18], &mut out).unwrap_err();
        assert_eq!(e.code(), "invalid_argument");
        dequantize_gpu_block(QuantType::Q4_0, &[0; 20], &mut out).unwrap();
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
