//! Q8_0: 32 weights per block, `w = d * q` with signed 8-bit `q`.
//!
//! File block (34 bytes): `d: f16` at 0, `qs[32]: i8` at 2.
//!
//! GPU block (36 bytes): `d: f16` at 0, 2 zero bytes, `qs[32]: i8` at 4.

use super::layout::{Field, Layout};

pub(crate) const D: Field = Field::new(0, 0, 2);
pub(crate) const QS: Field = Field::new(2, 4, 32);
pub(crate) const FIELDS: &[Field] = &[D, QS];

/// Dequantize one block (`out.len() == 32`).
pub(crate) fn dequant_block(block: &[u8], layout: Layout, out: &mut [f32]) {
    let d = D.f16(block, layout);
    for (o, &q) in out.iter_mut().zip(QS.get(block, layout)) {
        *o = (q as i8) as f32 * d;
    }
}
