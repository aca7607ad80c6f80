//! Q5_0: 32 weights per block, `w = d * (q - 16)` with 5-bit `q`.
//!
//! File block (22 bytes): `d: f16` at 0, `qh[4]` at 2, `qs[16]` at 6. `qs[j]` holds the low 4 bits
//! of weight `j` (low nibble) and of weight `j + 16` (high nibble); bit `i` of the little-endian
//! u32 `qh` is the fifth bit of weight `i`.
//!
//! GPU block (24 bytes): `d: f16` at 0, 2 zero bytes, `qh` at 4 (one u32), `qs[16]` at 8.

use super::layout::{Field, Layout};

pub(crate) const D: Field = Field::new(0, 0, 2);
pub(crate) const QH: Field = Field::new(2, 4, 4);
pub(crate) const QS: Field = Field::new(6, 8, 16);
pub(crate) const FIELDS: &[Field] = &[D, QH, QS];

/// Dequantize one block (`out.len() == 32`).
pub(crate) fn dequant_block(block: &[u8], layout: Layout, out: &mut [f32]) {
    let d = D.f16(block, layout);
    let h = QH.get(block, layout);
    let qh = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    let qs = QS.get(block, layout);
    for (j, &q) in qs.iter().enumerate() {
        let lo = (q & 0x0f) as u32 | ((qh >> j) & 1) << 4;
        let hi = (q >> 4) as u32 | ((qh >> (j + 16)) & 1) << 4;
        out[j] = (lo as i32 - 16) as f32 * d;
        out[j + 16] = (hi as i32 - 16) as f32 * d;
    }
}
