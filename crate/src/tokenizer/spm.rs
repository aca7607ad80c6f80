//! The SentencePiece ("llama") tokenizer as llama.cpp runs it (`llm_tokenizer_spm`).
//!
//! Text is split into UTF-8 characters; then, repeatedly, the adjacent pair whose concatenation is
//! a vocabulary token with the highest score is merged (ties: leftmost first), until no adjacent
//! pair forms a token. Each remaining piece is emitted as its token, or — when a single character
//! is not in the vocabulary — as one `<0xXX>` byte token per UTF-8 byte (byte fallback).
//!
//! Cost: the symbols form a doubly linked list over the text and candidate pairs sit in a binary
//! heap, so a text of n characters takes O(n log n) lookups and heap operations. Pairs that went
//! stale (one side already merged elsewhere) are detected when popped and skipped.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::partition::Fragment;
use super::vocab::Vocab;

/// U+2581 LOWER ONE EIGHTH BLOCK: SentencePiece's visible stand-in for a space.
pub(crate) const SPACE_MARK: &str = "\u{2581}";

const NONE: usize = usize::MAX;

/// One piece of the text being merged: the bytes `start..start + len` of the escaped text, linked
/// to its neighbours (`NONE` at the ends). A piece merged into its left neighbour has `len == 0`.
#[derive(Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: usize,
    next: usize,
}

/// A candidate merge of symbol `left` with symbol `right`, valid while their lengths still add up
/// to `size`.
struct Bigram {
    score: f32,
    left: usize,
    right: usize,
    size: usize,
}

impl Ord for Bigram {
    fn cmp(&self, other: &Self) -> Ordering {
        // Max-heap: higher score first, then the leftmost pair.
        self.score.total_cmp(&other.score).then_with(|| other.left.cmp(&self.left))
    }
}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Bigram {}

/// A score usable in a total order: NaN sorts last and -0.0 equals 0.0, as with C's `<`.
fn order_key(score: f32) -> f32 {
    if score.is_nan() {
        f32::NEG_INFINITY
    } else {
        score + 0.0
    }
}

/// Tokenizes partitioned input the way llama.cpp's SPM path does: a space is prepended to a text
/// fragment that starts the input or follows a special token (when the vocabulary asks for
/// `add_space_prefix`), spaces become U+2581, and each fragment is merged on its own.
pub(crate) fn encode_fragments(vocab: &Vocab, text: &str, frags: &[Fragment], out: &mut Vec<u32>) {
    let mut prev_special = true;
    let mut escaped = String::new();
    for frag in frags {
        match frag {
            Fragment::Token(id) => {
                out.push(*id);
                prev_special = true;
            }
            Fragment::Text(range) => {
                escaped.clear();
                if vocab.add_space_prefix && prev_special {
                    escaped.push_str(SPACE_MARK);
                }
                escaped.push_str(&text[range.clone()].replace(' ', SPACE_MARK));
                merge(vocab, &escaped, out);
                prev_special = false;
            }
        }
    }
}

/// Runs the bigram merge over already escaped text and appends the resulting ids.
fn merge(vocab: &Vocab, text: &str, out: &mut Vec<u32>) {
    let mut syms: Vec<Symbol> = Vec::with_capacity(text.len());
    for (start, ch) in text.char_indices() {
        let i = syms.len();
        syms.push(Symbol { start, len: ch.len_utf8(), prev: if i == 0 { NONE } else { i - 1 }, next: i + 1 });
    }
    let Some(last) = syms.last_mut() else { return };
    last.next = NONE;

    let mut heap = BinaryHeap::with_capacity(syms.len());
    let try_add = |syms: &[Symbol], heap: &mut BinaryHeap<Bigram>, left: usize, right: usize| {
        if left == NONE || right == NONE {
            return;
        }
        let (l, r) = (syms[left], syms[right]);
        let size = l.len + r.len;
        if let Some(id) = vocab.token_id(&text[l.start..l.start + size]) {
            heap.push(Bigram { score: order_key(vocab.score(id)), left, right, size });
        }
    };
    for i in 1..syms.len() {
        try_add(&syms, &mut heap, i - 1, i);
    }

    while let Some(b) = heap.pop() {
        let (l, r) = (syms[b.left], syms[b.right]);
        // Stale: one side was merged away or grew since this pair was queued.
        if l.len == 0 || r.len == 0 || l.len + r.len != b.size {
            continue;
        }
        syms[b.left].len = b.size;
        syms[b.left].next = r.next;
        syms[b.right].len = 0;
        if r.next != NONE {
            syms[r.next].prev = b.left;
        }
        try_add(&syms, &mut heap, l.prev, b.left);
        try_add(&syms, &mut heap, b.left, r.next);
    }

    let mut i = 0;
    while i != NONE {
        let s = syms[i];
        let piece = &text[s.start..s.start + s.len];
        match vocab.token_id(piece) {
            Some(id) => out.push(id),
            // Only a single character can be missing: every merged piece is a token.
            None => out.extend(piece.bytes().filter_map(|b| vocab.byte_to_token(b))),
        }
        i = s.next;
    }
}
