//! The tokenizers of real vocabularies (llama.cpp's test vocabularies and gemma-3's, see
//! `brasa_fuzz::vocab_files`) on random bytes and random Unicode, with special-token parsing on
//! and off, and decoding of random ids.
//!
//! Input: byte 0 picks the vocabulary, byte 1 the options (bit 0 parse_special, bit 1 add_bos,
//! bit 2 render_special, bits 3-4 how the rest becomes text: UTF-8 with invalid bytes replaced,
//! code points from little-endian u32s, or token ids from u32s).
//!
//! Checks, besides "no panic, no hang, no unbounded allocation":
//! - every id is inside the vocabulary;
//! - the streaming detokenizer's pieces add up to `decode` of the same ids (its documented
//!   promise), for encoded and for random ids, unknown ids included;
//! - text comes back from `decode(encode(text))` unchanged (no special parsing or rendering, no
//!   BOS), as `tests/tokenizer_llamacpp.rs` checks on llama.cpp's cases, whenever the vocabulary
//!   has a token for every byte of the text (llama.cpp drops a byte it has no token for, and so
//!   does brasa: Falcon's vocabulary has none for 0xF2, for one) and the text holds no U+2581
//!   (SentencePiece's space, which decodes to a space).
#![no_main]

use std::sync::OnceLock;

use brasa::tokenizer::{Detokenizer, Tokenizer};
use libfuzzer_sys::fuzz_target;

/// Longest text tried (characters): long enough for every merge path, short enough that the
/// slowest vocabulary stays well above 100 executions per second.
const MAX_CHARS: usize = 2048;

struct Vocabulary {
    name: String,
    tok: Tokenizer,
    /// Which bytes some token stands for alone (a byte-level BPE byte, an SPM `<0xXX>`).
    spells_byte: [bool; 256],
}

fn vocabularies() -> &'static [Vocabulary] {
    static VOCABS: OnceLock<Vec<Vocabulary>> = OnceLock::new();
    VOCABS.get_or_init(|| {
        let mut out = Vec::new();
        for path in brasa_fuzz::vocab_files() {
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let md = match brasa::gguf::read_header(&path) {
                Ok(f) => f.metadata,
                Err(e) => panic!("{}: {e}", path.display()),
            };
            match Tokenizer::from_gguf(&md) {
                Ok(tok) => {
                    let mut spells_byte = [false; 256];
                    for id in 0..tok.vocab_size() as u32 {
                        if let [b] = tok.token_to_piece(id, false)[..] {
                            spells_byte[b as usize] = true;
                        }
                    }
                    out.push(Vocabulary { name, tok, spells_byte })
                }
                Err(e) => eprintln!("tokenizer fuzz: {name} not supported ({e}), skipped"),
            }
        }
        if out.is_empty() {
            eprintln!(
                "SKIPPED: no vocabulary found (run scripts/fetch-llama-testdata.sh, or set BRASA_FUZZ_VOCABS)"
            );
        } else {
            let names: Vec<&str> = out.iter().map(|v| v.name.as_str()).collect();
            eprintln!("tokenizer fuzz: {} vocabularies: {}", out.len(), names.join(" "));
        }
        out
    })
}

fuzz_target!(init: { vocabularies(); }, |data: &[u8]| {
    // Loaded once before the first input (seconds under ASan, over the per-input timeout).
    let vocabs = vocabularies();
    let [pick, flags, rest @ ..] = data else { return };
    if vocabs.is_empty() {
        return;
    }
    let Vocabulary { name, tok, spells_byte } = &vocabs[*pick as usize % vocabs.len()];
    let parse_special = flags & 1 != 0;
    let add_bos = flags & 2 != 0;
    let render_special = flags & 4 != 0;
    let words = || rest.chunks_exact(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    let text: String = match (flags >> 3) & 3 {
        0 | 1 => String::from_utf8_lossy(rest).chars().take(MAX_CHARS).collect(),
        2 => words().filter_map(|w| char::from_u32(w % 0x11_0000)).take(MAX_CHARS).collect(),
        _ => {
            // Random ids, a few past the end of the vocabulary.
            let ids: Vec<u32> = words().map(|w| w % (tok.vocab_size() as u32 + 8)).take(MAX_CHARS).collect();
            check_streaming(name, tok, &ids, render_special);
            return;
        }
    };

    let ids = tok.encode(&text, add_bos, parse_special);
    let n_vocab = tok.vocab_size();
    assert!(ids.iter().all(|&id| (id as usize) < n_vocab), "{name}: an id outside the vocabulary: {ids:?}");
    check_streaming(name, tok, &ids, render_special);

    if !text.contains('\u{2581}') && text.bytes().all(|b| spells_byte[b as usize]) {
        let plain = tok.encode(&text, false, false);
        let back = tok.decode(&plain, false);
        assert_eq!(back, text, "{name}: the text does not come back from its ids {plain:?}");
    }
});

/// The detokenizer's pieces, concatenated, equal `decode`.
fn check_streaming(name: &str, tok: &Tokenizer, ids: &[u32], render_special: bool) {
    let mut detok = Detokenizer::new(tok).with_render_special(render_special);
    let mut streamed: String = ids.iter().map(|&id| detok.push(id)).collect();
    streamed.push_str(&detok.flush());
    assert_eq!(
        streamed,
        tok.decode(ids, render_special),
        "{name}: streamed text differs from decode of {ids:?}"
    );
}
