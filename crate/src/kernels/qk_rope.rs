//! The attention prologue in one dispatch (shaders/qk_rope.wgsl): per-head q/k norms, RoPE,
//! and the K/V cache writes.

use super::{Batch, KvType, PipelineKey, RopeMode};
use crate::error::Error;
use crate::gpu::GpuWeight;
use crate::quant::QuantType;

/// Uniforms of shaders/qk_rope.wgsl (`QkRopeParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct QkRopeParams {
    pub n_tokens: u32,
    pub n_head: u32,
    pub n_kv_head: u32,
    pub head_dim: u32,
    pub n_rot: u32,
    pub pos0: u32,
    pub capacity: u32,
    pub mode: u32,
    pub log2_base: f32,
    pub freq_scale: f32,
    pub eps: f32,
    pub _pad: u32,
}

/// Shapes and RoPE settings of [`Batch::qk_rope`].
#[derive(Clone, Copy, Debug)]
pub struct QkRopeArgs {
    pub n_tokens: u32,
    pub n_head: u32,
    pub n_kv_head: u32,
    /// At most 512.
    pub head_dim: u32,
    /// Rotated dimensions (even, ≤ head_dim).
    pub n_rot: u32,
    /// Position of the first token; also where its K/V go in the caches.
    pub pos0: u32,
    /// Positions the caches hold.
    pub capacity: u32,
    pub mode: RopeMode,
    pub base: f32,
    pub freq_scale: f32,
    /// Epsilon of the q/k norms.
    pub eps: f32,
    /// How the caches store their values.
    pub kv: KvType,
}

/// Per-head RMS-norm weights of queries and keys (F32 `[1, head_dim]` each).
pub struct QkNorms<'w> {
    pub q: &'w GpuWeight,
    pub k: &'w GpuWeight,
}

impl Batch<'_> {
    /// For the projections `qkv [n_tokens, (n_head + 2 n_kv_head) · head_dim]` — each token's
    /// queries `[n_head, head_dim]` (updated in place), then its keys and its values
    /// `[n_kv_head, head_dim]` each: q and k heads are RMS-normed with `norms` (when
    /// given) and rotated (token t at position `pos0 + t`, as [`Batch::rope`]); the keys go to
    /// `k_cache [n_kv_head, head_dim, capacity]` (position fastest) and the values to
    /// `v_cache [capacity, n_kv_head, head_dim]`, at positions `pos0 ..`. Pair i's frequency is
    /// divided by `freq_factors[i]` (F32 `[1, n_rot / 2]`: Llama 3.1's `rope_freqs`, else ones).
    /// One dispatch instead of two norms, two RoPEs and two cache writes.
    #[allow(clippy::too_many_arguments)]
    pub fn qk_rope(
        &mut self,
        a: &QkRopeArgs,
        qkv: &wgpu::Buffer,
        norms: Option<QkNorms>,
        freq_factors: &GpuWeight,
        k_cache: &wgpu::Buffer,
        v_cache: &wgpu::Buffer,
    ) {
        let f = freq_factors;
        if f.ty != QuantType::F32 || f.rows != 1 || f.cols != (a.n_rot / 2) as u64 || f.parts.len() != 1 {
            return self.fail(Error::InvalidArgument(format!(
                "qk_rope frequency factors {:?} must be F32 [1, {}], are {} [{}, {}]",
                f.name,
                a.n_rot / 2,
                f.ty.name(),
                f.rows,
                f.cols
            )));
        }
        let hd = a.head_dim;
        if hd == 0
            || hd > 512
            || !hd.is_multiple_of(2)
            || a.n_rot == 0
            || !a.n_rot.is_multiple_of(2)
            || a.n_rot > hd
        {
            return self.fail(Error::InvalidArgument(format!(
                "qk_rope: head_dim {hd} must be even and in 2..=512, n_rot {} even, positive and <= head_dim",
                a.n_rot
            )));
        }
        if a.base.is_nan() || a.base <= 0.0 || a.pos0 as u64 + a.n_tokens as u64 > a.capacity as u64 {
            return self.fail(Error::InvalidArgument(format!(
                "qk_rope: base {} must be > 0 and positions {}+{} within the capacity {}",
                a.base, a.pos0, a.n_tokens, a.capacity
            )));
        }
        if let Some(n) = &norms {
            for w in [n.q, n.k] {
                if w.ty != QuantType::F32 || w.rows != 1 || w.cols != hd as u64 || w.parts.len() != 1 {
                    return self.fail(Error::InvalidArgument(format!(
                        "qk_rope norm {:?} must be F32 [1, {hd}], is {} [{}, {}]",
                        w.name,
                        w.ty.name(),
                        w.rows,
                        w.cols
                    )));
                }
            }
        }
        let (t, hd64) = (a.n_tokens as u64, hd as u64);
        let kv = a.n_kv_head as u64 * hd64;
        let cache = a.capacity as u64 * kv * a.kv.bytes();
        if t == 0
            || !self.need("qk_rope qkv", qkv, t * (a.n_head as u64 * hd64 + 2 * kv) * 4)
            || !self.need("qk_rope k_cache", k_cache, cache)
            || !self.need("qk_rope v_cache", v_cache, cache)
        {
            return;
        }
        let (gx, gy) = match self.grid2(t * (a.n_head + a.n_kv_head) as u64) {
            Ok(g) => g,
            Err(e) => return self.fail(e),
        };
        let params = QkRopeParams {
            n_tokens: a.n_tokens,
            n_head: a.n_head,
            n_kv_head: a.n_kv_head,
            head_dim: hd,
            n_rot: a.n_rot,
            pos0: a.pos0,
            capacity: a.capacity,
            mode: match a.mode {
                RopeMode::Neox => 0,
                RopeMode::Normal => 1,
            },
            log2_base: (a.base as f64).log2() as f32,
            freq_scale: a.freq_scale,
            eps: a.eps,
            _pad: 0,
        };
        let io = [(1, qkv), (5, k_cache), (6, v_cache), (4, &f.parts[0].buffer)];
        match norms {
            Some(n) => {
                // Every head's workgroup loads its norm vector.
                self.weight_read(t * (a.n_head + a.n_kv_head) as u64 * n.q.row_bytes);
                let (qn, kn): (&wgpu::Buffer, &wgpu::Buffer) = (&n.q.parts[0].buffer, &n.k.parts[0].buffer);
                let mut bindings = io.to_vec();
                bindings.extend([(2, qn), (3, kn)]);
                self.dispatch(
                    PipelineKey::QkRope { norm: true, reduction: self.ctx.variants.reduction, kv: a.kv },
                    &params,
                    &bindings,
                    (gx, gy, 1),
                );
            }
            None => self.dispatch(
                PipelineKey::QkRope { norm: false, reduction: self.ctx.variants.reduction, kv: a.kv },
                &params,
                &io,
                (gx, gy, 1),
            ),
        }
    }
}
