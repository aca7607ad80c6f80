//! Splitting input text at special tokens before the model's own algorithm runs (llama.cpp's
//! `tokenizer_st_partition`).
//!
//! Special tokens are tried one at a time, longest text first; each one splits every remaining
//! text fragment at all its (non-overlapping, leftmost-first) occurrences. USER_DEFINED tokens are
//! always matched; CONTROL and UNKNOWN tokens only when `parse_special` is set. A token with the
//! LSTRIP / RSTRIP attribute also eats the whitespace to its left / right.

use std::ops::Range;

use super::vocab::{attr, Vocab};

/// A piece of the input: raw text still to be tokenized (a byte range of the input), or a
/// special token already decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fragment {
    Text(Range<usize>),
    Token(u32),
}

/// C's `isspace` in the "C" locale, which llama.cpp uses for LSTRIP / RSTRIP.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

pub(crate) fn partition(vocab: &Vocab, text: &str, parse_special: bool) -> Vec<Fragment> {
    let mut frags = Vec::new();
    if text.is_empty() {
        return frags;
    }
    frags.push(Fragment::Text(0..text.len()));

    // Which bytes occur at all: a special token whose first byte never occurs cannot match, and
    // skipping it saves a scan of the whole text (Gemma has ~6,400 special tokens).
    let mut present = [false; 256];
    for &b in text.as_bytes() {
        present[b as usize] = true;
    }

    for &id in &vocab.special_tokens {
        let a = vocab.attr(id);
        if !parse_special && a & (attr::CONTROL | attr::UNKNOWN) != 0 {
            continue;
        }
        let Some(tok) = vocab.text(id) else { continue };
        let Some(&first) = tok.as_bytes().first() else {
            continue;
        };
        if !present[first as usize] || !text.contains(tok) {
            continue;
        }
        frags = split_all(text, frags, tok, id, a);
    }
    frags
}

/// Splits every text fragment at every occurrence of `tok`.
fn split_all(text: &str, frags: Vec<Fragment>, tok: &str, id: u32, a: u32) -> Vec<Fragment> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(frags.len() + 2);
    for frag in frags {
        let Fragment::Text(range) = frag else {
            out.push(frag);
            continue;
        };
        let (mut pos, end) = (range.start, range.end);
        while pos < end {
            // Matches are searched inside the fragment only; `text` is valid UTF-8 and fragment
            // bounds always fall on token (hence character) boundaries.
            let Some(rel) = text[pos..end].find(tok) else {
                break;
            };
            let m = pos + rel;
            let mut left_end = m;
            if a & attr::LSTRIP != 0 {
                while left_end > pos && is_c_space(bytes[left_end - 1]) {
                    left_end -= 1;
                }
            }
            if left_end > pos {
                out.push(Fragment::Text(pos..left_end));
            }
            out.push(Fragment::Token(id));
            pos = m + tok.len();
            if a & attr::RSTRIP != 0 {
                while pos < end && is_c_space(bytes[pos]) {
                    pos += 1;
                }
            }
        }
        if pos < end {
            out.push(Fragment::Text(pos..end));
        }
    }
    out
}
