//! The tokenizer on the real gemma-3 vocabulary (262,144 tokens, no space prefix, byte fallback),
//! read from `models/gemma-3-270m-q4_k_m.gguf`. Skips with a message when the model is absent.
//!
//! Oracles: the text itself (round trips), the UTF-8 bytes of rare characters (byte fallback,
//! looked up by their `<0xXX>` names in the file's vocabulary), and llama.cpp's token ids for the
//! reference texts in `tests/reference/` (generated offline with llama.cpp's `llama-tokenize`).

mod tokenizer_support;

use std::sync::OnceLock;
use std::time::Instant;

use brasa::tokenizer::{attr, Detokenizer, Tokenizer};
use tokenizer_support::{gemma3_gguf, tokenizer_from_file};

/// Loaded once for all tests in this file (reading 262,144 tokens takes a moment).
fn gemma() -> Option<&'static Tokenizer> {
    static TOK: OnceLock<Option<Tokenizer>> = OnceLock::new();
    TOK.get_or_init(|| gemma3_gguf().map(|p| tokenizer_from_file(&p))).as_ref()
}

const TEXTS: &[&str] = &[
    "Hello, world!",
    "The history of the printing press begins in",
    "  leading spaces, trailing spaces   ",
    "tabs\tand\t\ttabs\nnew lines\n\n\nand    runs     of      spaces",
    "\n",
    " ",
    "我出生在江南的一座小城。城不大，一条河从中间穿过。",
    "日本語のテキストと한국어 텍스트, русский текст, ελληνικά, עברית, العربية",
    "emoji: 😀🦙🚀 😶‍🌫️ 👨‍👩‍👧‍👦 ✅ 🇧🇷",
    "fn main() {\n    let x: Vec<u32> = (0..10).map(|i| i * 2).collect();\n    println!(\"{x:?}\");\n}\n",
    "def f(a, b):\n\treturn {'a': a, \"b\": b}  # comment\n",
    "<table><tr><td>html tags are user-defined tokens</td></tr></table>",
    "rare: 𠀋 ꙮ 𓀀 \u{10FFFD} \u{E000} and combining e\u{301}\u{302}",
    "mixed\r\nline endings\rhere",
    "3333333 1234567890 3.14159 -0.5e-10",
];

#[test]
fn metadata_and_special_tokens() {
    let Some(tok) = gemma() else { return };
    let v = tok.vocab();
    assert_eq!(tok.vocab_size(), 262_144);
    assert_eq!((tok.bos(), tok.eos(), tok.add_bos()), (Some(2), Some(1), true));
    let id = |t: &str| v.token_id(t).unwrap_or_else(|| panic!("{t:?} not in the vocabulary"));
    // End of generation: <eos>, <end_of_turn>, and "</s>" (on llama.cpp's list by its text).
    for t in ["<eos>", "<end_of_turn>", "</s>"] {
        assert!(tok.is_eog(id(t)), "{t} should end generation");
    }
    for t in ["<bos>", "<start_of_turn>", "hello", "<pad>"] {
        assert!(!tok.is_eog(id(t)), "{t} should not end generation");
    }
    let turn = "<start_of_turn>user\nHi<end_of_turn>\n";
    let ids = tok.encode(turn, true, true);
    assert_eq!(ids[..2], [2, id("<start_of_turn>")]);
    assert!(ids.contains(&id("<end_of_turn>")));
    assert!(!tok.encode(turn, true, false).contains(&id("<end_of_turn>")));
    // CONTROL tokens render only on request; user-defined ones always.
    assert_eq!(tok.token_to_piece(id("<end_of_turn>"), false), b"");
    assert_eq!(tok.token_to_piece(id("<end_of_turn>"), true), b"<end_of_turn>");
    assert_eq!(tok.token_to_piece(id("<table>"), false), b"<table>");
    assert_eq!(tok.decode(&ids, true), format!("<bos>{turn}"));
}

#[test]
fn round_trips() {
    let Some(tok) = gemma() else { return };
    for text in TEXTS {
        for add_bos in [false, true] {
            let ids = tok.encode(text, add_bos, false);
            assert_eq!(ids.first() == Some(&2), add_bos, "{text:?}");
            assert_eq!(&tok.decode(&ids, false), text, "{text:?} → {ids:?}");
        }
    }
}

#[test]
fn byte_fallback_for_rare_characters() {
    let Some(tok) = gemma() else { return };
    let v = tok.vocab();
    for ch in ['𠀋', 'ꙮ', '𓀀', '\u{10FFFD}'] {
        let s = ch.to_string();
        assert!(v.token_id(&s).is_none(), "{ch:?} unexpectedly in the vocabulary");
        let want: Vec<u32> =
            s.bytes().map(|b| v.token_id(&format!("<0x{b:02X}>")).expect("byte token")).collect();
        assert_eq!(tok.encode(&s, false, false), want, "{ch:?}");
        for &id in &want {
            assert_ne!(v.attr(id) & attr::BYTE, 0);
        }
        // Between ordinary words the fallback is the same.
        let ids = tok.encode(&format!("a{ch}b"), false, false);
        assert!(ids.windows(want.len()).any(|w| w == want.as_slice()), "{ch:?}: {ids:?}");
    }
}

