//! The vocabulary shared by every tokenizer model: token texts, scores, attributes, the special
//! token ids, and the lookup tables built from them.
//!
//! A [`Vocab`] is built from plain data ([`VocabData`]) so it can be constructed without a GGUF
//! file (see `gguf_load.rs` for the GGUF path). Building applies llama.cpp's load-time rules
//! (see `special.rs`): auto-detected end-of-turn / fill-in-the-middle tokens, the end-of-generation
//! set, and per-model attribute fixes. These rules change tokenization (a token that gains the
//! CONTROL attribute is no longer matched in text unless `parse_special`), so they are part of
//! matching llama.cpp token for token.

use std::collections::{BTreeSet, HashMap};

use crate::error::{Error, Result};

/// Token attributes, a bit set with llama.cpp's `llama_token_attr` values.
pub mod attr {
    pub const UNDEFINED: u32 = 0;
    pub const UNKNOWN: u32 = 1 << 0;
    pub const UNUSED: u32 = 1 << 1;
    pub const NORMAL: u32 = 1 << 2;
    pub const CONTROL: u32 = 1 << 3;
    pub const USER_DEFINED: u32 = 1 << 4;
    pub const BYTE: u32 = 1 << 5;
    /// Strip whitespace to the left of this token when it is matched in text.
    pub const LSTRIP: u32 = 1 << 7;
    /// Strip whitespace to the right of this token when it is matched in text.
    pub const RSTRIP: u32 = 1 << 8;

    /// Maps a GGUF `tokenizer.ggml.token_type` value to attributes (unknown values: UNDEFINED).
    pub fn from_token_type(t: i32) -> u32 {
        match t {
            1 => NORMAL,
            2 => UNKNOWN,
            3 => CONTROL,
            4 => USER_DEFINED,
            5 => UNUSED,
            6 => BYTE,
            _ => UNDEFINED,
        }
    }
}

/// Special token ids as given by the model's metadata (`tokenizer.ggml.*_token_id`); `None` when
/// absent. Ids out of range are ignored when the vocabulary is built.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpecialIds {
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub eot: Option<u32>,
    pub eom: Option<u32>,
    pub unk: Option<u32>,
    pub sep: Option<u32>,
    pub pad: Option<u32>,
    pub mask: Option<u32>,
    pub fim_pre: Option<u32>,
    pub fim_suf: Option<u32>,
    pub fim_mid: Option<u32>,
    pub fim_pad: Option<u32>,
    pub fim_rep: Option<u32>,
    pub fim_sep: Option<u32>,
}

/// Everything a tokenizer is built from, as plain data (what GGUF's `tokenizer.ggml.*` keys hold).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VocabData {
    /// Token texts; the index is the token id. SentencePiece texts use U+2581 for spaces.
    pub tokens: Vec<String>,
    /// Merge scores, one per token (higher merges first); empty means all 0.
    pub scores: Vec<f32>,
    /// GGUF token types (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte), one
    /// per token; empty means all normal.
    pub token_types: Vec<i32>,
    pub special: SpecialIds,
    /// `tokenizer.ggml.add_bos_token`; `None` keeps the model kind's default.
    pub add_bos: Option<bool>,
    /// `tokenizer.ggml.add_eos_token`.
    pub add_eos: Option<bool>,
    /// `tokenizer.ggml.add_space_prefix`.
    pub add_space_prefix: Option<bool>,
    /// `general.name`: llama.cpp sets some token attributes by model name (Phi-3).
    pub model_name: String,
}

/// Defaults that depend on the tokenizer model kind (llama.cpp sets them before reading the
/// optional metadata keys).
#[derive(Debug, Clone, Copy)]
pub(crate) struct KindDefaults {
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub unk: Option<u32>,
    pub add_bos: bool,
    pub add_space_prefix: bool,
}

/// A built vocabulary. Token ids are `u32` indices into `texts`.
#[derive(Debug, Clone)]
pub struct Vocab {
    pub(crate) texts: Vec<String>,
    pub(crate) scores: Vec<f32>,
    pub(crate) attrs: Vec<u32>,
    /// Text → id. For duplicate texts the last id wins, as in llama.cpp.
    pub(crate) text_to_id: HashMap<String, u32>,
    pub(crate) bos: Option<u32>,
    pub(crate) eos: Option<u32>,
    pub(crate) unk: Option<u32>,
    pub(crate) add_bos: bool,
    pub(crate) add_eos: bool,
    pub(crate) add_space_prefix: bool,
    /// End-of-generation tokens.
    pub(crate) eog: BTreeSet<u32>,
    /// Tokens matched as whole strings before the model runs (CONTROL, USER_DEFINED, UNKNOWN),
    /// longest text first.
    pub(crate) special_tokens: Vec<u32>,
}

