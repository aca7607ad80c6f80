//! Tokenizers built from GGUF metadata (`tokenizer.ggml.*`), and incremental detokenization.
//!
//! The goal is llama.cpp's exact token ids. A [`Tokenizer`] is a [`Vocab`] (texts, scores,
//! attributes, special ids — shared by every model kind) plus the model kind's algorithm:
//!
//! - `vocab.rs`, `special.rs`: the vocabulary and llama.cpp's load-time special-token rules;
//! - `partition.rs`: splitting input at special tokens (common to all kinds);
//! - `spm.rs`: SentencePiece bigram merging (`tokenizer.ggml.model = "llama"`);
//! - `bpe.rs`, `pretok.rs`: byte-level BPE (`"gpt2"`, and Gemma 4's `"gemma4"` variant) and its
//!   pre-tokenizers (`tokenizer.ggml.pre`);
//! - `detok.rs`: ids back to text, and the streaming [`Detokenizer`];
//! - `gguf_load.rs`: metadata → [`VocabData`].
//!
//! Byte-level BPE is written here rather than built from Hugging Face's `tokenizers` crate:
//! llama.cpp tokenizes by hand too, so matching its ids means matching its rules (pre-tokenizer
//! names, `ignore_merges`, byte fallback, special-token partitioning shared with SentencePiece),
//! and the wasm build stays small: the whole BPE path is `fancy-regex` (for the `(?!\S)`
//! lookahead; it delegates to the `regex` crate) plus ~250 lines. llama.cpp's own test cases pass
//! for every BPE vocabulary in its test data that brasa supports (`tests/tokenizer_llamacpp.rs`).

mod bpe;
mod detok;
// TEMPORARY: typed metadata getters until the GGUF reader branch is merged.
mod gguf_load;
mod partition;
mod pretok;
mod special;
mod spm;
mod vocab;

pub use detok::Detokenizer;
pub use vocab::{attr, SpecialIds, Vocab, VocabData};

use crate::error::{Error, Result};
use crate::gguf::Metadata;
#[allow(unused_imports)]
use vocab::KindDefaults;

/// The tokenization algorithm, from `tokenizer.ggml.model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// `"llama"`: SentencePiece with byte fallback (Llama 2, Mistral, TinyLlama, Gemma 1–3, Phi-3).
    Spm,
    /// `"gpt2"`: byte-level BPE (Llama 3, Qwen 2/3, SmolLM, GPT-2, Phi-2, StarCoder, …); also
    /// `"gemma4"`, BPE over SentencePiece-style text (Gemma 4).
    Bpe,
}

impl ModelKind {
    /// The kind for a `tokenizer.ggml.model` value, or an error naming the unsupported value.
    pub fn from_gguf_name(name: &str) -> Result<Self> {
        match name {
            "llama" => Ok(ModelKind::Spm),
            // Gemma 4: BPE merges over SentencePiece-style text (see `bpe.rs`).
            "gpt2" | "gemma4" => Ok(ModelKind::Bpe),
            other => Err(Error::Tokenizer(format!(
                "unsupported tokenizer model {other:?} (tokenizer.ggml.model); brasa supports \"llama\" (SentencePiece), \"gpt2\" (byte-level BPE) and \"gemma4\""
            ))),
        }
    }

    /// llama.cpp's defaults for this kind, used where the metadata is silent.
    fn defaults(self) -> KindDefaults {
        match self {
            ModelKind::Spm => KindDefaults {
                bos: Some(1),
                eos: Some(2),
                unk: Some(0),
                add_bos: true,
                add_space_prefix: true,
            },
            // GPT-2's ids; llama.cpp's BPE default is no BOS (Llama 3 files say otherwise in
            // their metadata).
            ModelKind::Bpe => KindDefaults {
                bos: Some(11),
                eos: Some(11),
                unk: None,
                add_bos: false,
                add_space_prefix: false,
            },
        }
    }
}

/// A tokenizer: text ↔ token ids, matching llama.cpp.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    kind: ModelKind,
    vocab: Vocab,
    /// Merges and pre-tokenizer of a BPE vocabulary.
    bpe: Option<std::sync::Arc<bpe::BpeModel>>,
}

