//! Q5_1: 32 weights per block, `w = d * q + m` with 5-bit `q`.
//!
//! File block (24 bytes): `d: f16` at 0, `m: f16` at 2, `qh[4]` at 4, `qs[16]` at 8. The bits
//! are laid out as Q5_0's: `qs[j]` holds the low 4 bits of weight `j` (low nibble) and of weight
//! `j + 16` (high nibble); bit `i` of the little-endian u32 `qh` is the fifth bit of weight `i`.
//!
//! GPU block (24 bytes): identical (every field is already 4-byte aligned).

use super::layout::{Field, Layout};

pub(crate) const D: Field = Field::new(0, 0, 2);
pub(crate) const M: Field = Field::new(2, 2, 2);
pub(crate) const QH: Field = Field::new(4, 4, 4);
pub(crate) const QS: Field = Field::new(8, 8, 16);
pub(crate) const FIELDS: &[Field] = &[D, M, QH, QS];

/// Dequantize one block (`out.len() == 32`).
pub(crate) fn dequant_block(block: &[u8], layout: Layout, out: &mut [f32]) {
    let d = D.f16(block, layout);
    let m = M.f16(block, layout);
    let h = QH.get(block, layout);
    let qh = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    let qs = QS.get(block, layout);
    for (j, &q) in qs.iter().enumerate() {
        let lo = (q & 0x0f) as u32 | ((qh >> j) & 1) << 4;
        let hi = (q >> 4) as u32 | ((qh >> (j + 16)) & 1) << 4;
        out[j] = d * lo as f32 + m;
        out[j + 16] = d * hi as f32 + m;
    }
}
