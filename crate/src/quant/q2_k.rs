//! Q2_K: a super-block of 256 weights in 16 sub-blocks of 16;
//! `w = d * sc[s] * q - dmin * m[s]` with 2-bit `q` and 4-bit sub-block scale `sc` and min `m`.
//!
//! File block (84 bytes): `scales[16]` at 0, `qs[64]` at 16, `d: f16` at 80, `dmin: f16` at 82.
//!
//! GPU block (84 bytes): `d: f16` at 0, `dmin: f16` at 2, `scales[16]` at 4, `qs[64]` at 20.
//!
//! `scales[s]` holds sub-block `s`'s scale in its low nibble and its min in its high nibble.
//! The block is two halves of 128 weights; half `n` uses `qs[32n..32n+32]`: weight `32k + l` of
//! the half (k in 0..4, l in 0..32) is bits `2k..2k+2` of `qs[32n + l]`.

use super::layout::{Field, Layout};

pub(crate) const SCALES: Field = Field::new(0, 4, 16);
pub(crate) const QS: Field = Field::new(16, 20, 64);
pub(crate) const D: Field = Field::new(80, 0, 2);
pub(crate) const DMIN: Field = Field::new(82, 2, 2);
pub(crate) const FIELDS: &[Field] = &[SCALES, QS, D, DMIN];

/// Dequantize one block (`out.len() == 256`).
pub(crate) fn dequant_block(block: &[u8], layout: Layout, out: &mut [f32]) {
    let d = D.f16(block, layout);
    let dmin = DMIN.f16(block, layout);
    let scales = SCALES.get(block, layout);
    let qs = QS.get(block, layout);
    for (i, o) in out.iter_mut().enumerate() {
        let (n, k, l) = (i / 128, (i % 128) / 32, i % 32);
        let sc = scales[i / 16];
        // (d * scale) * q - (dmin * min), in ggml's order, so results are bit-equal.
        let (dl, ml) = (d * (sc & 0x0f) as f32, dmin * (sc >> 4) as f32);
        let q = (qs[32 * n + l] >> (2 * k)) & 3;
        *o = dl * q as f32 - ml;
    }
}
