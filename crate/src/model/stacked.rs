//! A layer's gate and up projections stacked into one weight at upload, so that the gated
//! feed-forward input is one mat-mul dispatch (`Batch::matmul_glu`) instead of two mat-muls and
//! an activation.
//!
//! Rows are interleaved in pairs: stacked rows `4j .. 4j + 4` are gate `2j`, gate `2j + 1`, up
//! `2j`, up `2j + 1`. A kernel that holds the dot products of 4 consecutive rows (the mat-vec's
//! quad, half of the mat-mul's octet) thus has both factors of `act[2j]` and `act[2j + 1]`.
//! Pairs (not single rows) keep the uploads few: each write is two whole rows.

use crate::error::{Error, Result};
use crate::gpu::{GpuContext, GpuWeight};
use crate::quant::QuantType;

/// Stacked weights' parts start at multiples of this many rows (the GLU's quads).
pub const ROW_GROUP: u64 = 4;

/// The stacked weight's name for layer `il` (not a GGUF tensor name).
pub fn stacked_name(il: u32) -> String {
    format!("blk.{il}.ffn_gate_up")
}

/// Whether a layer's gate and up can share one weight: same block type, whole pairs of rows.
pub fn can_stack(n_ff: u64, gate: QuantType, up: QuantType) -> bool {
    gate == up && n_ff > 0 && n_ff.is_multiple_of(2)
}

/// Allocates the stacked weight of `n_ff` gate and `n_ff` up rows of `cols` elements.
pub fn create(ctx: &GpuContext, il: u32, ty: QuantType, n_ff: u64, cols: u64) -> Result<GpuWeight> {
    ctx.create_weight_in_groups(&stacked_name(il), ty, 2 * n_ff, cols, ROW_GROUP)
}

/// Writes `data` into the stacked weight `w`. `data` starts at byte `offset` of a source that
/// holds one or both halves in GPU layout, gate rows before up rows: `first_half` says which
/// half the source starts with (0: gate; 1: up). A plain `ffn_gate` or `ffn_up` tensor is one
/// half; Phi-3's fused `ffn_up` is both.
pub fn write(
    ctx: &GpuContext,
    w: &GpuWeight,
    first_half: u64,
    mut offset: u64,
    mut data: &[u8],
) -> Result<()> {
    let pair = 2 * w.row_bytes;
    let half_bytes = w.rows / 2 * w.row_bytes;
    while !data.is_empty() {
        let half = first_half + offset / half_bytes;
        if half > 1 {
            return Err(Error::InvalidModel(format!("{} bytes past the end of {}", data.len(), w.name)));
        }
        let in_half = offset % half_bytes;
        let (unit, within) = (in_half / pair, in_half % pair);
        let n = ((pair - within) as usize).min(data.len());
        ctx.write_weight(w, (2 * unit + half) * pair + within, &data[..n])?;
        data = &data[n..];
        offset += n as u64;
    }
    Ok(())
}
