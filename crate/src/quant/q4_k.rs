//! Q4_K: a super-block of 256 weights in 8 sub-blocks of 32;
//! `w = d * sc[s] * q - dmin * m[s]` with 4-bit `q` and 6-bit sub-block scale `sc` and min `m`.
//!
//! File block (144 bytes): `d: f16` at 0, `dmin: f16` at 2, `scales[12]` at 4, `qs[128]` at 16.
//! GPU block (144 bytes): identical (every field is already 4-byte aligned).
//!
//! `scales` packs eight 6-bit (sc, m) pairs: for s < 4, `sc = scales[s] & 63`,
//! `m = scales[s + 4] & 63`; for s >= 4, the low 4 bits come from `scales[s + 4]` (sc: low
//! nibble, m: high nibble) and the top 2 bits from the top bits of `scales[s - 4]` (sc) and
//! `scales[s]` (m).
//!
//! `qs` is 4 chunks of 32 bytes; chunk `c` holds sub-block `2c` in its low nibbles and sub-block
//! `2c + 1` in its high nibbles (weight `l` of a sub-block is byte `l` of the chunk).

use super::layout::{Field, Layout};

pub(crate) const D: Field = Field::new(0, 0, 2);
pub(crate) const DMIN: Field = Field::new(2, 2, 2);
pub(crate) const SCALES: Field = Field::new(4, 4, 12);
pub(crate) const QS: Field = Field::new(16, 16, 128);
pub(crate) const FIELDS: &[Field] = &[D, DMIN, SCALES, QS];

/// The 6-bit scale and min of sub-block `s` (0..8) from the 12 packed `scales` bytes (shared
/// with Q5_K).
pub(crate) fn scale_min(scales: &[u8], s: usize) -> (u8, u8) {
    if s < 4 {
        (scales[s] & 63, scales[s + 4] & 63)
    } else {
        let sc = (scales[s + 4] & 0x0f) | ((scales[s - 4] >> 6) << 4);
        let m = (scales[s + 4] >> 4) | ((scales[s] >> 6) << 4);
        (sc, m)
    }
}

/// Dequantize one block (`out.len() == 256`).
pub(crate) fn dequant_block(block: &[u8], layout: Layout, out: &mut [f32]) {
    let d = D.f16(block, layout);
    let dmin = DMIN.f16(block, layout);
    let scales = SCALES.get(block, layout);
    let qs = QS.get(block, layout);
    for (c, chunk) in qs.chunks_exact(32).enumerate() {
        for half in 0..2 {
            let s = 2 * c + half;
            let (sc, m) = scale_min(scales, s);
            // Same operation order as ggml (scale, then q * scale - min) so results are bit-equal.
            let (ds, dm) = (d * sc as f32, dmin * m as f32);
            let shift = 4 * half;
            for (l, &q) in chunk.iter().enumerate() {
                out[32 * s + l] = ds * ((q >> shift) & 0x0f) as f32 - dm;
            }
        }
    }
}
