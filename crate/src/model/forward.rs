//! The transformer forward pass on the GPU, recorded into one [`Batch`] per call.
//!
//! Shapes (T = tokens in this call, E = n_embd, Q = q_dim, K = kv_dim, F = n_ff):
//! `x [T, E]` residual stream → per layer: `xn = norm(x)`; `qkv [T, Q + 2K]`, each token's
//! queries, keys and values (one mat-mul per stacked weight, `model::qkv`); q/k norm, RoPE, K
//! (transposed: the K cache is position-fastest) and V appended to the cache (all four in one
//! `qk_rope` dispatch);
//! `attn [T, Q]` — for a decoded token, the q/k norms, RoPE, cache writes and attention are
//! one `attention_decode` dispatch (two when its keys are split);
//! `o = Wo·attn [T, E]`, post-norm, `x += o`;
//! `xn = norm(x)`; `gate, up [T, F]`; `act = φ(gate)·up` (one GLU dispatch when gate and up are
//! stacked, `model::stacked`); `o = Wdown·act`, post-norm, `x += o`.
//! After the last layer `xn = norm(x)`; the LM head runs on selected rows of `xn` only.
//! Each "post-norm, `x += o`, `xn = norm(x)`" is one fused `add_norm` dispatch (the norm being
//! the next block's input norm, or the final norm after the last layer) — except for a decoded
//! token, whose mat-vecs apply it themselves (`NormedInput`): the residual stream then
//! alternates between two buffers, as each such mat-vec reads one and writes the other.

use crate::error::Result;
use crate::gpu::{GpuContext, GpuWeight, OwnedBuffer};
use crate::kernels::{
    decode_partials_len, Activation, AttentionArgs, Batch, DecodeAttentionArgs, KvType, MatmulOut,
    NormedInput, OutCols, QkNorms, QkRopeArgs, RopeMode, MAX_NORMED_INPUT,
};
use crate::model::hparams::{Act, HParams, RopeLayout};
use crate::model::weights::{FfnIn, Model};

const F32: u64 = 4;

/// Scratch activations for up to `max_tokens` tokens per forward call, and the K/V cache.
pub struct ForwardBuffers {
    pub max_tokens: u32,
    /// Rows of logits computed per LM-head call.
    pub max_logit_rows: u32,
    /// Capacity of the K/V cache in tokens.
    pub ctx_size: u32,
    /// How the K/V cache stores its values.
    pub kv_type: KvType,
    /// `u32 [max_tokens]`: token ids of this call.
    pub tokens: OwnedBuffer,
    x: OwnedBuffer,
    /// `[E]`: the residual stream of a decoded token alternates between `x` and `x2` (the
    /// mat-vecs that apply a residual update read one and write the other).
    x2: OwnedBuffer,
    /// Normed residual; after the forward pass: the final hidden states `[T, E]`.
    pub xn: OwnedBuffer,
    /// `[T, Q + 2K]`: each token's queries, keys and values.
    qkv: OwnedBuffer,
    attn: OwnedBuffer,
    /// A decoded token's split attention partials (`kernels::decode_partials_len`).
    attn_partials: OwnedBuffer,
    o: OwnedBuffer,
    gate: OwnedBuffer,
    up: OwnedBuffer,
    act: OwnedBuffer,
    /// `[max_logit_rows, E]`: rows of `xn` gathered for the LM head.
    head_in: OwnedBuffer,
    /// `[max_logit_rows, n_vocab]`
    pub logits: OwnedBuffer,
    /// Per layer, position fastest: `[K, ctx_size]` (`K = n_kv_head * head_dim`), so that
    /// attention reads consecutive keys at consecutive addresses; values in `kv_type`
    /// (shaders/kv/).
    k_cache: Vec<OwnedBuffer>,
    /// Per layer: `[ctx_size, K]` in `kv_type`.
    v_cache: Vec<OwnedBuffer>,
}

/// Which rows of the final hidden states go through the LM head.
#[derive(Clone, Copy, Debug)]
pub struct LogitRows {
    pub first: u32,
    pub count: u32,
}

