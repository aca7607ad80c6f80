//! Q6_K: a super-block of 256 weights in 16 sub-blocks of 16; `w = d * sc[s] * (q - 32)` with
//! 6-bit `q` and signed 8-bit sub-block scale `sc`.
//!
//! File block (210 bytes): `ql[128]` at 0, `qh[64]` at 128, `scales[16]: i8` at 192, `d: f16`
//! at 208.
//!
//! GPU block (212 bytes): `d: f16` at 0, 2 zero bytes, `ql[128]` at 4, `qh[64]` at 132,
//! `scales[16]: i8` at 196.
//!
//! The block is two halves of 128 weights; half `n` uses `ql[64n..64n+64]`, `qh[32n..32n+32]`,
//! `scales[8n..8n+8]`. Within a half, for `l` in 0..32, with `a = ql[l]`, `b = ql[l + 32]`,
//! `h = qh[l]`, the four weights are
//! `l`: low nibble of `a` | bits 0-1 of `h` << 4,
//! `l + 32`: low nibble of `b` | bits 2-3 of `h` << 4,
//! `l + 64`: high nibble of `a` | bits 4-5 of `h` << 4,
//! `l + 96`: high nibble of `b` | bits 6-7 of `h` << 4;
//! weight `i` of the half uses scale `i / 16`.

use super::layout::{Field, Layout};

pub(crate) const QL: Field = Field::new(0, 4, 128);
pub(crate) const QH: Field = Field::new(128, 132, 64);
pub(crate) const SCALES: Field = Field::new(192, 196, 16);
pub(crate) const D: Field = Field::new(208, 0, 2);
pub(crate) const FIELDS: &[Field] = &[QL, QH, SCALES, D];

/// Dequantize one block (`out.len() == 256`).
pub(crate) fn dequant_block(block: &[u8], layout: Layout, out: &mut [f32]) {
    let d = D.f16(block, layout);
    let ql = QL.get(block, layout);
    let qh = QH.get(block, layout);
    let scales = SCALES.get(block, layout);
    for n in 0..2 {
        let (ql, qh) = (&ql[64 * n..64 * n + 64], &qh[32 * n..32 * n + 32]);
        let out = &mut out[128 * n..128 * n + 128];
        for l in 0..32 {
            let (a, b, h) = (ql[l], ql[l + 32], qh[l]);
            let qs = [
                (a & 0x0f) | (h & 3) << 4,
                (b & 0x0f) | ((h >> 2) & 3) << 4,
                (a >> 4) | ((h >> 4) & 3) << 4,
                (b >> 4) | ((h >> 6) & 3) << 4,
            ];
            for (k, q) in qs.into_iter().enumerate() {
                let i = l + 32 * k;
                let sc = scales[8 * n + i / 16] as i8;
                // (d * sc) * q, in ggml's order, so results are bit-equal.
                out[i] = d * sc as f32 * (q as i32 - 32) as f32;
            }
        }
    }
}
