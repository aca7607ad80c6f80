//! A loaded model: hyper-parameters, tokenizer and the weights in GPU buffers, found by their
//! GGUF tensor names.

use std::collections::HashMap;

use crate::chat::ChatTemplate;
use crate::error::{Error, Result};
use crate::gguf::TensorInfo;
use crate::gpu::GpuWeight;
use crate::model::hparams::HParams;
use crate::model::qkv::{self, QkvPart};
use crate::model::stacked::stacked_name;
use crate::tokenizer::Tokenizer;

/// The weights of one transformer block. Matrices are `[rows = out, cols = in]`.
pub struct LayerWeights {
    pub attn_norm: GpuWeight,
    /// The q `[q_dim, n_embd]`, k and v `[kv_dim, n_embd]` projections, stacked where their
    /// block types allow (`model::qkv`): one to three weights, each with its `qkv` column.
    pub qkv: Vec<QkvPart>,
    /// `[1, q_dim]`, `[1, kv_dim]`, `[1, kv_dim]`: projection biases (Qwen 2).
    pub q_bias: Option<GpuWeight>,
    pub k_bias: Option<GpuWeight>,
    pub v_bias: Option<GpuWeight>,
    /// `[1, head_dim]`, when the architecture has q/k norms.
    pub q_norm: Option<GpuWeight>,
    pub k_norm: Option<GpuWeight>,
    /// `[n_embd, q_dim]`
    pub wo: GpuWeight,
    pub post_attn_norm: Option<GpuWeight>,
    pub ffn_norm: GpuWeight,
    /// The gate and up projections, `[n_ff, n_embd]` each.
    pub ffn_in: FfnIn,
    /// `[n_embd, n_ff]`
    pub down: GpuWeight,
    pub post_ffn_norm: Option<GpuWeight>,
}

/// A layer's gate and up projections.
pub enum FfnIn {
    /// Stacked into one `[2 n_ff, n_embd]` weight (`model::stacked`): one GLU dispatch.
    Stacked(GpuWeight),
    /// Apart (different block types, or an odd `n_ff`): two mat-muls and an activation.
    Separate { gate: GpuWeight, up: GpuWeight },
}

impl FfnIn {
    /// The weights, for counting and timing.
    pub fn weights(&self) -> Vec<&GpuWeight> {
        match self {
            FfnIn::Stacked(w) => vec![w],
            FfnIn::Separate { gate, up } => vec![gate, up],
        }
    }
}

/// The RoPE frequency divisors' tensor name (`[head_dim / 2]` F32, Llama 3.1+).
pub const ROPE_FACTORS: &str = "rope_freqs.weight";

pub struct ModelWeights {
    /// `[n_vocab, n_embd]`
    pub token_embd: GpuWeight,
    pub output_norm: GpuWeight,
    /// `[n_vocab, n_embd]`; `None` when tied to `token_embd`.
    pub output: Option<GpuWeight>,
    /// `[1, head_dim / 2]`: RoPE pair i's frequency is divided by element i (ones when the file
    /// has no `rope_freqs.weight`).
    pub rope_factors: GpuWeight,
    pub layers: Vec<LayerWeights>,
}

impl ModelWeights {
    /// The LM head: the output matrix, or the token embedding when they are tied.
    pub fn lm_head(&self) -> &GpuWeight {
        self.output.as_ref().unwrap_or(&self.token_embd)
    }
}

/// A model ready to run.
pub struct Model {
    pub hp: HParams,
    pub weights: ModelWeights,
    pub tokenizer: Tokenizer,
    /// The file's chat template or the built-in one for its family; `None` when the file's
    /// template does not parse.
    pub chat_template: Option<ChatTemplate>,
    /// Bytes of weights as stored on the GPU.
    pub weight_bytes: u64,
    /// Bytes of the same tensors in the GGUF file (the model's own size, the denominator of
    /// "weight bytes read per token").
    pub gguf_weight_bytes: u64,
    /// `general.name`, when present.
    pub name: String,
}

