//! Token ids back to text: llama.cpp's `token_to_piece` and `detokenize` rules, and an
//! incremental detokenizer that never emits half a UTF-8 character.

use super::pretok::TextForm;
use super::spm::SPACE_MARK;
use super::vocab::{attr, Vocab};
use super::Tokenizer;

/// The bytes of one token (SentencePiece rules, as llama.cpp's `token_to_piece` with no lstrip):
/// CONTROL and UNKNOWN tokens render as their text only when `render_special`; USER_DEFINED tokens
/// always render as their text; NORMAL tokens render with U+2581 turned back into spaces; BYTE
/// tokens render as their one byte. Anything else (UNUSED, UNDEFINED, out-of-range ids) is empty.
pub(crate) fn spm_piece(vocab: &Vocab, id: u32, render_special: bool) -> Vec<u8> {
    let Some(text) = vocab.text(id) else {
        return Vec::new();
    };
    let a = vocab.attr(id);
    let special = attr::UNKNOWN | attr::CONTROL;
    if a & special != 0 && !render_special {
        return Vec::new();
    }
    if a & (special | attr::USER_DEFINED) != 0 {
        return text.as_bytes().to_vec();
    }
    if a & attr::NORMAL != 0 {
        return text.replace(SPACE_MARK, " ").into_bytes();
    }
    if a & attr::BYTE != 0 {
        return vocab.token_to_byte(id).map(|b| vec![b]).unwrap_or_default();
    }
    Vec::new()
}

/// The bytes of one token of a BPE vocabulary (llama.cpp's `token_to_piece` for BPE): NORMAL
/// tokens map each character back to its byte (GPT-2's map), or in Gemma 4's form turn U+2581
/// back into spaces; BYTE tokens (`<0xXX>`) are their byte; USER_DEFINED tokens are their text;
/// CONTROL tokens their text only when `render_special`.
pub(crate) fn bpe_piece(vocab: &Vocab, id: u32, render_special: bool, form: TextForm) -> Vec<u8> {
    let Some(text) = vocab.text(id) else {
        return Vec::new();
    };
    let a = vocab.attr(id);
    let special = attr::UNKNOWN | attr::CONTROL;
    if a & special != 0 {
        return if render_special { text.as_bytes().to_vec() } else { Vec::new() };
    }
    if a & attr::USER_DEFINED != 0 {
        return text.as_bytes().to_vec();
    }
    if a & attr::NORMAL != 0 && form == TextForm::SpaceMarked {
        return text.replace(SPACE_MARK, " ").into_bytes();
    }
    if a & attr::NORMAL != 0 {
        // A character outside the map (a malformed vocabulary) stays as its UTF-8.
        let mut out = Vec::with_capacity(text.len());
        for c in text.chars() {
            match super::bpe::char_to_byte(c) {
                Some(b) => out.push(b),
                None => out.extend(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
        return out;
    }
    if a & attr::BYTE != 0 {
        return vocab.token_to_byte(id).map(|b| vec![b]).unwrap_or_default();
    }
    Vec::new()
}

/// The bytes of a token at position `index` of a sequence being decoded: as llama.cpp's
/// `detokenize` (with `remove_special = false`), the very first token loses one leading space when
/// the vocabulary adds a space prefix, undoing what encoding added.
fn piece_at(tok: &Tokenizer, index: usize, id: u32, render_special: bool) -> Vec<u8> {
    let mut piece = tok.token_to_piece(id, render_special);
    if index == 0 && tok.vocab.add_space_prefix && piece.first() == Some(&b' ') {
        piece.remove(0);
    }
    piece
}

/// All bytes of a token sequence.
pub(crate) fn decode_bytes(tok: &Tokenizer, ids: &[u32], render_special: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, &id) in ids.iter().enumerate() {
        out.extend(piece_at(tok, i, id, render_special));
    }
    out
}

/// Incremental detokenizer for streaming generated text.
///
/// [`push`](Detokenizer::push) returns only complete UTF-8 text: bytes of a character still being
/// assembled (e.g. a 4-byte emoji from four byte-fallback tokens) are held back until the character
/// is complete. Invalid byte sequences become U+FFFD exactly as [`String::from_utf8_lossy`] would
/// make them, so the concatenation of all pushes and [`flush`](Detokenizer::flush) equals
/// [`Tokenizer::decode`] of the same ids.
pub struct Detokenizer<'a> {
    tok: &'a Tokenizer,
    render_special: bool,
    /// Tokens pushed so far (only whether it is the first matters).
    count: usize,
    /// Bytes that may be the start of an incomplete character.
    pending: Vec<u8>,
}

impl<'a> Detokenizer<'a> {
    /// A detokenizer that does not render CONTROL tokens (like `decode(ids, false)`).
    pub fn new(tok: &'a Tokenizer) -> Self {
        Detokenizer { tok, render_special: false, count: 0, pending: Vec::new() }
    }

    /// Whether CONTROL / UNKNOWN tokens are rendered as their text.
    pub fn with_render_special(mut self, render_special: bool) -> Self {
        self.render_special = render_special;
        self
    }

    /// Adds one token; returns the text that is now complete (possibly empty).
    pub fn push(&mut self, id: u32) -> String {
        let piece = piece_at(self.tok, self.count, id, self.render_special);
        self.count += 1;
        self.pending.extend_from_slice(&piece);
        self.take_complete()
    }

    /// Returns everything still held back, invalid or incomplete bytes as U+FFFD.
    pub fn flush(&mut self) -> String {
        let s = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        s
    }

    /// Takes the longest prefix of `pending` that lossy decoding of the whole stream would turn
    /// into the same text no matter what bytes follow: everything up to an incomplete character
    /// at the very end.
    fn take_complete(&mut self) -> String {
        let mut out = String::new();
        let mut rest: &[u8] = &self.pending;
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    // `valid` is valid UTF-8 by construction.
                    out.push_str(&String::from_utf8_lossy(valid));
                    match e.error_len() {
                        // A definitely invalid sequence: one replacement character, as lossy
                        // decoding does, then go on after it.
                        Some(n) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[n..];
                        }
                        // An incomplete character at the end: keep it for the next push.
                        None => {
                            rest = after;
                            break;
                        }
                    }
                }
            }
        }
        self.pending = rest.to_vec();
        out
    }
}
