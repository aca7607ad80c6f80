//! Q3_K: a super-block of 256 weights in 16 sub-blocks of 16; `w = d * (sc[s] - 32) * q` with
//! 3-bit signed `q` in -4..3 and 6-bit sub-block scale `sc`.
//!
//! File block (110 bytes): `hmask[32]` at 0, `qs[64]` at 32, `scales[12]` at 96, `d: f16` at 108.
//!
//! GPU block (112 bytes): `d: f16` at 0, 2 zero bytes, `hmask[32]` at 4, `qs[64]` at 36,
//! `scales[12]` at 100.
//!
//! Weight `i` (half `n = i / 128`, `k = (i % 128) / 32`, `l = i % 32`): low 2 bits are bits
//! `2k..2k+2` of `qs[32n + l]` (as Q2_K); `q = low - 4` unless bit `i / 32` of `hmask[l]` is set,
//! then `q = low`. The scale of sub-block `s` has low 4 bits from `scales[s]` (s < 8, low nibble)
//! or `scales[s - 8]` (s >= 8, high nibble), and high 2 bits from bits `2(s / 4)..` of
//! `scales[8 + s % 4]`.

use super::layout::{Field, Layout};

pub(crate) const HMASK: Field = Field::new(0, 4, 32);
pub(crate) const QS: Field = Field::new(32, 36, 64);
pub(crate) const SCALES: Field = Field::new(96, 100, 12);
pub(crate) const D: Field = Field::new(108, 0, 2);
pub(crate) const FIELDS: &[Field] = &[HMASK, QS, SCALES, D];

/// The signed scale of sub-block `s` (0..16) from the 12 packed `scales` bytes.
pub(crate) fn scale(scales: &[u8], s: usize) -> i32 {
    let low = if s < 8 { scales[s] & 0x0f } else { scales[s - 8] >> 4 };
    let high = (scales[8 + s % 4] >> (2 * (s / 4))) & 3;
    (low | high << 4) as i32 - 32
}

/// Dequantize one block (`out.len() == 256`).
pub(crate) fn dequant_block(block: &[u8], layout: Layout, out: &mut [f32]) {
    let d = D.f16(block, layout);
    let hmask = HMASK.get(block, layout);
    let qs = QS.get(block, layout);
    let scales = SCALES.get(block, layout);
    for (i, o) in out.iter_mut().enumerate() {
        let (n, k, l) = (i / 128, (i % 128) / 32, i % 32);
        let low = ((qs[32 * n + l] >> (2 * k)) & 3) as i32;
        let q = if (hmask[l] >> (i / 32)) & 1 == 1 { low } else { low - 4 };
        // (d * scale) * q, in ggml's order, so results are bit-equal.
        *o = d * scale(scales, i / 16) as f32 * q as f32;
    }
}
