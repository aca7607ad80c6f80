//! Lossless widening of Q4_0 and Q5_0 blocks to Q8_0, at upload.
//!
//! All three have 32 weights per block and one f16 scale `d`: a Q4_0 weight is `d * (q - 8)` and
//! a Q5_0 weight `d * (q - 16)` with `q` of 4 or 5 bits, so `q - 8` or `q - 16` is a signed byte
//! and the same `d` makes it a Q8_0 weight of exactly the same value. Stacking a layer's q, k and
//! v projections into one weight (`model::qkv`) needs one block type; gemma-3-270m's file has q
//! and k in Q5_0 and v in Q8_0 in half its layers, so widening q and k lets one mat-vec compute
//! all three (one dispatch instead of two) for 1.5 times their bytes — 1 % of a token's weight
//! reads there, against a dispatch per layer.

use super::QuantType;
use crate::error::{Error, Result};

/// Whether blocks of `from` can be rewritten as blocks of `to` without changing a weight.
pub fn can_widen(from: QuantType, to: QuantType) -> bool {
    to == QuantType::Q8_0 && matches!(from, QuantType::Q4_0 | QuantType::Q5_0)
}

/// Bytes of a Q8_0 block (f16 `d`, then 32 signed bytes).
const Q8_0_BLOCK: usize = 34;

/// Rewrites a stream of `from` blocks (in any chunking) as Q8_0 blocks.
pub struct Widener {
    from: QuantType,
    /// The start of a block a chunk ended in the middle of.
    carry: Vec<u8>,
}

impl Widener {
    /// Errors ([`Error::InvalidArgument`]) unless [`can_widen`]`(from, to)`.
    pub fn new(from: QuantType, to: QuantType) -> Result<Self> {
        if !can_widen(from, to) {
            return Err(Error::InvalidArgument(format!("cannot widen {} to {}", from.name(), to.name())));
        }
        Ok(Widener { from, carry: Vec::new() })
    }

    /// Appends to `out` the Q8_0 blocks of every whole `from` block `bytes` completes.
    pub fn push(&mut self, mut bytes: &[u8], out: &mut Vec<u8>) {
        let size = self.from.block_bytes();
        if !self.carry.is_empty() {
            let take = (size - self.carry.len()).min(bytes.len());
            self.carry.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.carry.len() < size {
                return;
            }
            widen_block(self.from, &self.carry, out);
            self.carry.clear();
        }
        let whole = bytes.len() / size * size;
        out.reserve(whole / size * Q8_0_BLOCK);
        for block in bytes[..whole].chunks_exact(size) {
            widen_block(self.from, block, out);
        }
        self.carry.extend_from_slice(&bytes[whole..]);
    }

    /// Q8_0 bytes of `n` bytes of `from` blocks (a whole number of blocks).
    pub fn widened_len(&self, n: u64) -> u64 {
        n / self.from.block_bytes() as u64 * Q8_0_BLOCK as u64
    }
}

/// One file block of `from` (Q4_0 or Q5_0) as a Q8_0 file block.
fn widen_block(from: QuantType, block: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&block[..2]); // d
    let (qh, qs, zero) = match from {
        QuantType::Q5_0 => (u32::from_le_bytes([block[2], block[3], block[4], block[5]]), &block[6..22], 16),
        _ => (0, &block[2..18], 8), // Q4_0: no fifth bits
    };
    let q = |j: usize, nibble: u8| (nibble as i32 | (((qh >> j) & 1) << 4) as i32) - zero;
    for (j, &b) in qs.iter().enumerate() {
        out.push(q(j, b & 0x0f) as i8 as u8);
    }
    for (j, &b) in qs.iter().enumerate() {
        out.push(q(j + 16, b >> 4) as i8 as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::dequantize;

    /// Random blocks with sane f16 scales (finite, not NaN).
    fn blocks(ty: QuantType, n: usize, seed: u64) -> Vec<u8> {
        let mut s = seed;
        let mut next = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 33) as u8
        };
        let mut out = Vec::new();
        for _ in 0..n {
            let d = half::f16::from_f32((next() as f32 - 128.0) / 64.0);
            out.extend_from_slice(&d.to_le_bytes());
            out.extend((2..ty.block_bytes()).map(|_| next()));
        }
        out
    }

    #[test]
    fn widened_blocks_dequantize_to_the_same_weights_in_any_chunking() {
        for ty in [QuantType::Q4_0, QuantType::Q5_0] {
            let src = blocks(ty, 37, ty.block_bytes() as u64);
            let mut want = vec![0f32; 37 * 32];
            dequantize(ty, &src, &mut want).unwrap();
            for chunk in [1, 7, ty.block_bytes(), 100, src.len()] {
                let mut w = Widener::new(ty, QuantType::Q8_0).unwrap();
                let mut out = Vec::new();
                for piece in src.chunks(chunk) {
                    w.push(piece, &mut out);
                }
                assert_eq!(out.len() as u64, w.widened_len(src.len() as u64));
                let mut got = vec![0f32; 37 * 32];
                dequantize(QuantType::Q8_0, &out, &mut got).unwrap();
                assert_eq!(got, want, "{} in chunks of {chunk}", ty.name());
            }
        }
    }

    #[test]
    fn only_legacy_blocks_widen_and_only_to_q8_0() {
        assert!(Widener::new(QuantType::Q5_0, QuantType::Q8_0).is_ok());
        for (from, to) in [
            (QuantType::Q4_K, QuantType::Q8_0),
            (QuantType::Q4_0, QuantType::Q5_0),
            (QuantType::Q8_0, QuantType::Q8_0),
        ] {
            assert_eq!(Widener::new(from, to).err().map(|e| e.code()), Some("invalid_argument"));
        }
    }
}
