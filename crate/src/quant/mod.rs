//! GGUF block formats: what a block looks like in the file, its CPU dequantization (the
//! reference the kernels are tested against), and its repack into the GPU layout.
//!
//! GPU layout ("padded blocks"): a tensor of `rows × cols` elements is stored row after row; a
//! row is `cols / block_elems` GPU blocks; a GPU block is the file's block with its f16 header
//! fields first, padded so that every following field starts on a 4-byte boundary, and the
//! block's size rounded up to a multiple of 4 bytes. WGSL reads it as `array<u32>`. See each
//! format's module for the exact field offsets, which the WGSL include for that format mirrors.
//!
//! F32 and F16 are the same in both layouts, except that a GPU F16 block is a `u32` holding two
//! halves (`half[2i] | half[2i + 1] << 16`) and an F16 row of odd length gets a zero half at its
//! end. [`dequantize`] is the CPU reference (bit-equal to ggml and the `gguf` Python package);
//! [`repack`] and [`BlockRepacker`] make the GPU layout; [`dequantize_gpu_block`] reads it back.

mod dequant;
mod layout;
pub mod q4_0;
pub mod q4_k;
pub mod q5_0;
pub mod q5_k;
pub mod q6_k;
pub mod q8_0;
mod repack;

use crate::error::{Error, Result};
pub use dequant::{dequantize, dequantize_gpu_block};
pub use repack::{repack, BlockRepacker};

/// The block formats brasa understands. Discriminants are ggml's type ids.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QuantType {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q5_0 = 6,
    Q8_0 = 8,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
}

impl QuantType {
    pub const ALL: [QuantType; 8] = [
        QuantType::F32,
        QuantType::F16,
        QuantType::Q4_0,
        QuantType::Q5_0,
        QuantType::Q8_0,
        QuantType::Q4_K,
        QuantType::Q5_K,
        QuantType::Q6_K,
    ];

    /// The type for a ggml type id, or `None` if brasa does not support it.
    pub fn from_ggml(id: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| *t as u32 == id)
    }

    /// The ggml name of any type id, supported or not (for error messages).
    pub fn ggml_name(id: u32) -> &'static str {
        #[rustfmt::skip]
        const NAMES: [&str; 43] = [
            "F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1", "Q8_0", "Q8_1", "Q2_K",
            "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S",
            "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M",
            "BF16", "Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8", "TQ1_0", "TQ2_0", "IQ4_NL_4_4",
            "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4", "NVFP4", "Q1_0", "Q2_0",
        ];
        NAMES.get(id as usize).copied().unwrap_or("unknown")
    }

    /// The type for a tensor's ggml type id, or an [`Error::UnsupportedType`] naming the tensor.
    pub fn for_tensor(tensor: &str, id: u32) -> Result<Self> {
        Self::from_ggml(id).ok_or_else(|| Error::UnsupportedType {
            tensor: tensor.to_string(),
            type_id: id,
            type_name: Self::ggml_name(id).to_string(),
        })
    }

    pub fn name(self) -> &'static str {
        Self::ggml_name(self as u32)
    }

    /// Elements per block in the file.
    pub const fn block_elems(self) -> usize {
        match self {
            QuantType::F32 | QuantType::F16 => 1,
            QuantType::Q4_0 | QuantType::Q5_0 | QuantType::Q8_0 => 32,
            QuantType::Q4_K | QuantType::Q5_K | QuantType::Q6_K => 256,
        }
    }

    /// Bytes per block in the file.
    pub const fn block_bytes(self) -> usize {
        match self {
            QuantType::F32 => 4,
            QuantType::F16 => 2,
            QuantType::Q4_0 => 18,
            QuantType::Q5_0 => 22,
            QuantType::Q8_0 => 34,
            QuantType::Q4_K => 144,
            QuantType::Q5_K => 176,
            QuantType::Q6_K => 210,
        }
    }

    /// Elements per GPU block. Equal to [`Self::block_elems`] except for F16, whose GPU block is
    /// a pair of halves in one `u32` (rows of odd length get a zero pad).
    pub const fn gpu_block_elems(self) -> usize {
        match self {
            QuantType::F16 => 2,
            t => t.block_elems(),
        }
    }

    /// Bytes per GPU block: always a multiple of 4.
    pub const fn gpu_block_bytes(self) -> usize {
        match self {
            QuantType::F32 => 4,
            QuantType::F16 => 4,
            QuantType::Q4_0 => 20,  // d:f16, pad:2, qs:16
            QuantType::Q5_0 => 24,  // d:f16, pad:2, qh:4, qs:16
            QuantType::Q8_0 => 36,  // d:f16, pad:2, qs:32
            QuantType::Q4_K => 144, // d:f16, dmin:f16, scales:12, qs:128 (already aligned)
            QuantType::Q5_K => 176, // d:f16, dmin:f16, scales:12, qh:32, qs:128 (already aligned)
            QuantType::Q6_K => 212, // d:f16, pad:2, ql:128, qh:64, scales:16
        }
    }

    /// Bytes of one row of `cols` elements in the file, or an error if `cols` is not a whole
    /// number of blocks.
    pub fn row_bytes(self, cols: u64) -> Result<u64> {
        let be = self.block_elems() as u64;
        if !cols.is_multiple_of(be) {
            return Err(Error::InvalidModel(format!(
                "{} rows must be a multiple of {be} elements, got {cols}",
                self.name()
            )));
        }
        (cols / be)
            .checked_mul(self.block_bytes() as u64)
            .ok_or_else(|| Error::InvalidModel(format!("{} row of {cols} elements is too long", self.name())))
    }

    /// Bytes of one row of `cols` elements in the GPU layout (saturating at `u64::MAX` for
    /// absurd `cols` instead of overflowing).
    pub fn gpu_row_bytes(self, cols: u64) -> u64 {
        cols.div_ceil(self.gpu_block_elems() as u64).saturating_mul(self.gpu_block_bytes() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_blocks_are_word_aligned() {
        for t in QuantType::ALL {
            assert_eq!(t.gpu_block_bytes() % 4, 0, "{t:?}");
            assert!(t.gpu_block_bytes() >= t.block_bytes() * t.gpu_block_elems() / t.block_elems());
            assert_eq!(QuantType::from_ggml(t as u32), Some(t));
        }
    }

    #[test]
    fn unsupported_type_names_tensor() {
        let e = QuantType::for_tensor("blk.0.attn_q.weight", 16).unwrap_err();
        assert_eq!(e.code(), "unsupported_type");
        assert!(e.to_string().contains("IQ2_XXS") && e.to_string().contains("blk.0.attn_q"));
    }
}
