//! Attention of one decoded token, with its prologue (shaders/attention_decode.wgsl) and, for
//! long contexts, split over several workgroups per head (flash-decoding, merged by
//! shaders/attention_combine.wgsl).
//!
//! A decoded token's q/k norms, RoPE and K/V cache writes run inside the attention dispatch
//! (a batch runs them as [`Batch::qk_rope`], then [`Batch::attention`]): each workgroup
//! prepares its query and its kv head's new key itself, which costs a few hundred
//! multiply-adds and saves a dispatch per layer. The keys are split when a head alone would
//! have a long serial loop: see [`decode_splits`].

use super::{Batch, PipelineKey, QkNorms, QkRopeArgs, RopeMode};
use crate::error::Error;
use crate::gpu::GpuWeight;
use crate::quant::QuantType;

/// Uniforms of shaders/attention_decode.wgsl (`DecodeAttentionParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct DecodeAttentionParams {
    pub n_head: u32,
    pub n_kv_head: u32,
    pub head_dim: u32,
    pub pos: u32,
    pub key0: u32,
    pub splits: u32,
    pub split_len: u32,
    pub capacity: u32,
    pub scale: f32,
    pub softcap: f32,
    pub eps: f32,
    pub n_rot: u32,
    pub mode: u32,
    pub log2_base: f32,
    pub freq_scale: f32,
    pub _pad: u32,
}

/// Uniforms of shaders/attention_combine.wgsl (`CombineParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct CombineParams {
    pub n_head: u32,
    pub head_dim: u32,
    pub splits: u32,
    pub _pad: u32,
}

/// Key ranges a head's keys are cut into at most.
pub const MAX_DECODE_SPLITS: u32 = 32;
/// A range gets at least this many keys: below it, the extra combine dispatch costs more
/// than the shorter loop saves.
const MIN_SPLIT_KEYS: u32 = 256;
/// Workgroups a split decode attention aims for (query heads × splits): enough to keep a
/// desktop GPU's compute units busy, few enough that the merge stays small.
const TARGET_WORKGROUPS: u32 = 128;

/// How the `n_keys` visible keys of a decoded token are split for `n_head` query heads:
/// `(splits, keys per split)`, every split non-empty. One split (no merge dispatch) up to
/// [`MIN_SPLIT_KEYS`] × 2 keys.
pub fn decode_splits(n_head: u32, n_keys: u32) -> (u32, u32) {
    let by_keys = n_keys / MIN_SPLIT_KEYS;
    let wanted = TARGET_WORKGROUPS.div_ceil(n_head.max(1));
    let splits = wanted.min(by_keys).clamp(1, MAX_DECODE_SPLITS);
    let len = n_keys.div_ceil(splits).max(1);
    (n_keys.div_ceil(len).max(1), len)
}

/// Floats of the partials buffer a split decode attention of `n_head` heads of `head_dim`
/// needs (for any number of splits).
pub fn decode_partials_len(n_head: u32, head_dim: u32) -> u64 {
    n_head as u64 * MAX_DECODE_SPLITS as u64 * (head_dim as u64 + 2)
}

/// Attention settings of one decoded token (its RoPE and norms come with [`QkRopeArgs`]).
#[derive(Clone, Copy, Debug)]
pub struct DecodeAttentionArgs {
    /// Shapes, the token's position (`pos0`; `n_tokens` must be 1), RoPE and norm settings.
    pub rope: QkRopeArgs,
    /// Sliding window: key j is visible iff `pos - j < window`; 0 = unlimited.
    pub window: u32,
    /// Multiplies q·k.
    pub scale: f32,
    /// Logit soft-capping `c · tanh(s / c)`; 0 = off.
    pub softcap: f32,
    /// Split the keys into this many ranges instead of [`decode_splits`]'s choice (tests).
    pub force_splits: Option<u32>,
}