impl ForwardBuffers {
    pub fn new(
        ctx: &GpuContext,
        hp: &HParams,
        ctx_size: u32,
        kv_type: KvType,
        max_tokens: u32,
        max_logit_rows: u32,
    ) -> Result<Self> {
        let t = max_tokens as u64;
        let buf = |label: &str, elems: u64| ctx.storage_buffer(label, elems.max(1) * F32);
        let (e, q, kv, ff) = (hp.n_embd as u64, hp.q_dim() as u64, hp.kv_dim() as u64, hp.n_ff as u64);
        let mut k_cache = Vec::new();
        let mut v_cache = Vec::new();
        for il in 0..hp.n_layer {
            let bytes = (ctx_size as u64 * kv * kv_type.bytes()).max(4);
            k_cache.push(ctx.storage_buffer(&format!("k_cache.{il}"), bytes)?);
            v_cache.push(ctx.storage_buffer(&format!("v_cache.{il}"), bytes)?);
        }
        Ok(ForwardBuffers {
            max_tokens,
            max_logit_rows,
            ctx_size,
            kv_type,
            tokens: buf("tokens", t)?,
            x: buf("x", t * e)?,
            x2: buf("x2", e)?,
            xn: buf("xn", t * e)?,
            qkv: buf("qkv", t * (q + 2 * kv))?,
            attn: buf("attn", t * q)?,
            attn_partials: buf("attn_partials", decode_partials_len(hp.n_head, hp.head_dim))?,
            o: buf("o", t * e)?,
            gate: buf("gate", t * ff)?,
            up: buf("up", t * ff)?,
            act: buf("act", t * ff)?,
            head_in: buf("head_in", max_logit_rows as u64 * e)?,
            logits: buf("logits", max_logit_rows as u64 * hp.n_vocab as u64)?,
            k_cache,
            v_cache,
        })
    }

    /// Copies `other`'s K/V cache of its first `n_past` positions into this one's (same model
    /// and capacity: the caller checks), so that a forked session continues where `other` is.
    pub fn copy_cache_from(&self, encoder: &mut wgpu::CommandEncoder, other: &ForwardBuffers, n_past: u32) {
        // V is position-major: its first positions are one prefix. K is position-fastest per row:
        // the whole buffer (the same bytes as V's whole cache, but one copy instead of one per row).
        for (dst, src) in self.k_cache.iter().zip(&other.k_cache) {
            encoder.copy_buffer_to_buffer(src, 0, dst, 0, src.size());
        }
        let v_bytes =
            n_past as u64 * (other.v_cache.first().map_or(0, |v| v.size()) / self.ctx_size.max(1) as u64);
        if v_bytes > 0 {
            for (dst, src) in self.v_cache.iter().zip(&other.v_cache) {
                encoder.copy_buffer_to_buffer(src, 0, dst, 0, v_bytes);
            }
        }
    }

