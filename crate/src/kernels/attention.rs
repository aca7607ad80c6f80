//! Causal attention over a KV cache (shaders/attention.wgsl).
//!
//! Online softmax, one workgroup per (query token, head): memory does not grow with the number
//! of keys, K and V are read once per query head, and prefill (many tokens) and decode (one)
//! are the same kernel. Long decode contexts would profit from splitting the keys over several
//! workgroups (flash-decoding); that is left for GPU tuning.

use super::{Batch, PipelineKey};
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
}

/// Largest head dimension attention.wgsl handles (4 dims per invocation × 64).
pub const MAX_HEAD_DIM: u32 = 256;

impl Batch<'_> {
    /// Causal attention: q `[n_tokens, n_head, head_dim]`, k_cache/v_cache `[capacity,
    /// n_kv_head, head_dim]` holding positions `0 .. pos0 + n_tokens`, out `[n_tokens, n_head,
    /// head_dim]`. Softmax in f32.
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
            || a.head_dim > MAX_HEAD_DIM
        {
            return self.fail(Error::InvalidArgument(format!("attention: bad arguments {a:?}")));
        }
        if out == q || out == k_cache || out == v_cache {
            return self.fail(Error::InvalidArgument("attention: out aliases an input".into()));
        }
        if a.n_tokens == 0 || a.n_head == 0 {
            return;
        }
        let q_bytes = a.n_tokens as u64 * a.n_head as u64 * a.head_dim as u64 * 4;
        let kv_bytes = (a.pos0 + a.n_tokens) as u64 * a.n_kv_head as u64 * a.head_dim as u64 * 4;
        if !self.need("attention q", q, q_bytes)
            || !self.need("attention k_cache", k_cache, kv_bytes)
            || !self.need("attention v_cache", v_cache, kv_bytes)
            || !self.need("attention out", out, q_bytes)
        {
            return;
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
        };
        let (gx, gy) = match self.grid2(a.n_tokens as u64 * a.n_head as u64) {
            Ok(g) => g,
            Err(e) => return self.fail(e),
        };
        self.dispatch(
            PipelineKey::Attention,
            &params,
            &[(1, q), (2, k_cache), (3, v_cache), (4, out)],
            (gx, gy, 1),
        );
    }
}
