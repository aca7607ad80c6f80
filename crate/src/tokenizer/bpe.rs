//! Byte-level BPE (`tokenizer.ggml.model = "gpt2"`: Llama 3, Qwen 2/3, SmolLM, GPT-2, Phi-2,
//! StarCoder, …), as llama.cpp's `llm_tokenizer_bpe_session`.
//!
//! Text → pieces by the pre-tokenizer ([`PreTokenizer`]) → each piece's UTF-8 bytes written with
//! GPT-2's byte-to-character map (so that every byte is a printable character, as the vocabulary
//! stores them) → merged: start from single characters and repeatedly merge the adjacent pair
//! with the lowest rank in `tokenizer.ggml.merges` (ties: the leftmost) until no pair has a rank
//! → each result's token id, or its bytes' tokens when the vocabulary lacks it. With
//! `ignore_merges` (Llama 3) a piece that is itself a token is taken whole.
//!
//! Gemma 4 (`tokenizer.ggml.model = "gemma4"`) runs the same merging over SentencePiece-style text
//! instead ([`TextForm::SpaceMarked`]): raw UTF-8 with spaces written U+2581, split only at
//! newline runs, and `<0xXX>` tokens for bytes no token covers.

use std::collections::HashMap;

use super::pretok::{PreTokenizer, TextForm};
use super::spm::SPACE_MARK;
use super::vocab::Vocab;
use crate::error::{Error, Result};

/// GPT-2's byte → character map: printable Latin-1 bytes map to themselves, the other 68 bytes
/// to U+0100 onwards in byte order.
pub(crate) fn byte_to_char(b: u8) -> char {
    let printable = |b: u8| (b'!'..=b'~').contains(&b) || (0xA1..=0xAC).contains(&b) || b >= 0xAE;
    if printable(b) {
        return b as char;
    }
    let n = (0..b).filter(|&x| !printable(x)).count() as u32;
    char::from_u32(0x100 + n).unwrap_or('\u{FFFD}')
}

/// The inverse of [`byte_to_char`], for decoding token text back to bytes.
pub(crate) fn char_to_byte(c: char) -> Option<u8> {
    let map = char_byte_table();
    map.get(&c).copied()
}

fn char_byte_table() -> &'static HashMap<char, u8> {
    static TABLE: std::sync::OnceLock<HashMap<char, u8>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| (0..=255u8).map(|b| (byte_to_char(b), b)).collect())
}

/// Merge ranks and the pre-tokenizer of one vocabulary.
#[derive(Debug, Clone)]
pub(crate) struct BpeModel {
    /// `"left right"` (as stored in `tokenizer.ggml.merges`) → rank (its index).
    ranks: HashMap<String, u32>,
    pre: PreTokenizer,
}

impl BpeModel {
    pub(crate) fn new(merges: &[String], pre: Option<&str>) -> Result<Self> {
        if merges.is_empty() {
            return Err(Error::Tokenizer("a BPE vocabulary needs tokenizer.ggml.merges".into()));
        }
        let pre = PreTokenizer::for_name(pre)?;
        let ranks = merges.iter().enumerate().map(|(i, m)| (m.clone(), i as u32)).collect();
        Ok(BpeModel { ranks, pre })
    }

    /// How the vocabulary spells text (GPT-2's byte map, or SentencePiece's U+2581 for spaces).
    pub(crate) fn form(&self) -> TextForm {
        self.pre.form
    }

    /// Appends the tokens of a plain-text fragment (no special tokens in it) to `out`.
    pub(crate) fn encode(&self, vocab: &Vocab, text: &str, out: &mut Vec<u32>) {
        let spaces_marked;
        let text = match self.pre.form {
            TextForm::Bytes => text,
            TextForm::SpaceMarked => {
                spaces_marked = text.replace(' ', SPACE_MARK);
                spaces_marked.as_str()
            }
        };
        let mut key = String::new();
        for range in self.pre.split(text) {
            let piece = &text[range];
            let word: std::borrow::Cow<str> = match self.pre.form {
                TextForm::Bytes => piece.bytes().map(byte_to_char).collect::<String>().into(),
                TextForm::SpaceMarked => piece.into(),
            };
            // A piece that is a token is taken whole: with `ignore_merges`, and for a run of
            // newlines in Gemma 4's form (its merges would not rebuild them).
            let whole = self.pre.ignore_merges
                || (self.pre.form == TextForm::SpaceMarked && word.bytes().all(|b| b == b'\n'));
            if whole {
                if let Some(id) = vocab.token_id(&word) {
                    out.push(id);
                    continue;
                }
            }
            for part in self.merge(&word, &mut key) {
                match vocab.token_id(part) {
                    Some(id) => out.push(id),
                    // Not in the vocabulary: one token per byte (each byte's character, or its
                    // `<0xXX>` token); bytes without one are dropped, as llama.cpp does.
                    None => match self.pre.form {
                        TextForm::Bytes => out.extend(part.chars().filter_map(|c| {
                            let mut buf = [0u8; 4];
                            vocab.token_id(c.encode_utf8(&mut buf))
                        })),
                        TextForm::SpaceMarked => {
                            out.extend(part.bytes().filter_map(|b| vocab.hex_byte_token(b)))
                        }
                    },
                }
            }
        }
    }

    /// The pieces `word` merges into.
    fn merge<'w>(&self, word: &'w str, key: &mut String) -> Vec<&'w str> {
        let mut parts: Vec<&str> = word.char_indices().map(|(i, c)| &word[i..i + c.len_utf8()]).collect();
        loop {
            let mut best: Option<(u32, usize)> = None;
            for i in 0..parts.len().saturating_sub(1) {
                key.clear();
                key.push_str(parts[i]);
                key.push(' ');
                key.push_str(parts[i + 1]);
                if let Some(&rank) = self.ranks.get(key.as_str()) {
                    if best.is_none_or(|(r, _)| rank < r) {
                        best = Some((rank, i));
                    }
                }
            }
            let Some((_, i)) = best else { return parts };
            // Adjacent slices of `word`: their union is one slice.
            let start = parts[i].as_ptr() as usize - word.as_ptr() as usize;
            let end = start + parts[i].len() + parts[i + 1].len();
            parts[i] = &word[start..end];
            parts.remove(i + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_map_is_gpt2s() {
        assert_eq!(byte_to_char(b'A'), 'A');
        assert_eq!(byte_to_char(b' '), 'Ġ'); // U+0120
        assert_eq!(byte_to_char(b'\n'), 'Ċ'); // U+010A
        assert_eq!(byte_to_char(0xAD), 'Ń'); // U+0143, the last of the 68 remapped bytes
        for b in 0..=255u8 {
            assert_eq!(char_to_byte(byte_to_char(b)), Some(b));
        }
    }
}