/// The tensors an architecture needs: `(name, rows, cols, required)`. Shapes are checked
/// against the file before anything is uploaded.
pub fn expected_tensors(hp: &HParams) -> Vec<(String, u64, u64, bool)> {
    let (e, v, ff) = (hp.n_embd as u64, hp.n_vocab as u64, hp.n_ff as u64);
    let (q, kv, hd) = (hp.q_dim() as u64, hp.kv_dim() as u64, hp.head_dim as u64);
    let t = hp.traits;
    let mut out = vec![
        ("token_embd.weight".to_string(), v, e, true),
        ("output_norm.weight".to_string(), 1, e, true),
        ("output.weight".to_string(), v, e, false),
        (ROPE_FACTORS.to_string(), 1, hd / 2, false),
    ];
    for il in 0..hp.n_layer {
        let n = |s: &str| format!("blk.{il}.{s}.weight");
        out.extend([
            (n("attn_norm"), 1, e, true),
            (n("attn_q"), q, e, true),
            (n("attn_k"), kv, e, true),
            (n("attn_v"), kv, e, true),
            (format!("blk.{il}.attn_q.bias"), 1, q, t.qkv_bias),
            (format!("blk.{il}.attn_k.bias"), 1, kv, t.qkv_bias),
            (format!("blk.{il}.attn_v.bias"), 1, kv, t.qkv_bias),
            (n("attn_q_norm"), 1, hd, t.qk_norm),
            (n("attn_k_norm"), 1, hd, t.qk_norm),
            (n("attn_output"), e, q, true),
            (n("post_attention_norm"), 1, e, t.post_norms),
            (n("ffn_norm"), 1, e, true),
            (n("ffn_gate"), ff, e, true),
            (n("ffn_up"), ff, e, true),
            (n("ffn_down"), e, ff, true),
            (n("post_ffw_norm"), 1, e, t.post_norms),
        ]);
    }
    out
}

/// `(rows, cols)` of a tensor as a matrix: `cols` is GGUF's `dims[0]`.
pub fn matrix_shape(t: &TensorInfo) -> (u64, u64) {
    let cols = t.dims.first().copied().unwrap_or(1);
    (t.dims.iter().skip(1).product(), cols)
}

/// Assembles [`ModelWeights`] from uploaded tensors, taking them out of `by_name`.
pub fn assemble(hp: &HParams, mut by_name: HashMap<String, GpuWeight>) -> Result<ModelWeights> {
    let mut layers = Vec::with_capacity(hp.n_layer as usize);
    let t = hp.traits;
    for il in 0..hp.n_layer {
        let stacked = by_name.remove(&stacked_name(il));
        let qkv = qkv::take_parts(hp, il, &mut by_name)?;
        let mut take = |name: String| {
            by_name.remove(&name).ok_or_else(|| Error::InvalidModel(format!("missing tensor {name}")))
        };
        // `name` is "attn_q" (→ blk.N.attn_q.weight) or "attn_q.bias" (→ blk.N.attn_q.bias).
        let mut n = |s: &str| {
            if s.ends_with(".bias") {
                take(format!("blk.{il}.{s}"))
            } else {
                take(format!("blk.{il}.{s}.weight"))
            }
        };
        layers.push(LayerWeights {
            attn_norm: n("attn_norm")?,
            qkv,
            q_bias: if t.qkv_bias { Some(n("attn_q.bias")?) } else { None },
            k_bias: if t.qkv_bias { Some(n("attn_k.bias")?) } else { None },
            v_bias: if t.qkv_bias { Some(n("attn_v.bias")?) } else { None },
            q_norm: if t.qk_norm { Some(n("attn_q_norm")?) } else { None },
            k_norm: if t.qk_norm { Some(n("attn_k_norm")?) } else { None },
            wo: n("attn_output")?,
            post_attn_norm: if t.post_norms { Some(n("post_attention_norm")?) } else { None },
            ffn_norm: n("ffn_norm")?,
            ffn_in: match stacked {
                Some(w) => FfnIn::Stacked(w),
                None => FfnIn::Separate { gate: n("ffn_gate")?, up: n("ffn_up")? },
            },
            down: n("ffn_down")?,
            post_ffn_norm: if t.post_norms { Some(n("post_ffw_norm")?) } else { None },
        });
    }
    let mut take = |name: &str| {
        by_name.remove(name).ok_or_else(|| Error::InvalidModel(format!("missing tensor {name}")))
    };
    Ok(ModelWeights {
        token_embd: take("token_embd.weight")?,
        output_norm: take("output_norm.weight")?,
        rope_factors: take(ROPE_FACTORS)?,
        output: by_name.remove("output.weight"),
        layers,
    })
}
