//! Causal attention over a KV cache (shaders/attention.wgsl).
//!
//! Online softmax: memory does not grow with the number of keys. A workgroup handles up to 8
//! query rows (token, head) of one kv head, so in prefill each K/V value loaded serves the whole
//! GQA group and neighbouring tokens; batches of fewer than 8 tokens keep one row per workgroup
//! so the heads run in parallel. The K cache is position-fastest (`[n_kv_head, head_dim,
//! capacity]`) so the invocations, one key each, read consecutive addresses. A decoded token
//! takes `attention_decode` instead (its prologue fused, long contexts split over workgroups).

use super::{Batch, KvType, PipelineKey};
use crate::error::Error;

/// Shapes and options of one [`Batch::attention`] call.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AttentionArgs {
    /// Query tokens, at positions `pos0 .. pos0 + n_tokens`.
    pub n_tokens: u32,
    pub n_head: u32,
    /// Must divide `n_head`; query head h uses kv head `h / (n_head / n_kv_head)`.
    pub n_kv_head: u32,
    /// At most 256.
    pub head_dim: u32,
    pub pos0: u32,
    /// Sliding window: key j is visible from position p iff `p - j < window`; 0 = unlimited.
    pub window: u32,
    /// Multiplies q·k (usually `1/sqrt(head_dim)`).
    pub scale: f32,
    /// Logit soft-capping `c · tanh(s / c)` (Gemma 2); 0 = off.
    pub softcap: f32,
    /// Positions the K cache holds (the stride of its position axis); at least `pos0 +
    /// n_tokens`.
    pub k_capacity: u32,
    /// Floats from one token's queries to the next's (the rows of a qkv projection hold the
    /// keys and values too); 0 means packed, `n_head * head_dim`.
    pub q_stride: u32,
    /// How the caches store their values.
    pub kv: KvType,
}

/// Uniforms of shaders/attention.wgsl (`AttentionParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct AttentionParams {
    pub n_tokens: u32,
    pub n_head: u32,
    pub n_kv_head: u32,
    pub head_dim: u32,
    pub pos0: u32,
    pub window: u32,
    pub scale: f32,
    pub softcap: f32,
    pub k_capacity: u32,
    pub rows: u32,
    pub q_stride: u32,
    pub _pad: u32,
}

/// Query rows a prefill workgroup handles at most (`MAX_ROWS` of its pipeline); decode uses a
/// pipeline built for one row, whose code has no masked rows to skip.
pub(crate) const PREFILL_ROWS: u32 = 8;

/// Largest head dimension attention.wgsl handles (2 dimension pairs per invocation × 64).
pub const MAX_HEAD_DIM: u32 = 256;

impl Batch<'_> {
    /// Causal attention: q `[n_tokens, n_head, head_dim]` (token t's at `t * q_stride`); k_cache `[n_kv_head, head_dim,
    /// k_capacity]` (position fastest, written by [`Batch::qk_rope`]) and v_cache
    /// `[capacity, n_kv_head, head_dim]` in `a.kv` (shaders/kv/), both holding positions
    /// `0 .. pos0 + n_tokens`; out `[n_tokens, n_head, head_dim]`. Softmax in f32. The head
    /// dimension must be even (the caches are read in pairs).
    pub fn attention(
        &mut self,
        q: &wgpu::Buffer,
        k_cache: &wgpu::Buffer,
        v_cache: &wgpu::Buffer,
        out: &wgpu::Buffer,
        a: &AttentionArgs,
    ) {
        if a.n_kv_head == 0
            || !a.n_head.is_multiple_of(a.n_kv_head)
            || a.head_dim == 0
            || !a.head_dim.is_multiple_of(2)
            || a.head_dim > MAX_HEAD_DIM
            || (a.k_capacity as u64) < a.pos0 as u64 + a.n_tokens as u64
        {
            return self.fail(Error::InvalidArgument(format!("attention: bad arguments {a:?}")));
        }
        if out == q || out == k_cache || out == v_cache {
            return self.fail(Error::InvalidArgument("attention: out aliases an input".into()));
        }
        if a.n_tokens == 0 || a.n_head == 0 {
            return;
        }
        let q_dim = a.n_head * a.head_dim;
        let q_stride = if a.q_stride == 0 { q_dim } else { a.q_stride };
        if q_stride < q_dim {
            return self.fail(Error::InvalidArgument(format!("attention: q_stride {q_stride} < {q_dim}")));
        }
        let q_bytes = a.n_tokens as u64 * q_dim as u64 * 4;
        let q_in_bytes = ((a.n_tokens as u64 - 1) * q_stride as u64 + q_dim as u64) * 4;
        let row_bytes = a.n_kv_head as u64 * a.head_dim as u64 * a.kv.bytes();
        let v_bytes = (a.pos0 as u64 + a.n_tokens as u64) * row_bytes;
        if !self.need("attention q", q, q_in_bytes)
            || !self.need("attention k_cache", k_cache, a.k_capacity as u64 * row_bytes)
            || !self.need("attention v_cache", v_cache, v_bytes)
            || !self.need("attention out", out, q_bytes)
        {
            return;
        }
        // Query rows of one kv head: (token, head of its group), token-major. Prefill shares
        // each K/V load among 8 rows; decode (a few rows) keeps one row per workgroup so the
        // heads run in parallel.
        let n_rows = a.n_tokens as u64 * (a.n_head / a.n_kv_head) as u64;
        let rows = if a.n_tokens >= PREFILL_ROWS { PREFILL_ROWS } else { 1 };
        let gx = n_rows.div_ceil(rows as u64);
        let max = self.ctx.limits.max_compute_workgroups_per_dimension as u64;
        if gx > max || a.n_kv_head as u64 > max {
            return self.fail(Error::DeviceLimit {
                what: "attention workgroups per dimension".into(),
                needed: gx.max(a.n_kv_head as u64),
                limit: max,
            });
        }
        let params = AttentionParams {
            n_tokens: a.n_tokens,
            n_head: a.n_head,
            n_kv_head: a.n_kv_head,
            head_dim: a.head_dim,
            pos0: a.pos0,
            window: a.window,
            scale: a.scale,
            softcap: a.softcap,
            k_capacity: a.k_capacity,
            rows,
            q_stride,
            _pad: 0,
        };
        self.dispatch(
            PipelineKey::Attention { rows, kv: a.kv },
            &params,
            &[(1, q), (5, k_cache), (6, v_cache), (4, out)],
            (gx as u32, a.n_kv_head, 1),
        );
    }
}
