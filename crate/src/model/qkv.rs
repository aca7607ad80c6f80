//! A layer's q, k and v projections as few weights as their block types allow, so that one
//! mat-mul dispatch computes several of them.
//!
//! The forward pass keeps the projections of a token in one row of a `qkv` activation
//! `[T, q_dim + 2 kv_dim]`: its queries, then its keys, then its values (`shaders/qk_rope.wgsl`
//! and `attention.wgsl` read them there). Weights of one block type are stacked at upload by
//! concatenating their rows in that order (q | k | v), so their mat-mul writes consecutive
//! columns of that row; projections of different types stay apart and write their own columns,
//! unless they mix legacy types with Q8_0, which widen to one Q8_0 stack ([`stacks`]).
//! gemma-3-270m's Q4_K_M file has q and k in Q5_0 and v in Q5_0 or Q8_0: one dispatch instead
//! of three. Phi-3's fused `attn_qkv` tensor is already the stacked weight.

use crate::error::{Error, Result};
use crate::gpu::GpuWeight;
use crate::model::hparams::HParams;
use crate::quant::widen::can_widen;
use crate::quant::QuantType;
use std::collections::HashMap;

/// The three projections, in their order within a `qkv` row.
pub const PROJECTIONS: [&str; 3] = ["q", "k", "v"];

/// One weight of the projections and the first `qkv` column its rows go to.
pub struct QkvPart {
    pub w: GpuWeight,
    pub col0: u64,
}

/// The GGUF tensor name of projection `p` (one of [`PROJECTIONS`]) of layer `il`.
pub fn tensor_name(il: u32, p: &str) -> String {
    format!("blk.{il}.attn_{p}.weight")
}

/// The stacked weight's name for the consecutive projections `ps` (e.g. `["q", "k"]`) of layer
/// `il`: `blk.N.attn_qk` (not a GGUF tensor name: no `.weight`).
pub fn stacked_name(il: u32, ps: &[&str]) -> String {
    format!("blk.{il}.attn_{}", ps.concat())
}

/// The projections grouped into runs of one block type, in order: each run of two or more
/// is stacked into one weight.
pub fn groups<T: PartialEq>(types: [T; 3]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    for i in 0..3 {
        match out.last_mut() {
            Some(run) if types[run[0]] == types[i] => run.push(i),
            _ => out.push(vec![i]),
        }
    }
    out
}

/// The stacks of a layer's projections, with the block type each is stored in: the runs of one
/// type ([`groups`]), except that q, k and v mixing Q4_0 or Q5_0 with Q8_0 become one Q8_0
/// stack, the narrower blocks widened at upload without changing a weight (`quant::widen`):
/// gemma-3-270m's file has q and k in Q5_0 and v in Q8_0 in half its layers.
pub fn stacks(types: [QuantType; 3]) -> Vec<(Vec<usize>, QuantType)> {
    let q8 = QuantType::Q8_0;
    let widen = types.contains(&q8) && types.iter().all(|&t| t == q8 || can_widen(t, q8));
    if widen && types.iter().any(|&t| t != q8) {
        return vec![(vec![0, 1, 2], q8)];
    }
    groups(types).into_iter().map(|run| (run.clone(), types[run[0]])).collect()
}

/// The block type each projection is stored in (see [`stacks`]).
pub fn stored_types(types: [QuantType; 3]) -> [QuantType; 3] {
    let mut out = types;
    for (run, ty) in stacks(types) {
        for p in run {
            out[p] = ty;
        }
    }
    out
}

/// Rows of each projection: `[q_dim, kv_dim, kv_dim]`.
pub fn rows(hp: &HParams) -> [u64; 3] {
    [hp.q_dim() as u64, hp.kv_dim() as u64, hp.kv_dim() as u64]
}

/// Takes layer `il`'s projection weights out of `by_name` — stacked or single — with the
/// `qkv` column each starts at.
pub fn take_parts(hp: &HParams, il: u32, by_name: &mut HashMap<String, GpuWeight>) -> Result<Vec<QkvPart>> {
    let rows = rows(hp);
    let mut parts = Vec::new();
    let (mut i, mut col0) = (0, 0);
    while i < 3 {
        // The longest stack starting at projection i, else the projection alone.
        let found = (i + 1..=3).rev().find_map(|end| {
            let name = if end - i == 1 {
                tensor_name(il, PROJECTIONS[i])
            } else {
                stacked_name(il, &PROJECTIONS[i..end])
            };
            by_name.remove(&name).map(|w| (w, end))
        });
        let Some((w, end)) = found else {
            return Err(Error::InvalidModel(format!("missing tensor {}", tensor_name(il, PROJECTIONS[i]))));
        };
        let want: u64 = rows[i..end].iter().sum();
        if w.rows != want {
            return Err(Error::InvalidModel(format!("{} has {} rows, expected {want}", w.name, w.rows)));
        }
        parts.push(QkvPart { w, col0 });
        col0 += want;
        i = end;
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::groups;

    #[test]
    fn runs_of_one_type_are_grouped_in_order() {
        assert_eq!(groups([1, 1, 1]), vec![vec![0, 1, 2]]);
        assert_eq!(groups([1, 1, 2]), vec![vec![0, 1], vec![2]]);
        assert_eq!(groups([1, 2, 2]), vec![vec![0], vec![1, 2]]);
        assert_eq!(groups([1, 2, 1]), vec![vec![0], vec![1], vec![2]]);
    }

    #[test]
    fn legacy_types_mixed_with_q8_0_become_one_q8_0_stack() {
        use super::{stacks, stored_types};
        use crate::quant::QuantType::{Q4_0, Q4_K, Q5_0, Q6_K, Q8_0};
        assert_eq!(stacks([Q5_0, Q5_0, Q8_0]), vec![(vec![0, 1, 2], Q8_0)]);
        assert_eq!(stacks([Q4_0, Q8_0, Q5_0]), vec![(vec![0, 1, 2], Q8_0)]);
        assert_eq!(stored_types([Q5_0, Q5_0, Q8_0]), [Q8_0; 3]);
        // One type already, or a type that cannot widen: as the runs are.
        assert_eq!(stacks([Q5_0, Q5_0, Q5_0]), vec![(vec![0, 1, 2], Q5_0)]);
        assert_eq!(stacks([Q4_K, Q4_K, Q6_K]), vec![(vec![0, 1], Q4_K), (vec![2], Q6_K)]);
        assert_eq!(stacks([Q4_0, Q5_0, Q5_0]), vec![(vec![0], Q4_0), (vec![1, 2], Q5_0)]);
        assert_eq!(stacks([Q4_K, Q5_0, Q8_0]), vec![(vec![0], Q4_K), (vec![1], Q5_0), (vec![2], Q8_0)]);
    }
}