impl Vocab {
    pub(crate) fn build(data: VocabData, defaults: KindDefaults) -> Result<Self> {
        let n = data.tokens.len();
        if n == 0 {
            return Err(Error::Tokenizer("the vocabulary is empty".into()));
        }
        if u32::try_from(n).is_err() {
            return Err(Error::Tokenizer(format!("vocabulary of {n} tokens is too large")));
        }
        if !data.scores.is_empty() && data.scores.len() < n {
            return Err(Error::Tokenizer(format!("{} scores for {n} tokens", data.scores.len())));
        }
        if !data.token_types.is_empty() && data.token_types.len() < n {
            return Err(Error::Tokenizer(format!("{} token types for {n} tokens", data.token_types.len())));
        }

        let mut texts = data.tokens;
        let mut text_to_id = HashMap::with_capacity(n);
        for (i, text) in texts.iter_mut().enumerate() {
            // llama.cpp renames empty tokens so that no special token has an empty text
            // (which would match everywhere).
            if text.is_empty() {
                *text = format!("[EMPTY_{i}]");
            }
            text_to_id.insert(text.clone(), i as u32);
        }
        let scores = if data.scores.is_empty() { vec![0.0; n] } else { data.scores[..n].to_vec() };
        let attrs = if data.token_types.is_empty() {
            vec![attr::NORMAL; n]
        } else {
            data.token_types[..n].iter().map(|&t| attr::from_token_type(t)).collect()
        };

        // An id from the metadata replaces the default only when it is in range; a default out
        // of range is disabled.
        let in_range = |id: Option<u32>| id.filter(|&i| (i as usize) < n);
        let pick = |given: Option<u32>, default: Option<u32>| in_range(given).or(in_range(default));
        let sp = &data.special;
        let mut vocab = Vocab {
            texts,
            scores,
            attrs,
            text_to_id,
            bos: pick(sp.bos, defaults.bos),
            eos: pick(sp.eos, defaults.eos),
            unk: pick(sp.unk, defaults.unk),
            add_bos: data.add_bos.unwrap_or(defaults.add_bos),
            add_eos: data.add_eos.unwrap_or(false),
            add_space_prefix: data.add_space_prefix.unwrap_or(defaults.add_space_prefix),
            eog: BTreeSet::new(),
            special_tokens: Vec::new(),
        };
        let ids = super::special::SpecialRoles {
            eot: in_range(sp.eot),
            eom: in_range(sp.eom),
            fim_pre: in_range(sp.fim_pre),
            fim_suf: in_range(sp.fim_suf),
            fim_mid: in_range(sp.fim_mid),
            fim_pad: in_range(sp.fim_pad),
            fim_rep: in_range(sp.fim_rep),
            fim_sep: in_range(sp.fim_sep),
        };
        super::special::apply_load_rules(&mut vocab, ids, &data.model_name);
        vocab.build_special_cache();
        Ok(vocab)
    }

    /// Collects the tokens the partition step matches as whole strings, longest first (ties by
    /// id, so the order is deterministic).
    fn build_special_cache(&mut self) {
        let mask = attr::CONTROL | attr::USER_DEFINED | attr::UNKNOWN;
        let mut ids: Vec<u32> =
            (0..self.texts.len() as u32).filter(|&i| self.attrs[i as usize] & mask != 0).collect();
        ids.sort_by(|&a, &b| {
            let (la, lb) = (self.texts[a as usize].len(), self.texts[b as usize].len());
            lb.cmp(&la).then(a.cmp(&b))
        });
        self.special_tokens = ids;
    }

    pub fn len(&self) -> usize {
        self.texts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    pub fn text(&self, id: u32) -> Option<&str> {
        self.texts.get(id as usize).map(String::as_str)
    }

    pub fn attr(&self, id: u32) -> u32 {
        self.attrs.get(id as usize).copied().unwrap_or(attr::UNDEFINED)
    }

    pub fn score(&self, id: u32) -> f32 {
        self.scores.get(id as usize).copied().unwrap_or(0.0)
    }

    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.text_to_id.get(text).copied()
    }

    /// The token for one raw byte: `<0xXX>`, else the byte itself as a one-character token, else
    /// the unknown token (llama.cpp aborts there; we degrade instead of panicking).
    pub fn byte_to_token(&self, b: u8) -> Option<u32> {
        self.hex_byte_token(b)
            .or_else(|| std::str::from_utf8(&[b]).ok().and_then(|s| self.token_id(s)))
            .or(self.unk)
    }

    /// The `<0xXX>` token of one byte, if the vocabulary has it.
    pub(crate) fn hex_byte_token(&self, b: u8) -> Option<u32> {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let name = [b'<', b'0', b'x', HEX[(b >> 4) as usize], HEX[(b & 15) as usize], b'>'];
        // The name is ASCII, so this cannot fail.
        self.token_id(std::str::from_utf8(&name).unwrap_or_default())
    }

    /// The byte a BYTE token stands for, parsed from its `<0xXX>` text.
    pub fn token_to_byte(&self, id: u32) -> Option<u8> {
        let text = self.text(id)?;
        let hex = text.strip_prefix("<0x")?.strip_suffix('>')?;
        if hex.len() != 2 {
            return None;
        }
        u8::from_str_radix(hex, 16).ok()
    }
}