impl Tokenizer {
    /// Builds the tokenizer described by a GGUF file's metadata. Fails with [`Error::Tokenizer`]
    /// for an unsupported `tokenizer.ggml.model`, and with a metadata error for missing or
    /// mistyped keys.
    pub fn from_gguf(md: &Metadata) -> Result<Self> {
        let model = md.get_str(gguf_load::KEY_MODEL)?;
        let kind = ModelKind::from_gguf_name(model)?;
        // llama.cpp's "gemma4" model has no default special ids and always its own pre-tokenizer.
        let gemma4 = model == "gemma4";
        let defaults = if gemma4 {
            KindDefaults { bos: None, eos: None, unk: None, add_bos: false, add_space_prefix: false }
        } else {
            kind.defaults()
        };
        let vocab = Vocab::build(gguf_load::vocab_data(md)?, defaults)?;
        let mut tok = Tokenizer { kind, vocab, bpe: None };
        if kind == ModelKind::Bpe {
            let merges = md.get_str_array("tokenizer.ggml.merges")?;
            let pre = if gemma4 { Some("gemma4") } else { md.opt_str("tokenizer.ggml.pre")? };
            tok.bpe = Some(std::sync::Arc::new(bpe::BpeModel::new(merges, pre)?));
            // Gemma 4 always adds BOS, whatever the metadata says (as llama.cpp overrides it).
            if matches!(pre, Some("gemma4" | "granite-embed-multi-311m")) {
                tok.vocab.add_bos = true;
            }
            // The Llama 3 family adds BOS when the metadata is silent, as llama.cpp does.
            if md.opt_bool("tokenizer.ggml.add_bos_token")?.is_none()
                && matches!(
                    pre,
                    Some(
                        "llama3"
                            | "llama-v3"
                            | "llama-bpe"
                            | "falcon3"
                            | "falcon-h1"
                            | "pixtral"
                            | "midm-2.0"
                            | "lfm2"
                            | "jina-v5-nano"
                            | "tekken"
                            | "chameleon"
                    )
                )
            {
                tok.vocab.add_bos = true;
            }
        }
        Ok(tok)
    }

    /// Builds a tokenizer from plain data (no GGUF file needed). BPE needs merges: use
    /// [`Tokenizer::from_gguf`].
    pub fn from_data(kind: ModelKind, data: VocabData) -> Result<Self> {
        let vocab = Vocab::build(data, kind.defaults())?;
        Ok(Tokenizer { kind, vocab, bpe: None })
    }

    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// Text to token ids.
    ///
    /// `add_bos`: prepend the BOS token (when the vocabulary has one). Callers normally pass
    /// [`Tokenizer::add_bos`]; llama.cpp's `add_special = true` corresponds to
    /// `add_bos = self.add_bos()`. `parse_special`: also match CONTROL tokens (`<start_of_turn>`,
    /// `<bos>` …) written in the text; USER_DEFINED tokens are matched either way.
    pub fn encode(&self, text: &str, add_bos: bool, parse_special: bool) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 2);
        if add_bos {
            out.extend(self.vocab.bos);
        }
        let frags = partition::partition(&self.vocab, text, parse_special);
        match (self.kind, &self.bpe) {
            (ModelKind::Bpe, Some(bpe)) => {
                for f in &frags {
                    match f {
                        partition::Fragment::Token(id) => out.push(*id),
                        partition::Fragment::Text(r) => bpe.encode(&self.vocab, &text[r.clone()], &mut out),
                    }
                }
            }
            // A BPE tokenizer without merges cannot be built (see `from_data`).
            _ => spm::encode_fragments(&self.vocab, text, &frags, &mut out),
        }
        out
    }

    /// Whether the model wants a BOS token in front of a prompt (`tokenizer.ggml.add_bos_token`,
    /// default true for SentencePiece).
    pub fn add_bos(&self) -> bool {
        self.vocab.add_bos
    }

    /// Whether the model wants an EOS token after a prompt (`tokenizer.ggml.add_eos_token`);
    /// [`encode`](Self::encode) never appends it.
    pub fn add_eos(&self) -> bool {
        self.vocab.add_eos
    }

    pub fn bos(&self) -> Option<u32> {
        self.vocab.bos
    }

    pub fn eos(&self) -> Option<u32> {
        self.vocab.eos
    }

    /// Whether generation should stop at this token: EOS, end-of-turn tokens (`<end_of_turn>`,
    /// `<|eot_id|>` …) and the others llama.cpp puts in its end-of-generation set.
    pub fn is_eog(&self, id: u32) -> bool {
        self.vocab.eog.contains(&id)
    }

    /// All end-of-generation ids, ascending.
    pub fn eog_ids(&self) -> Vec<u32> {
        self.vocab.eog.iter().copied().collect()
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// The bytes one token stands for, as llama.cpp's `token_to_piece` (no lstrip): CONTROL and
    /// UNKNOWN tokens are empty unless `render_special`; byte tokens give their single byte (so a
    /// piece can be part of a UTF-8 character). Unknown ids give nothing.
    pub fn token_to_piece(&self, id: u32, render_special: bool) -> Vec<u8> {
        match self.kind {
            ModelKind::Spm => detok::spm_piece(&self.vocab, id, render_special),
            ModelKind::Bpe => {
                let form = self.bpe.as_ref().map_or(pretok::TextForm::Bytes, |b| b.form());
                detok::bpe_piece(&self.vocab, id, render_special, form)
            }
        }
    }

    /// Token ids to text, as llama.cpp's `detokenize` with `remove_special = false`: the pieces
    /// concatenated, the first one losing a leading space when the vocabulary adds a space
    /// prefix. Invalid UTF-8 becomes U+FFFD.
    pub fn decode(&self, ids: &[u32], render_special: bool) -> String {
        String::from_utf8_lossy(&detok::decode_bytes(self, ids, render_special)).into_owned()
    }
}

#[cfg(test)]
mod tests;
