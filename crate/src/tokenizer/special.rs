//! llama.cpp's load-time rules for special tokens, applied when a [`Vocab`] is built.
//!
//! GGUF files do not say which tokens end a turn, so llama.cpp recognises them by their text and
//! forces the CONTROL attribute on them. That attribute matters for tokenization: CONTROL tokens
//! are only matched in input text when `parse_special` is set, and are not rendered by
//! `token_to_piece` unless asked. (Gemma 3, for example, has a user-defined `</s>` that these rules
//! turn into an end-of-generation CONTROL token.)
//!
//! Where llama.cpp walks an unordered hash map and takes the first match, we walk token ids in
//! ascending order; this only matters for a vocabulary with two candidates for the same role.

use super::vocab::{attr, Vocab};

/// Role ids given by metadata (already range-checked), before auto-detection.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SpecialRoles {
    pub eot: Option<u32>,
    pub eom: Option<u32>,
    pub fim_pre: Option<u32>,
    pub fim_suf: Option<u32>,
    pub fim_mid: Option<u32>,
    pub fim_pad: Option<u32>,
    pub fim_rep: Option<u32>,
    pub fim_sep: Option<u32>,
}

const EOT_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];
const EOM_TEXTS: &[&str] = &["<|eom_id|>"];
const FIM_PRE_TEXTS: &[&str] = &[
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
];
const FIM_SUF_TEXTS: &[&str] = &[
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
];
const FIM_MID_TEXTS: &[&str] = &[
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
];
const FIM_PAD_TEXTS: &[&str] = &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];
const FIM_REP_TEXTS: &[&str] = &["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"];
const FIM_SEP_TEXTS: &[&str] = &["<|file_sep|>"];

/// Texts that end generation wherever they appear in a vocabulary.
const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];

/// gpt-oss tokens that llama.cpp always renders (forced to USER_DEFINED).
const ALWAYS_RENDERED: &[&str] = &["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"];

/// Token ids in ascending order, each with its text, skipping ids whose text is shadowed by a later
/// duplicate (llama.cpp's text → id map only keeps the last).
fn unique_tokens(v: &Vocab) -> impl Iterator<Item = (u32, &str)> {
    v.texts.iter().enumerate().filter_map(move |(i, t)| {
        let id = i as u32;
        (v.text_to_id.get(t.as_str()) == Some(&id)).then_some((id, t.as_str()))
    })
}

/// Finds a token for a role by its text when metadata gave none; the found token becomes CONTROL.
fn detect(v: &mut Vocab, given: Option<u32>, texts: &[&str]) -> Option<u32> {
    if given.is_some() {
        return given;
    }
    let found = unique_tokens(v).find(|(_, t)| texts.contains(t)).map(|(id, _)| id);
    if let Some(id) = found {
        v.attrs[id as usize] |= attr::CONTROL;
    }
    found
}

pub(crate) fn apply_load_rules(v: &mut Vocab, roles: SpecialRoles, model_name: &str) {
    let eot = detect(v, roles.eot, EOT_TEXTS);
    let eom = detect(v, roles.eom, EOM_TEXTS);
    detect(v, roles.fim_pre, FIM_PRE_TEXTS);
    detect(v, roles.fim_suf, FIM_SUF_TEXTS);
    detect(v, roles.fim_mid, FIM_MID_TEXTS);
    let fim_pad = detect(v, roles.fim_pad, FIM_PAD_TEXTS);
    let fim_rep = detect(v, roles.fim_rep, FIM_REP_TEXTS);
    let fim_sep = detect(v, roles.fim_sep, FIM_SEP_TEXTS);

    // CONTROL tokens named "unused…" are unused.
    let unused: Vec<u32> = unique_tokens(v)
        .filter(|&(id, text)| v.attrs[id as usize] & attr::CONTROL != 0 && text.contains("unused"))
        .map(|(id, _)| id)
        .collect();
    for id in unused {
        v.attrs[id as usize] |= attr::UNUSED;
    }

    // The end-of-generation set.
    let mut eog: Vec<u32> = [fim_pad, fim_rep, fim_sep].into_iter().flatten().collect();
    let by_text: Vec<u32> =
        unique_tokens(v).filter(|(_, t)| EOG_TEXTS.contains(t)).map(|(id, _)| id).collect();
    for id in by_text {
        eog.push(id);
        v.attrs[id as usize] |= attr::CONTROL;
    }
    let rendered: Vec<u32> =
        unique_tokens(v).filter(|(_, t)| ALWAYS_RENDERED.contains(t)).map(|(id, _)| id).collect();
    for id in rendered {
        v.attrs[id as usize] = attr::USER_DEFINED;
    }
    eog.extend([v.eos, eot, eom].into_iter().flatten());
    v.eog = eog.into_iter().collect();

    // gpt-oss / solar-open: "<|end|>" ends a message, not generation, when the vocabulary also
    // has the return/call (or calls/flush) tokens.
    let has = |v: &Vocab, t: &str| v.eog.iter().any(|&id| v.texts[id as usize] == t);
    let (has_return, has_flush) = (has(v, "<|return|>"), has(v, "<|flush|>"));
    let has_call = has(v, "<|call|>") || has(v, "<|calls|>");
    if has_call && (has_return || has_flush) {
        if let Some(end) = v.eog.iter().copied().find(|&id| v.texts[id as usize] == "<|end|>") {
            v.eog.remove(&end);
            v.attrs[end as usize] = attr::USER_DEFINED;
        }
    }

    // Gemma 4 and PLaMo have an ordinary "</s>".
    if has(v, "<|tool_response>") || has(v, "<|plamo:eos|>") {
        if let Some(s) = v.eog.iter().copied().find(|&id| v.texts[id as usize] == "</s>") {
            v.eog.remove(&s);
            v.attrs[s as usize] = attr::NORMAL;
        }
    }

    // Phi-3: special tokens swallow the whitespace after them, except a few.
    let name = model_name.to_lowercase();
    if name.contains("phi-3") || name.contains("phi3") {
        let mask = attr::CONTROL | attr::USER_DEFINED | attr::UNKNOWN;
        for a in v.attrs.iter_mut().filter(|a| **a & mask != 0) {
            *a |= attr::RSTRIP;
        }
        if let Some(id) = v.token_id("</s>") {
            v.attrs[id as usize] |= attr::RSTRIP;
        }
        for t in ["<unk>", "<s>", "<|endoftext|>"] {
            if let Some(id) = v.token_id(t) {
                v.attrs[id as usize] &= !attr::RSTRIP;
            }
        }
    }
}
