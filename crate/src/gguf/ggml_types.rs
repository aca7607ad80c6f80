//! Block sizes of every ggml tensor type, so the reader can size any tensor, even one whose
//! format brasa cannot compute with (that is decided later, by [`crate::quant::QuantType`]).
//!
//! Numbers are the ggml type traits (`blck_size`, `type_size`) of llama.cpp commit 0c1e570,
//! which equal the block structs' sizes asserted in `ggml-common.h` (QK_K = 256).

use crate::error::{Error, Result};
use crate::quant::QuantType;

/// `(elements per block, bytes per block)` of each ggml type id; `None` for ids that ggml
/// removed from GGUF files (4, 5, 31–33, 36–38) and ids past the end.
const BLOCK_SIZES: [Option<(u64, u64)>; 43] = [
    Some((1, 4)),     // 0 F32
    Some((1, 2)),     // 1 F16
    Some((32, 18)),   // 2 Q4_0: d f16, 16 B nibbles
    Some((32, 20)),   // 3 Q4_1: d, m f16, 16 B nibbles
    None,             // 4 Q4_2 (removed)
    None,             // 5 Q4_3 (removed)
    Some((32, 22)),   // 6 Q5_0: d, 4 B high bits, 16 B nibbles
    Some((32, 24)),   // 7 Q5_1: d, m, 4 B high bits, 16 B nibbles
    Some((32, 34)),   // 8 Q8_0: d, 32 i8
    Some((32, 36)),   // 9 Q8_1: d, s, 32 i8
    Some((256, 84)),  // 10 Q2_K
    Some((256, 110)), // 11 Q3_K
    Some((256, 144)), // 12 Q4_K
    Some((256, 176)), // 13 Q5_K
    Some((256, 210)), // 14 Q6_K
    Some((256, 292)), // 15 Q8_K: d f32, 256 i8, 16 i16 sums
    Some((256, 66)),  // 16 IQ2_XXS
    Some((256, 74)),  // 17 IQ2_XS
    Some((256, 98)),  // 18 IQ3_XXS
    Some((256, 50)),  // 19 IQ1_S
    Some((32, 18)),   // 20 IQ4_NL
    Some((256, 110)), // 21 IQ3_S
    Some((256, 82)),  // 22 IQ2_S
    Some((256, 136)), // 23 IQ4_XS
    Some((1, 1)),     // 24 I8
    Some((1, 2)),     // 25 I16
    Some((1, 4)),     // 26 I32
    Some((1, 8)),     // 27 I64
    Some((1, 8)),     // 28 F64
    Some((256, 56)),  // 29 IQ1_M
    Some((1, 2)),     // 30 BF16
    None,             // 31 Q4_0_4_4 (removed from GGUF files)
    None,             // 32 Q4_0_4_8 (removed)
    None,             // 33 Q4_0_8_8 (removed)
    Some((256, 54)),  // 34 TQ1_0
    Some((256, 66)),  // 35 TQ2_0
    None,             // 36 IQ4_NL_4_4 (removed)
    None,             // 37 IQ4_NL_4_8 (removed)
    None,             // 38 IQ4_NL_8_8 (removed)
    Some((32, 17)),   // 39 MXFP4: e8m0 scale, 16 B nibbles
    Some((64, 36)),   // 40 NVFP4: 4 e4m3 scales, 32 B nibbles
    Some((128, 18)),  // 41 Q1_0: d f16, 16 B bits
    Some((64, 18)),   // 42 Q2_0: d f16, 16 B crumbs
];

/// `(elements per block, bytes per block)` for a ggml type id, or `None` if unknown.
pub fn block_size(type_id: u32) -> Option<(u64, u64)> {
    BLOCK_SIZES.get(type_id as usize).copied().flatten()
}

/// Bytes of a tensor in the file: `row_bytes(dims[0]) * dims[1] * ...`, where `dims[0]` must be
/// a whole number of blocks. `at` is the byte offset of the tensor's info, for errors.
/// `dims` must already be non-empty and non-zero.
pub(crate) fn tensor_bytes(name: &str, dims: &[u64], type_id: u32, at: u64) -> Result<u64> {
    let (block_elems, block_bytes) = block_size(type_id).ok_or_else(|| Error::UnsupportedType {
        tensor: name.to_string(),
        type_id,
        type_name: QuantType::ggml_name(type_id).to_string(),
        offset: Some(at),
    })?;
    let cols = dims.first().copied().unwrap_or(0);
    if !cols.is_multiple_of(block_elems) {
        return Err(Error::bad_file(
            at,
            format!(
                "tensor {name:?}: first dimension {cols} is not a multiple of the {} block size {block_elems}",
                QuantType::ggml_name(type_id)
            ),
        ));
    }
    let overflow = || Error::bad_file(at, format!("tensor {name:?}: size of dims {dims:?} overflows"));
    // The element count must fit too (TensorInfo::n_elements multiplies without checks).
    dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d)).ok_or_else(overflow)?;
    let row = (cols / block_elems).checked_mul(block_bytes).ok_or_else(overflow)?;
    dims[1..].iter().try_fold(row, |acc, &d| acc.checked_mul(d)).ok_or_else(overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_quant_table() {
        for t in QuantType::ALL {
            let (e, b) = block_size(t as u32).unwrap();
            assert_eq!((e as usize, b as usize), (t.block_elems(), t.block_bytes()), "{t:?}");
        }
    }

    #[test]
    fn sizes() {
        // Q8_0 token_embd of gemma-3-270m: 640 x 262144.
        assert_eq!(tensor_bytes("t", &[640, 262144], 8, 0), Ok(640 / 32 * 34 * 262144));
        assert_eq!(tensor_bytes("t", &[3, 2], 0, 0), Ok(24));
        assert_eq!(tensor_bytes("t", &[33], 2, 0).unwrap_err().code(), "bad_file");
        assert_eq!(tensor_bytes("t", &[u64::MAX, 2], 0, 0).unwrap_err().code(), "bad_file");
        assert_eq!(tensor_bytes("t", &[1 << 62, 1 << 62], 0, 0).unwrap_err().code(), "bad_file");
        let e = tensor_bytes("blk.0.x", &[32], 31, 0).unwrap_err();
        assert!(matches!(&e, Error::UnsupportedType { tensor, type_id: 31, .. } if tensor == "blk.0.x"));
        assert!(tensor_bytes("t", &[32], 43, 0).is_err());
    }
}
