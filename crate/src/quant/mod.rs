//! GGUF block formats: what a block looks like in the file, its CPU dequantization (the
//! reference the kernels are tested against), and its repack into the GPU layout.
//!
//! GPU layout: a tensor of `rows × cols` elements is stored row after row, each row a whole
//! number of `u32` words that WGSL reads as `array<u32>`. Within a row, a block is laid out with
//! its f16 header fields first and every later field 4-byte aligned; see each format's module
//! for the field offsets, which the WGSL include for that format mirrors.
//!
//! - **Aligned blocks** (Q4_1, Q5_1, Q2_K, Q4_K, Q5_K): the fields already fall on 4-byte
//!   boundaries once the f16s lead, so a GPU block has the file block's size.
//! - **Paired blocks** (Q4_0, Q5_0, Q8_0, Q3_K, Q6_K): a block is one f16 `d` and a body whose
//!   size is a multiple of 4, so alone it would need 2 bytes of padding (Q5_0 22 → 24 B, +9 %).
//!   Instead two neighbouring blocks of a row share one header word: `d` of the first block in
//!   its low half, of the second in its high half, then the first block's body, then the
//!   second's. A pair is exactly the size of its two file blocks. A row with an odd number of
//!   blocks ends with a single block: its header word holds `d` and a zero half.
//! - F32, F16 and BF16 are the same in both layouts, except that a GPU F16 or BF16 block is a
//!   `u32` holding two halves (`half[2i] | half[2i + 1] << 16`) and a row of odd length gets a
//!   zero half at its end.
//!
//! So the GPU bytes of a row equal the file's, bar at most 2 bytes per row (a single block at the
//! end of a paired row, an odd F16/BF16 row).
//!
//! | type | file block | GPU unit | fields of one block (byte offsets; a pair's second block: `d` at 2, the rest + body size) |
//! |------|-----------:|---------:|----------------------------------------|
//! | F32  | 4 B / 1 | 4 B / 1 | the value |
//! | F16, BF16 | 2 B / 1 | 4 B / 2 | two halves |
//! | Q4_0 | 18 B / 32 | 36 B / 64 (pair) | d 0, qs 4 (body 16 B) |
//! | Q4_1 | 20 B / 32 | 20 B / 32 | d 0, m 2, qs 4 (as in the file) |
//! | Q5_0 | 22 B / 32 | 44 B / 64 (pair) | d 0, qh 4, qs 8 (body 20 B) |
//! | Q5_1 | 24 B / 32 | 24 B / 32 | d 0, m 2, qh 4, qs 8 (as in the file) |
//! | Q8_0 | 34 B / 32 | 68 B / 64 (pair) | d 0, qs 4 (body 32 B) |
//! | Q2_K | 84 B / 256 | 84 B / 256 | d 0, dmin 2, scales 4, qs 20 |
//! | Q3_K | 110 B / 256 | 220 B / 512 (pair) | d 0, hmask 4, qs 36, scales 100 (body 108 B) |
//! | Q4_K | 144 B / 256 | 144 B / 256 | as in the file |
//! | Q5_K | 176 B / 256 | 176 B / 256 | as in the file |
//! | Q6_K | 210 B / 256 | 420 B / 512 (pair) | d 0, ql 4, qh 132, scales 196 (body 208 B) |
//!
//! Every other ggml type (IQ*, TQ*, Q8_1, Q8_K, MXFP4 …) is refused with
//! [`Error::UnsupportedType`] naming the tensor and the type.
//!
//! [`widen`] rewrites Q4_0 and Q5_0 blocks as Q8_0 without changing a weight (for stacking a
//! layer's projections of mixed legacy types into one weight).
//!
//! [`dequantize`] is the CPU reference (bit-equal to ggml and the `gguf` Python package);
//! [`repack`] and [`BlockRepacker`] make the GPU layout; [`dequantize_gpu_rows`] (and, for whole
//! units, [`dequantize_gpu_block`]) read it back.

mod dequant;
mod layout;
pub mod q2_k;
pub mod q3_k;
pub mod q4_0;
pub mod q4_1;
pub mod q4_k;
pub mod q5_0;
pub mod q5_1;
pub mod q5_k;
pub mod q6_k;
pub mod q8_0;
mod repack;
pub mod widen;