impl Batch<'_> {
    /// One decoded token's attention: from `qkv [n_head + 2 n_kv_head, head_dim]` (its
    /// projections, before norms and RoPE) to `out [n_head, head_dim]`, appending its key and
    /// value at position `pos0` of `k_cache [n_kv_head, head_dim, capacity]` (position fastest)
    /// and `v_cache [capacity, n_kv_head, head_dim]` (in `a.rope.kv`), which hold positions
    /// `0 .. pos0`. Equal,
    /// to rounding, to [`Batch::qk_rope`] followed by [`Batch::attention`]. `partials` (at least
    /// [`decode_partials_len`] floats) is scratch for a split run. One dispatch, two when split.
    #[allow(clippy::too_many_arguments)]
    pub fn attention_decode(
        &mut self,
        a: &DecodeAttentionArgs,
        qkv: &wgpu::Buffer,
        norms: Option<QkNorms>,
        freq_factors: &GpuWeight,
        k_cache: &wgpu::Buffer,
        v_cache: &wgpu::Buffer,
        partials: &wgpu::Buffer,
        out: &wgpu::Buffer,
    ) {
        let r = &a.rope;
        let hd = r.head_dim;
        let f = freq_factors;
        let bad_shape = r.n_tokens != 1
            || r.n_head == 0
            || r.n_kv_head == 0
            || !r.n_head.is_multiple_of(r.n_kv_head)
            || hd == 0
            || !hd.is_multiple_of(2)
            || hd > super::attention::MAX_HEAD_DIM
            || r.n_rot == 0
            || !r.n_rot.is_multiple_of(2)
            || r.n_rot > hd
            || r.base.is_nan()
            || r.base <= 0.0
            || r.pos0 >= r.capacity;
        if bad_shape || f.ty != QuantType::F32 || f.cols != (r.n_rot / 2) as u64 || f.parts.len() != 1 {
            return self.fail(Error::InvalidArgument(format!(
                "attention_decode: bad arguments {a:?} or frequency factors {} [{}, {}]",
                f.ty.name(),
                f.rows,
                f.cols
            )));
        }
        if let Some(n) = &norms {
            if [n.q, n.k].iter().any(|w| w.ty != QuantType::F32 || w.cols != hd as u64 || w.parts.len() != 1)
            {
                return self.fail(Error::InvalidArgument(format!(
                    "attention_decode: q/k norms must be F32 [1, {hd}]"
                )));
            }
        }
        if out == qkv || out == partials || partials == qkv {
            return self
                .fail(Error::InvalidArgument("attention_decode: out, partials and qkv must differ".into()));
        }
        let (nh, kv) = (r.n_head as u64, r.n_kv_head as u64 * hd as u64);
        let cache = r.capacity as u64 * kv * r.kv.bytes();
        if !self.need("attention_decode qkv", qkv, (nh * hd as u64 + 2 * kv) * 4)
            || !self.need("attention_decode k_cache", k_cache, cache)
            || !self.need("attention_decode v_cache", v_cache, cache)
            || !self.need("attention_decode out", out, nh * hd as u64 * 4)
        {
            return;
        }
        let pos = r.pos0;
        let key0 = if a.window > 0 && pos + 1 > a.window { pos + 1 - a.window } else { 0 };
        let n_keys = pos + 1 - key0;
        let (splits, split_len) = match a.force_splits {
            Some(s) => {
                let len = n_keys.div_ceil(s.clamp(1, MAX_DECODE_SPLITS));
                (n_keys.div_ceil(len), len)
            }
            None => decode_splits(r.n_head, n_keys),
        };
        if splits > 1
            && !self.need("attention_decode partials", partials, decode_partials_len(r.n_head, hd) * 4)
        {
            return;
        }
        let params = DecodeAttentionParams {
            n_head: r.n_head,
            n_kv_head: r.n_kv_head,
            head_dim: hd,
            pos,
            key0,
            splits,
            split_len,
            capacity: r.capacity,
            scale: a.scale,
            softcap: a.softcap,
            eps: r.eps,
            n_rot: r.n_rot,
            mode: match r.mode {
                RopeMode::Neox => 0,
                RopeMode::Normal => 1,
            },
            log2_base: (r.base as f64).log2() as f32,
            freq_scale: r.freq_scale,
            _pad: 0,
        };
        let target = if splits > 1 { partials } else { out };
        let io = [(1, qkv), (4, &f.parts[0].buffer), (5, k_cache), (6, v_cache), (7, target)];
        let reduction = self.ctx.variants.reduction;
        match norms {
            Some(n) => {
                // Every workgroup reads both norm vectors.
                self.weight_read(nh * splits as u64 * 2 * n.q.row_bytes);
                let mut bindings = io.to_vec();
                bindings.extend([(2, &*n.q.parts[0].buffer), (3, &*n.k.parts[0].buffer)]);
                let key = PipelineKey::AttentionDecode { norm: true, reduction, kv: r.kv };
                self.dispatch(key, &params, &bindings, (r.n_head, splits, 1));
            }
            None => {
                let key = PipelineKey::AttentionDecode { norm: false, reduction, kv: r.kv };
                self.dispatch(key, &params, &io, (r.n_head, splits, 1));
            }
        }
        if splits > 1 {
            let params = CombineParams { n_head: r.n_head, head_dim: hd, splits, _pad: 0 };
            self.dispatch(
                PipelineKey::AttentionCombine,
                &params,
                &[(1, partials), (2, out)],
                (r.n_head, 1, 1),
            );
        }
    }
}
