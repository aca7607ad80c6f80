//! Q4_1: 32 weights per block, `w = d * q + m` with 4-bit `q`.
//!
//! File block (20 bytes): `d: f16` at 0, `m: f16` at 2, `qs[16]` at 4. Byte `qs[j]` holds weight
//! `j` in its low nibble and weight `j + 16` in its high nibble.
//!
//! GPU block (20 bytes): identical (every field is already 4-byte aligned).

use super::layout::{Field, Layout};

pub(crate) const D: Field = Field::new(0, 0, 2);
pub(crate) const M: Field = Field::new(2, 2, 2);
pub(crate) const QS: Field = Field::new(4, 4, 16);
pub(crate) const FIELDS: &[Field] = &[D, M, QS];

/// Dequantize one block (`out.len() == 32`).
pub(crate) fn dequant_block(block: &[u8], layout: Layout, out: &mut [f32]) {
    let d = D.f16(block, layout);
    let m = M.f16(block, layout);
    let qs = QS.get(block, layout);
    for (j, &q) in qs.iter().enumerate() {
        // (d * q) + m, two roundings as in ggml.
        out[j] = d * (q & 0x0f) as f32 + m;
        out[j + 16] = d * (q >> 4) as f32 + m;
    }
}