use crate::error::{Error, Result};
pub use dequant::{dequantize, dequantize_gpu_block, dequantize_gpu_rows};
pub use repack::{repack, BlockRepacker};

/// The block formats brasa understands. Discriminants are ggml's type ids.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QuantType {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    BF16 = 30,
}

impl QuantType {
    pub const ALL: [QuantType; 13] = [
        QuantType::F32,
        QuantType::F16,
        QuantType::BF16,
        QuantType::Q4_0,
        QuantType::Q4_1,
        QuantType::Q5_0,
        QuantType::Q5_1,
        QuantType::Q8_0,
        QuantType::Q2_K,
        QuantType::Q3_K,
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
            offset: None,
        })
    }

    pub fn name(self) -> &'static str {
        Self::ggml_name(self as u32)
    }

    /// Elements per block in the file.
    pub const fn block_elems(self) -> usize {
        match self {
            QuantType::F32 | QuantType::F16 | QuantType::BF16 => 1,
            QuantType::Q4_0 | QuantType::Q4_1 | QuantType::Q5_0 | QuantType::Q5_1 | QuantType::Q8_0 => 32,
            QuantType::Q2_K | QuantType::Q3_K | QuantType::Q4_K | QuantType::Q5_K | QuantType::Q6_K => 256,
        }
    }

    /// Bytes per block in the file.
    pub const fn block_bytes(self) -> usize {
        match self {
            QuantType::F32 => 4,
            QuantType::F16 | QuantType::BF16 => 2,
            QuantType::Q4_0 => 18,
            QuantType::Q4_1 => 20,
            QuantType::Q5_0 => 22,
            QuantType::Q5_1 => 24,
            QuantType::Q8_0 => 34,
            QuantType::Q2_K => 84,
            QuantType::Q3_K => 110,
            QuantType::Q4_K => 144,
            QuantType::Q5_K => 176,
            QuantType::Q6_K => 210,
        }
    }

    /// Whether the GPU layout stores this type's blocks in pairs sharing one header word (see
    /// the module docs).
    pub const fn paired(self) -> bool {
        matches!(
            self,
            QuantType::Q4_0 | QuantType::Q5_0 | QuantType::Q8_0 | QuantType::Q3_K | QuantType::Q6_K
        )
    }

    /// Elements per GPU unit: [`Self::block_elems`], except for F16 and BF16 (a pair of halves in
    /// one `u32`; rows of odd length get a zero pad) and the paired types (two blocks; rows with
    /// an odd number of blocks end with a single block of [`Self::gpu_single_bytes`]).
    pub const fn gpu_block_elems(self) -> usize {
        match self {
            QuantType::F16 | QuantType::BF16 => 2,
            t if t.paired() => 2 * t.block_elems(),
            t => t.block_elems(),
        }
    }

    /// Bytes per GPU unit: always a multiple of 4.
    pub const fn gpu_block_bytes(self) -> usize {
        match self {
            QuantType::F32 => 4,
            QuantType::F16 | QuantType::BF16 => 4,
            QuantType::Q4_0 => 36,  // d0:f16, d1:f16, qs0:16, qs1:16
            QuantType::Q4_1 => 20,  // d:f16, m:f16, qs:16 (already aligned)
            QuantType::Q5_0 => 44,  // d0:f16, d1:f16, qh0:4, qs0:16, qh1:4, qs1:16
            QuantType::Q5_1 => 24,  // d:f16, m:f16, qh:4, qs:16 (already aligned)
            QuantType::Q8_0 => 68,  // d0:f16, d1:f16, qs0:32, qs1:32
            QuantType::Q2_K => 84,  // d:f16, dmin:f16, scales:16, qs:64
            QuantType::Q3_K => 220, // d0:f16, d1:f16, (hmask:32, qs:64, scales:12) × 2
            QuantType::Q4_K => 144, // d:f16, dmin:f16, scales:12, qs:128 (already aligned)
            QuantType::Q5_K => 176, // d:f16, dmin:f16, scales:12, qh:32, qs:128 (already aligned)
            QuantType::Q6_K => 420, // d0:f16, d1:f16, (ql:128, qh:64, scales:16) × 2
        }
    }

    /// Bytes of the single block that ends a row with an odd number of blocks, for the paired
    /// types: the header word (`d` and a zero half) and the block's body.
    pub const fn gpu_single_bytes(self) -> usize {
        self.block_bytes() + 2
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
        let (ue, ub) = (self.gpu_block_elems() as u64, self.gpu_block_bytes() as u64);
        if self.paired() {
            let blocks = cols.div_ceil(self.block_elems() as u64);
            let single = if blocks % 2 == 1 { self.gpu_single_bytes() as u64 } else { 0 };
            (blocks / 2).saturating_mul(ub).saturating_add(single)
        } else {
            cols.div_ceil(ue).saturating_mul(ub)
        }
    }
}