    /// Records the whole stack for `n_tokens` tokens (already in `self.tokens`) at positions
    /// `pos0..pos0 + n_tokens`, appending their keys and values to the cache. Leaves the final
    /// normed hidden states in `self.xn`.
    pub fn encode_layers(&self, b: &mut Batch, m: &Model, n_tokens: u32, pos0: u32) {
        let hp = &m.hp;
        let w = &m.weights;
        let rope = match hp.traits.rope {
            RopeLayout::NeoX => RopeMode::Neox,
            RopeLayout::Normal => RopeMode::Normal,
        };
        let act = match hp.traits.act {
            Act::GeluTanh => Activation::GeluTanh,
            Act::Silu => Activation::Silu,
        };
        // A decoded token's residual updates and norms run inside the mat-vecs that read them
        // (`Batch::matvec_normed`): no add_norm dispatch between blocks. A batch keeps them.
        let fused_norms = n_tokens == 1 && hp.n_embd as u64 <= MAX_NORMED_INPUT;
        let eps = hp.rms_eps;
        // The residual stream, and where a fused update writes the next one.
        let (mut cur, mut other) = (&self.x, &self.x2);
        // The post-norm of the FFN update `cur += post(o)` still to apply (fused_norms only).
        let mut pending: Option<Option<&GpuWeight>> = None;
        b.embed(&w.token_embd, &self.tokens, &self.x, n_tokens, hp.embed_scale());
        if let Some(first) = w.layers.first() {
            b.rms_norm(&self.x, &first.attn_norm, &self.xn, n_tokens, eps);
        }
        for (il, l) in w.layers.iter().enumerate() {
            // What follows this block: the next block's input norm, or the final norm.
            let next = w.layers.get(il + 1);
            let next_norm = next.map_or(&w.output_norm, |next| &next.attn_norm);
            let il = il as u32;
            let qkv_cols = (hp.q_dim() + 2 * hp.kv_dim()) as u64;
            let into = |col0| OutCols { stride: qkv_cols, col0 };
            match pending.take() {
                Some(post_w) => {
                    let mut input = NormedInput {
                        x: cur,
                        o: &self.o,
                        post_w,
                        norm_w: &l.attn_norm,
                        x_out: other,
                        write_x: true,
                        eps,
                    };
                    for part in &l.qkv {
                        b.matvec_normed(&part.w, &input, &self.qkv, MatmulOut::Plain, Some(into(part.col0)));
                        input.write_x = false; // once is enough
                    }
                    std::mem::swap(&mut cur, &mut other);
                }
                None => {
                    for part in &l.qkv {
                        b.matmul_cols(&part.w, &self.xn, &self.qkv, n_tokens, into(part.col0));
                    }
                }
            }
            let (q_dim, kv_dim) = (hp.q_dim(), hp.kv_dim());
            for (bias, col0) in [(&l.q_bias, 0), (&l.k_bias, q_dim), (&l.v_bias, q_dim + kv_dim)] {
                if let Some(bias) = bias {
                    b.add_bias(&self.qkv, bias, n_tokens, qkv_cols as u32, col0);
                }
            }
            let hd = hp.head_dim;
            let (kc, vc) = (&self.k_cache[il as usize], &self.v_cache[il as usize]);
            let prologue = QkRopeArgs {
                n_tokens,
                n_head: hp.n_head,
                n_kv_head: hp.n_head_kv,
                head_dim: hd,
                n_rot: hd,
                pos0,
                capacity: self.ctx_size,
                mode: rope,
                base: hp.rope_base_for(il),
                freq_scale: hp.rope_freq_scale,
                eps: hp.rms_eps,
                kv: self.kv_type,
            };
            let norms = match (&l.q_norm, &l.k_norm) {
                (Some(q), Some(k)) => Some(QkNorms { q, k }),
                _ => None,
            };
            let window = if hp.is_swa_layer(il) { hp.sliding_window } else { 0 };
            if n_tokens == 1 {
                let args = DecodeAttentionArgs {
                    rope: prologue,
                    window,
                    scale: hp.attn_scale,
                    softcap: hp.attn_softcap,
                    force_splits: None,
                };
                b.attention_decode(
                    &args,
                    &self.qkv,
                    norms,
                    &w.rope_factors,
                    kc,
                    vc,
                    &self.attn_partials,
                    &self.attn,
                );
            } else {
                b.qk_rope(&prologue, &self.qkv, norms, &w.rope_factors, kc, vc);
                let args = AttentionArgs {
                    n_tokens,
                    pos0,
                    n_head: hp.n_head,
                    n_kv_head: hp.n_head_kv,
                    head_dim: hd,
                    window,
                    scale: hp.attn_scale,
                    softcap: hp.attn_softcap,
                    k_capacity: self.ctx_size,
                    q_stride: qkv_cols as u32,
                    kv: self.kv_type,
                };
                b.attention(&self.qkv, kc, vc, &self.attn, &args);
            }
            b.matmul(&l.wo, &self.attn, &self.o, n_tokens);
            if fused_norms {
                let post_w = l.post_attn_norm.as_ref();
                let mut input = NormedInput {
                    x: cur,
                    o: &self.o,
                    post_w,
                    norm_w: &l.ffn_norm,
                    x_out: other,
                    write_x: true,
                    eps,
                };
                match &l.ffn_in {
                    FfnIn::Stacked(w) => b.matvec_normed(w, &input, &self.act, MatmulOut::Glu(act), None),
                    FfnIn::Separate { gate, up } => {
                        b.matvec_normed(gate, &input, &self.gate, MatmulOut::Plain, None);
                        input.write_x = false;
                        b.matvec_normed(up, &input, &self.up, MatmulOut::Plain, None);
                        b.gated_act(&self.gate, &self.up, &self.act, hp.n_ff, act);
                    }
                }
                std::mem::swap(&mut cur, &mut other);
            } else {
                b.add_norm(cur, &self.o, l.post_attn_norm.as_ref(), &l.ffn_norm, &self.xn, n_tokens, eps);
                match &l.ffn_in {
                    FfnIn::Stacked(w) => b.matmul_glu(w, &self.xn, &self.act, n_tokens, act),
                    FfnIn::Separate { gate, up } => {
                        b.matmul(gate, &self.xn, &self.gate, n_tokens);
                        b.matmul(up, &self.xn, &self.up, n_tokens);
                        b.gated_act(&self.gate, &self.up, &self.act, n_tokens * hp.n_ff, act);
                    }
                }
            }
            b.matmul(&l.down, &self.act, &self.o, n_tokens);
            if fused_norms && next.is_some() {
                pending = Some(l.post_ffn_norm.as_ref());
            } else {
                b.add_norm(cur, &self.o, l.post_ffn_norm.as_ref(), next_norm, &self.xn, n_tokens, eps);
            }
        }
    }

    /// Records the LM head for `rows` of the final hidden states (at most `max_logit_rows`):
    /// `self.logits[i, :]` = logits of row `rows.first + i`.
    pub fn encode_logits(&self, b: &mut Batch, m: &Model, rows: LogitRows) {
        let e = m.hp.n_embd as u64 * F32;
        b.copy_buffer(&self.xn, rows.first as u64 * e, &self.head_in, 0, rows.count as u64 * e);
        b.matmul(m.weights.lm_head(), &self.head_in, &self.logits, rows.count);
        if m.hp.final_logit_softcap > 0.0 {
            b.softcap(&self.logits, rows.count * m.hp.n_vocab, m.hp.final_logit_softcap);
        }
    }
}