#[test]
fn detokenizer_streams_whole_characters() {
    let Some(tok) = gemma() else { return };
    for text in TEXTS {
        let ids = tok.encode(text, true, false);
        let mut d = Detokenizer::new(tok);
        let mut streamed = String::new();
        for &id in &ids {
            let piece = d.push(id);
            // Half a character would have come out as U+FFFD.
            assert!(!piece.contains('\u{FFFD}'), "{text:?}: {piece:?}");
            streamed += &piece;
        }
        streamed += &d.flush();
        assert_eq!(streamed, tok.decode(&ids, false));
        assert_eq!(&streamed, text);
    }
    // A 4-byte character in four byte tokens: nothing until the last one.
    let ids = tok.encode("𓀀", false, false);
    assert_eq!(ids.len(), 4);
    let mut d = Detokenizer::new(tok);
    let outs: Vec<String> = ids.iter().map(|&id| d.push(id)).collect();
    assert_eq!(outs, ["", "", "", "𓀀"]);
}

/// About 100 KB of mixed text: English, Chinese, code, emoji, whitespace runs, special-looking
/// tags.
fn big_text() -> String {
    let mut s = String::new();
    let mut seed = 12345u64;
    while s.len() < 100_000 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        s.push_str(TEXTS[(seed >> 33) as usize % TEXTS.len()]);
        s.push(if seed & 1 == 0 { ' ' } else { '\n' });
    }
    s
}

#[test]
fn large_text_is_fast() {
    let Some(tok) = gemma() else { return };
    let text = big_text();
    for parse_special in [false, true] {
        let t0 = Instant::now();
        let ids = tok.encode(&text, true, parse_special);
        let dt = t0.elapsed();
        println!(
            "encode {} bytes (parse_special={parse_special}): {} tokens in {:.1} ms",
            text.len(),
            ids.len(),
            dt.as_secs_f64() * 1e3
        );
        assert!(dt.as_secs_f64() < 1.0, "too slow: {dt:?}");
        assert_eq!(tok.decode(&ids, false), text);
    }
}

/// One reference case: a text and llama.cpp's ids for it.
struct RefCase {
    source: String,
    text: String,
    ids: Vec<u32>,
}

/// Collects cases from a JSON value: any object with an `ids` array of integers and either a
/// `text` string or a `text_file` / `file` / `path` naming a text in `tests/reference/` (relative
/// to that folder or to its `texts/`). Objects that state `add_bos: false` or
/// `parse_special: true` are skipped (this test checks `add_bos = true, parse_special = false`).
fn collect_cases(v: &serde_json::Value, base: &std::path::Path, source: &str, out: &mut Vec<RefCase>) {
    use serde_json::Value;
    match v {
        Value::Array(items) => items.iter().for_each(|i| collect_cases(i, base, source, out)),
        Value::Object(map) => {
            let ids: Option<Vec<u32>> = map
                .get("ids")
                .and_then(Value::as_array)
                .and_then(|a| a.iter().map(|x| x.as_u64().and_then(|n| u32::try_from(n).ok())).collect());
            let flags_ok = map.get("add_bos").and_then(Value::as_bool) != Some(false)
                && map.get("parse_special").and_then(Value::as_bool) != Some(true);
            let text = map.get("text").and_then(Value::as_str).map(str::to_string).or_else(|| {
                ["text_file", "file", "path"]
                    .iter()
                    .find_map(|k| map.get(*k).and_then(Value::as_str))
                    .and_then(|f| {
                        [base.join(f), base.join("texts").join(f)]
                            .iter()
                            .find_map(|p| std::fs::read_to_string(p).ok())
                    })
            });
            match (ids, text) {
                (Some(ids), Some(text)) if flags_ok => {
                    out.push(RefCase { source: source.to_string(), text, ids })
                }
                _ => map.values().for_each(|x| collect_cases(x, base, source, out)),
            }
        }
        _ => {}
    }
}

/// The real oracle: llama.cpp's token ids (`add_bos = true`, `parse_special = false`) for the
/// reference texts in `tests/reference/` (English, Chinese, code; see the README there).
#[test]
fn matches_llama_cpp_reference_ids() {
    let Some(tok) = gemma() else { return };
    let base = tokenizer_support::repo_root().join("tests/reference");
    let files: Vec<_> = walk(&base)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy().to_lowercase();
            // tiny/ holds other vocabularies' ids (the tiny BPE models), not gemma's.
            name.ends_with(".json") && name.contains("tok") && !p.starts_with(base.join("tiny"))
        })
        .collect();
    if files.is_empty() {
        eprintln!("SKIPPED: no token id files (*tok*.json) in {}", base.display());
        return;
    }
    let mut cases = Vec::new();
    for f in &files {
        let data = std::fs::read_to_string(f).expect("read reference file");
        let v: serde_json::Value = serde_json::from_str(&data).expect("reference JSON");
        collect_cases(&v, &base, &f.display().to_string(), &mut cases);
    }
    // Token files present but nothing recognised: the format changed; fail rather than skip.
    assert!(!cases.is_empty(), "no cases recognised in {files:?}; update collect_cases");
    for c in &cases {
        let got = tok.encode(&c.text, true, false);
        let first = got.iter().zip(&c.ids).position(|(a, b)| a != b);
        assert!(
            got == c.ids,
            "{}: {} chars: {} ids vs llama.cpp's {}, first difference at {first:?}",
            c.source,
            c.text.chars().count(),
            got.len(),
            c.ids.len()
        );
    }
    println!("{} reference texts match llama.cpp token for token", cases.len());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