/// The fields of a paired type's block, at their single-block GPU offsets (`None` for the types
/// that are not paired).
pub(crate) fn pair_fields(ty: QuantType) -> Option<&'static [layout::Field]> {
    match ty {
        QuantType::Q4_0 => Some(q4_0::FIELDS),
        QuantType::Q5_0 => Some(q5_0::FIELDS),
        QuantType::Q8_0 => Some(q8_0::FIELDS),
        QuantType::Q3_K => Some(q3_k::FIELDS),
        QuantType::Q6_K => Some(q6_k::FIELDS),
        _ => None,
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
            if t.paired() {
                // A pair costs exactly its two file blocks; a single block 2 bytes more.
                assert_eq!(t.gpu_block_bytes(), 2 * t.block_bytes(), "{t:?}");
                assert_eq!(t.gpu_single_bytes() % 4, 0, "{t:?}");
            }
        }
    }

    #[test]
    fn gpu_rows_cost_at_most_two_bytes_more_than_the_file() {
        for t in QuantType::ALL {
            let be = t.block_elems() as u64;
            for blocks in [1u64, 2, 3, 4, 19, 20] {
                let cols = blocks * be;
                let (file, gpu) = (t.row_bytes(cols).unwrap(), t.gpu_row_bytes(cols));
                assert_eq!(gpu % 4, 0, "{t:?} {cols}");
                if matches!(
                    t,
                    QuantType::Q4_1 | QuantType::Q5_1 | QuantType::Q2_K | QuantType::Q4_K | QuantType::Q5_K
                ) {
                    assert_eq!(gpu, file, "{t:?} {cols}");
                } else {
                    assert!(gpu >= file && gpu <= file + 2, "{t:?} {cols}: {gpu} vs {file}");
                }
            }
        }
        assert_eq!(QuantType::Q8_0.gpu_row_bytes(640), 640 / 32 * 34);
        assert_eq!(QuantType::Q6_K.gpu_row_bytes(3 * 256), 420 + 212);
    }

    #[test]
    fn unsupported_type_names_tensor() {
        let e = QuantType::for_tensor("blk.0.attn_q.weight", 16).unwrap_err();
        assert_eq!(e.code(), "unsupported_type");
        assert!(e.to_string().contains("IQ2_XXS") && e.to_string().contains("blk.0.attn_q"));
    }

    /// Exactly the listed types are supported; every other ggml id (IQ*, TQ*, Q8_1, Q8_K, the
    /// integer and f64 types, MXFP4 …) is an `unsupported_type` error naming tensor and type.
    #[test]
    fn every_other_ggml_type_is_refused_by_name() {
        let supported = [0, 1, 2, 3, 6, 7, 8, 10, 11, 12, 13, 14, 30];
        for id in 0..48u32 {
            let name = QuantType::ggml_name(id);
            match QuantType::for_tensor("blk.3.ffn_up.weight", id) {
                Ok(t) => {
                    assert!(supported.contains(&id), "{name} ({id}) should be refused");
                    assert_eq!((t as u32, t.name()), (id, name));
                }
                Err(e) => {
                    assert!(!supported.contains(&id), "{name} ({id}) should be supported");
                    assert_eq!(e.code(), "unsupported_type");
                    let msg = e.to_string();
                    assert!(msg.contains("blk.3.ffn_up.weight") && msg.contains(name), "{msg}");
                    assert!(matches!(e, Error::UnsupportedType { type_id, .. } if type_id == id));
                }
            }
        }
        for (id, name) in
            [(9, "Q8_1"), (15, "Q8_K"), (20, "IQ4_NL"), (23, "IQ4_XS"), (34, "TQ1_0"), (35, "TQ2_0")]
        {
            let e = QuantType::for_tensor("token_embd.weight", id).unwrap_err();
            assert!(e.to_string().contains(name) && e.to_string().contains("token_embd.weight"), "{e}");
        }
    }
}
