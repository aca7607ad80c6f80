//! Reading a tokenizer's [`VocabData`] from GGUF metadata (`tokenizer.ggml.*`).

use crate::error::{Error, Result};
use crate::gguf::Metadata;

#[allow(unused_imports)]
use super::vocab::{SpecialIds, VocabData};

pub(crate) const KEY_MODEL: &str = "tokenizer.ggml.model";
const KEY_TOKENS: &str = "tokenizer.ggml.tokens";
const KEY_SCORES: &str = "tokenizer.ggml.scores";
const KEY_TYPES: &str = "tokenizer.ggml.token_type";

/// Reads the vocabulary, scores, token types, special ids and flags. Missing optional keys are
/// `None`/empty; keys present with the wrong type are errors.
pub(crate) fn vocab_data(md: &Metadata) -> Result<VocabData> {
    let tokens = md.get_str_array(KEY_TOKENS)?.to_vec();
    // Scores are f32 in practice; llama.cpp also accepts i32.
    let scores = if md.get(KEY_SCORES).is_none() {
        Vec::new()
    } else {
        match md.get_f32_array(KEY_SCORES) {
            Ok(s) => s.to_vec(),
            Err(_) => md
                .get_i32_array(KEY_SCORES)
                .map_err(|_| Error::Tokenizer(format!("{KEY_SCORES} must be an array of f32 or i32")))?
                .iter()
                .map(|&s| s as f32)
                .collect(),
        }
    };
    let token_types =
        if md.get(KEY_TYPES).is_none() { Vec::new() } else { md.get_i32_array(KEY_TYPES)?.to_vec() };

    // A special id that is not a u32 (some converters write -1 for "none") is treated as absent,
    // like llama.cpp ignores ids out of range, rather than making the model unusable.
    let id = |name: &str| -> Option<u32> {
        md.opt_u32(&format!("tokenizer.ggml.{name}_token_id")).unwrap_or(None)
    };
    // The deprecated prefix/suffix/middle keys are read after the fim_* ones and win, as in
    // llama.cpp.
    let either = |new: Option<u32>, old: Option<u32>| old.or(new);
    let special = SpecialIds {
        bos: id("bos"),
        eos: id("eos"),
        eot: id("eot"),
        eom: id("eom"),
        unk: id("unknown"),
        // sic: llama.cpp's key is spelled "seperator".
        sep: id("seperator"),
        pad: id("padding"),
        mask: id("mask"),
        fim_pre: either(id("fim_pre"), id("prefix")),
        fim_suf: either(id("fim_suf"), id("suffix")),
        fim_mid: either(id("fim_mid"), id("middle")),
        fim_pad: id("fim_pad"),
        fim_rep: id("fim_rep"),
        fim_sep: id("fim_sep"),
    };

    Ok(VocabData {
        tokens,
        scores,
        token_types,
        special,
        add_bos: md.opt_bool("tokenizer.ggml.add_bos_token")?,
        add_eos: md.opt_bool("tokenizer.ggml.add_eos_token")?,
        add_space_prefix: md.opt_bool("tokenizer.ggml.add_space_prefix")?,
        model_name: md.opt_str("general.name")?.unwrap_or_default().to_string(),
    })
}
