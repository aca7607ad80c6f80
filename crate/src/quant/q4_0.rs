//! Q4_0: 32 weights per block, `w = d * (q - 8)` with 4-bit `q`.
//!
//! File block (18 bytes): `d: f16` at 0, `qs[16]` at 2. Byte `qs[j]` holds weight `j` in its low
//! nibble and weight `j + 16` in its high nibble.
//!
//! GPU block (20 bytes): `d: f16` at 0, 2 zero bytes, `qs[16]` at 4 (as in the file).

use super::layout::{Field, Layout};

pub(crate) const D: Field = Field::new(0, 0, 2);
pub(crate) const QS: Field = Field::new(2, 4, 16);
pub(crate) const FIELDS: &[Field] = &[D, QS];

/// Dequantize one block (`out.len() == 32`).
pub(crate) fn dequant_block(block: &[u8], layout: Layout, out: &mut [f32]) {
    let d = D.f16(block, layout);
    let qs = QS.get(block, layout);
    for (j, &q) in qs.iter().enumerate() {
        out[j] = ((q & 0x0f) as i32 - 8) as f32 * d;
        out[j + 16] = ((q >> 4) as i32 - 8) as f32 * d;
    }
}
