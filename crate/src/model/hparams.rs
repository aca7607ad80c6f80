//! Hyper-parameters of a model, read from GGUF metadata (`{arch}.*` keys).
//!
//! An architecture is data: [`ArchTraits`] says what differs between families (norm placement,
//! q/k norms, RoPE layout, activation, embedding scale, sliding-window layers), and the forward
//! pass in `model::forward` reads these flags instead of branching on the architecture name.

use crate::error::{Error, Result};
use crate::gguf::Metadata;

/// How RoPE pairs the dimensions of a head.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RopeLayout {
    /// Pairs `(i, i + n_rot/2)`: GPT-NeoX, Gemma, Qwen.
    NeoX,
    /// Adjacent pairs `(2i, 2i + 1)`: Llama.
    Normal,
}

/// The gated feed-forward activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Act {
    GeluTanh,
    Silu,
}

/// What distinguishes an architecture's forward pass.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ArchTraits {
    /// RMS-norm of the attention and FFN outputs before the residual add (Gemma 2/3).
    pub post_norms: bool,
    /// Per-head RMS-norm of queries and keys before RoPE (Gemma 3, Qwen 3).
    pub qk_norm: bool,
    pub rope: RopeLayout,
    pub act: Act,
    /// Embeddings are multiplied by sqrt(n_embd) (Gemma).
    pub scale_embeddings: bool,
    /// Every `n`-th layer (the last of each group) uses global attention, the others a sliding
    /// window (Gemma 3: 5 local, 1 global). 0: all layers global.
    pub sliding_window_pattern: u32,
    /// Biases on the q, k and v projections (Qwen 2).
    pub qkv_bias: bool,
}

/// The architectures brasa can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    Gemma,
    Gemma2,
    Gemma3,
    /// Llama 2/3, SmolLM/SmolLM2, TinyLlama, Mistral 7B.
    Llama,
    /// Qwen 2 / 2.5.
    Qwen2,
    /// Qwen 3 (dense).
    Qwen3,
    /// Phi-3 / Phi-3.5 mini (fused q/k/v and gate/up, split at upload).
    Phi3,
}

impl Arch {
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "gemma" => Ok(Arch::Gemma),
            "gemma2" => Ok(Arch::Gemma2),
            "gemma3" => Ok(Arch::Gemma3),
            "llama" => Ok(Arch::Llama),
            "qwen2" => Ok(Arch::Qwen2),
            "qwen3" => Ok(Arch::Qwen3),
            "phi3" => Ok(Arch::Phi3),
            other => Err(Error::UnsupportedArchitecture(other.to_string())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::Gemma => "gemma",
            Arch::Gemma2 => "gemma2",
            Arch::Gemma3 => "gemma3",
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Phi3 => "phi3",
        }
    }

    pub fn traits(self) -> ArchTraits {
        match self {
            Arch::Gemma3 => ArchTraits {
                post_norms: true,
                qk_norm: true,
                rope: RopeLayout::NeoX,
                act: Act::GeluTanh,
                scale_embeddings: true,
                sliding_window_pattern: 6,
                qkv_bias: false,
            },
            // Gemma 2: post-norms, soft-capping (attention and final logits: metadata), every
            // other layer local; Gemma 1: plain pre-norm blocks with Gemma's embedding scale.
            Arch::Gemma2 => ArchTraits { qk_norm: false, sliding_window_pattern: 2, ..Arch::Gemma3.traits() },
            Arch::Gemma => ArchTraits {
                post_norms: false,
                qk_norm: false,
                sliding_window_pattern: 0,
                ..Arch::Gemma3.traits()
            },
            // Pre-norm blocks, SiLU gating, no embedding scale; they differ in RoPE pairing,
            // q/k/v biases and q/k norms (llama.cpp's llama.cpp / qwen2.cpp / qwen3.cpp graphs).
            Arch::Llama => ArchTraits {
                post_norms: false,
                qk_norm: false,
                rope: RopeLayout::Normal,
                act: Act::Silu,
                scale_embeddings: false,
                sliding_window_pattern: 0,
                qkv_bias: false,
            },
            Arch::Qwen2 => ArchTraits { rope: RopeLayout::NeoX, qkv_bias: true, ..Arch::Llama.traits() },
            Arch::Qwen3 => ArchTraits { rope: RopeLayout::NeoX, qk_norm: true, ..Arch::Llama.traits() },
            // llama.cpp runs Phi-3 without its sliding window (disabled there; so here too).
            Arch::Phi3 => ArchTraits { rope: RopeLayout::NeoX, ..Arch::Llama.traits() },
        }
    }
}

