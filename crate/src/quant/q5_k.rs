//! Q5_K: a super-block of 256 weights in 8 sub-blocks of 32;
//! `w = d * sc[s] * q - dmin * m[s]` with 5-bit `q` (scales and mins packed as in Q4_K).
//!
//! File block (176 bytes): `d: f16` at 0, `dmin: f16` at 2, `scales[12]` at 4, `qh[32]` at 16,
//! `qs[128]` at 48. GPU block (176 bytes): identical (already 4-byte aligned).
//!
//! The low 4 bits of `q` are laid out as Q4_K's `qs`; the fifth bit of weight `l` of sub-block
//! `s` is bit `s` of `qh[l]`.

use super::layout::{Field, Layout};
use super::q4_k::scale_min;

pub(crate) const D: Field = Field::new(0, 0, 2);
pub(crate) const DMIN: Field = Field::new(2, 2, 2);
pub(crate) const SCALES: Field = Field::new(4, 4, 12);
pub(crate) const QH: Field = Field::new(16, 16, 32);
pub(crate) const QS: Field = Field::new(48, 48, 128);
pub(crate) const FIELDS: &[Field] = &[D, DMIN, SCALES, QH, QS];

/// Dequantize one block (`out.len() == 256`).
pub(crate) fn dequant_block(block: &[u8], layout: Layout, out: &mut [f32]) {
    let d = D.f16(block, layout);
    let dmin = DMIN.f16(block, layout);
    let scales = SCALES.get(block, layout);
    let qh = QH.get(block, layout);
    let qs = QS.get(block, layout);
    for (c, chunk) in qs.chunks_exact(32).enumerate() {
        for half in 0..2 {
            let s = 2 * c + half;
            let (sc, m) = scale_min(scales, s);
            let (ds, dm) = (d * sc as f32, dmin * m as f32);
            let shift = 4 * half;
            for (l, (&q, &h)) in chunk.iter().zip(qh).enumerate() {
                let q5 = ((q >> shift) & 0x0f) | ((h >> s) & 1) << 4;
                out[32 * s + l] = ds * q5 as f32 - dm;
            }
        }
    }
}