/// Everything the forward pass needs to know about a model's shape.
#[derive(Clone, Debug, PartialEq)]
pub struct HParams {
    pub arch: Arch,
    pub traits: ArchTraits,
    pub n_vocab: u32,
    pub n_embd: u32,
    pub n_layer: u32,
    pub n_ff: u32,
    pub n_head: u32,
    pub n_head_kv: u32,
    /// Per-head dimension of queries and keys (= values for every supported family).
    pub head_dim: u32,
    pub n_ctx_train: u32,
    pub rms_eps: f32,
    /// RoPE base of global layers.
    pub rope_base: f32,
    /// RoPE base of sliding-window layers.
    pub rope_base_swa: f32,
    pub rope_freq_scale: f32,
    /// Sliding window in tokens (0: none).
    pub sliding_window: u32,
    /// Multiplier applied to queries before the dot product.
    pub attn_scale: f32,
    /// `cap · tanh(logit / cap)` on the output logits (0: none).
    pub final_logit_softcap: f32,
    /// `cap · tanh(score / cap)` on the attention scores, after the scale (0: none; Gemma 2).
    pub attn_softcap: f32,
}

impl HParams {
    /// Reads the hyper-parameters of the file's architecture; `n_vocab` comes from the
    /// embedding tensor, which is the ground truth for the vocabulary size.
    pub fn from_metadata(md: &Metadata, n_vocab: u32) -> Result<Self> {
        let arch = Arch::from_name(md.get_str("general.architecture")?)?;
        let a = arch.name();
        let key = |k: &str| format!("{a}.{k}");
        let n_embd = md.get_u32(&key("embedding_length"))?;
        let n_layer = md.get_u32(&key("block_count"))?;
        let n_head = md.get_u32(&key("attention.head_count"))?;
        let n_head_kv = md.opt_u32(&key("attention.head_count_kv"))?.unwrap_or(n_head);
        let head_dim = md.opt_u32(&key("attention.key_length"))?.unwrap_or(n_embd / n_head.max(1));
        let rope_base = md.opt_f32(&key("rope.freq_base"))?.unwrap_or(10_000.0);
        let scaling = md.opt_f32(&key("rope.scaling.factor"))?.unwrap_or(1.0);
        // Linear scaling is a frequency scale; YaRN and LongRoPE change the rotation itself.
        match md.opt_str(&key("rope.scaling.type"))? {
            None | Some("none") | Some("linear") => {}
            Some(other) => {
                return Err(Error::InvalidModel(format!("RoPE scaling {other:?} is not supported yet")))
            }
        }
        let hp =
            HParams {
                arch,
                traits: arch.traits(),
                n_vocab,
                n_embd,
                n_layer,
                n_ff: md.get_u32(&key("feed_forward_length"))?,
                n_head,
                n_head_kv,
                head_dim,
                n_ctx_train: md.get_u32(&key("context_length"))?,
                rms_eps: md.get_f32(&key("attention.layer_norm_rms_epsilon"))?,
                rope_base,
                // Gemma 3's local layers use 10,000 unless the file says otherwise; other families
                // use the global base.
                rope_base_swa: md.opt_f32(&key("rope.freq_base_swa"))?.unwrap_or(if arch == Arch::Gemma3 {
                    10_000.0
                } else {
                    rope_base
                }),
                rope_freq_scale: if scaling > 0.0 { 1.0 / scaling } else { 1.0 },
                sliding_window: md
                    .opt_u32(&key("attention.sliding_window"))?
                    .unwrap_or(if arch == Arch::Gemma2 { 4096 } else { 0 }),
                attn_scale: if arch == Arch::Gemma2 && n_layer == 46 {
                    // Gemma 2 27B scales by n_embd / n_head (llama.cpp, after gemma_pytorch).
                    1.0 / (n_embd as f32 / n_head as f32).sqrt()
                } else {
                    1.0 / (head_dim as f32).sqrt()
                },
                // Gemma 2's defaults when the file is silent: 30 and 50 (llama.cpp's).
                final_logit_softcap: md
                    .opt_f32(&key("final_logit_softcapping"))?
                    .unwrap_or(if arch == Arch::Gemma2 { 30.0 } else { 0.0 }),
                attn_softcap: md
                    .opt_f32(&key("attn_logit_softcapping"))?
                    .unwrap_or(if arch == Arch::Gemma2 { 50.0 } else { 0.0 }),
            };
        hp.validate()?;
        Ok(hp)
    }

    fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(Error::InvalidModel(what));
        if self.n_embd == 0 || self.n_layer == 0 || self.n_ff == 0 || self.n_vocab == 0 {
            return bad(format!("zero-sized model dimension in {self:?}"));
        }
        if self.n_head == 0 || self.n_head_kv == 0 || !self.n_head.is_multiple_of(self.n_head_kv) {
            return bad(format!(
                "head counts {} / {} (query heads must be a multiple of KV heads)",
                self.n_head, self.n_head_kv
            ));
        }
        if self.head_dim == 0 || !self.head_dim.is_multiple_of(2) || self.head_dim > 512 {
            return bad(format!("head dimension {} (must be even and at most 512)", self.head_dim));
        }
        if self.n_layer > 1024 || self.n_head > 1024 {
            return bad(format!("{} layers / {} heads is not a plausible model", self.n_layer, self.n_head));
        }
        for (what, cap) in [("final logit", self.final_logit_softcap), ("attention logit", self.attn_softcap)]
        {
            if !(cap >= 0.0 && cap.is_finite()) {
                return bad(format!("{what} soft-capping {cap}"));
            }
        }
        if !(self.rms_eps > 0.0 && self.rms_eps < 1.0) {
            return bad(format!("RMS-norm epsilon {}", self.rms_eps));
        }
        Ok(())
    }

    /// Whether layer `il` attends within the sliding window only.
    pub fn is_swa_layer(&self, il: u32) -> bool {
        let p = self.traits.sliding_window_pattern;
        self.sliding_window > 0 && p > 0 && (il % p) < p - 1
    }

    /// The RoPE base of layer `il`.
    pub fn rope_base_for(&self, il: u32) -> f32 {
        if self.is_swa_layer(il) {
            self.rope_base_swa
        } else {
            self.rope_base
        }
    }

    /// Query width: n_head × head_dim.
    pub fn q_dim(&self) -> u32 {
        self.n_head * self.head_dim
    }

    /// Key/value width: n_head_kv × head_dim.
    pub fn kv_dim(&self) -> u32 {
        self.n_head_kv * self.head_dim
    }

    /// The factor applied to embeddings after lookup.
    pub fn embed_scale(&self) -> f32 {
        if self.traits.scale_embeddings {
            (self.n_embd as f32).sqrt()
        } else {
            1.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architectures_by_name() {
        for a in [Arch::Gemma, Arch::Gemma2, Arch::Gemma3, Arch::Llama, Arch::Qwen2, Arch::Qwen3, Arch::Phi3]
        {
            assert_eq!(Arch::from_name(a.name()).unwrap(), a);
        }
        let e = Arch::from_name("mamba").unwrap_err();
        assert_eq!((e.code(), e.to_string().contains("mamba")), ("unsupported_architecture", true));
        // What differs is data: Qwen 2 = Llama + biases − normal RoPE, Qwen 3 = Llama + q/k norms.
        let (l, q2, q3) = (Arch::Llama.traits(), Arch::Qwen2.traits(), Arch::Qwen3.traits());
        assert!(q2.qkv_bias && !l.qkv_bias && q3.qk_norm && !l.qk_norm);
        assert_eq!((l.rope, q2.rope, q3.rope), (RopeLayout::Normal, RopeLayout::NeoX, RopeLayout::NeoX));
    }
}
