//! Unit tests on small hand-made vocabularies, with expected ids worked out by hand from the
//! SentencePiece rules. The real-vocabulary tests against llama.cpp are in
//! `crate/tests/tokenizer_*.rs`.

use super::*;
use crate::gguf::{ArrayValue, Value};

const NORMAL: i32 = 1;
const UNKNOWN: i32 = 2;
const CONTROL: i32 = 3;
const USER: i32 = 4;
const BYTE: i32 = 6;

/// Ids: 0 <unk>, 1 <s>, 2 </s>, 3..=258 byte tokens <0x00>..<0xFF>, then `extra` in order.
fn vocab(extra: &[(&str, f32, i32)]) -> VocabData {
    let mut tokens = vec!["<unk>".to_string(), "<s>".into(), "</s>".into()];
    let mut scores = vec![0.0, 0.0, 0.0];
    let mut types = vec![UNKNOWN, CONTROL, CONTROL];
    for b in 0..=255u8 {
        tokens.push(format!("<0x{b:02X}>"));
        scores.push(0.0);
        types.push(BYTE);
    }
    for &(t, s, ty) in extra {
        tokens.push(t.to_string());
        scores.push(s);
        types.push(ty);
    }
    VocabData {
        tokens,
        scores,
        token_types: types,
        special: SpecialIds { bos: Some(1), eos: Some(2), unk: Some(0), ..Default::default() },
        ..Default::default()
    }
}

/// Id of the `i`-th extra token.
fn x(i: u32) -> u32 {
    259 + i
}

fn byte(b: u8) -> u32 {
    3 + b as u32
}

fn spm(data: VocabData) -> Tokenizer {
    Tokenizer::from_data(ModelKind::Spm, data).expect("valid vocabulary")
}

#[test]
fn merges_highest_score_first() {
    // "abc": pairs "ab" (-1) and "bc" (-0.5); "bc" wins, then "a"+"bc" is not a token.
    let t = spm(VocabData {
        add_space_prefix: Some(false),
        ..vocab(&[
            ("a", -5.0, NORMAL),
            ("b", -5.0, NORMAL),
            ("c", -5.0, NORMAL),
            ("ab", -1.0, NORMAL),
            ("bc", -0.5, NORMAL),
        ])
    });
    assert_eq!(t.encode("abc", false, false), vec![x(0), x(4)]);
    // With "abc" present it is reached through "bc" first, then "a"+"bc".
    let t = spm(VocabData {
        add_space_prefix: Some(false),
        ..vocab(&[
            ("a", -5.0, NORMAL),
            ("b", -5.0, NORMAL),
            ("c", -5.0, NORMAL),
            ("ab", -1.0, NORMAL),
            ("bc", -0.5, NORMAL),
            ("abc", -3.0, NORMAL),
        ])
    });
    assert_eq!(t.encode("abc", false, false), vec![x(5)]);
}

#[test]
fn equal_scores_merge_leftmost_first() {
    // "aaa": both pairs are "aa"; the left one merges, leaving "aa" + "a".
    let t = spm(VocabData {
        add_space_prefix: Some(false),
        ..vocab(&[("a", -5.0, NORMAL), ("aa", -1.0, NORMAL)])
    });
    assert_eq!(t.encode("aaa", false, false), vec![x(1), x(0)]);
    assert_eq!(t.encode("aaaa", false, false), vec![x(1), x(1)]);
}

#[test]
fn space_prefix_and_escaping() {
    let t = spm(vocab(&[("▁", -2.0, NORMAL), ("a", -5.0, NORMAL), ("▁a", -1.0, NORMAL)]));
    // add_space_prefix defaults to true for "llama": " a" → "▁a".
    assert_eq!(t.encode("a", false, false), vec![x(2)]);
    assert_eq!(t.encode("a a", true, false), vec![1, x(2), x(2)]);
    assert_eq!(t.encode("", true, false), vec![1]);
    assert_eq!(t.encode("", false, false), Vec::<u32>::new());
    // decode drops the prefix space of the first token again.
    assert_eq!(t.decode(&t.encode("a a", false, false), false), "a a");
}

#[test]
fn byte_fallback_for_unknown_characters() {
    let t = spm(VocabData { add_space_prefix: Some(false), ..vocab(&[("a", -1.0, NORMAL)]) });
    // "é" is C3 A9 in UTF-8.
    assert_eq!(t.encode("aé", false, false), vec![x(0), byte(0xC3), byte(0xA9)]);
    assert_eq!(t.decode(&[x(0), byte(0xC3), byte(0xA9)], false), "aé");
    assert_eq!(t.token_to_piece(byte(0xC3), false), vec![0xC3]);
}

#[test]
fn special_tokens_partition() {
    let t = spm(vocab(&[
        ("▁", -2.0, NORMAL),
        ("a", -5.0, NORMAL),
        ("▁a", -1.0, NORMAL),
        ("<tag>", 0.0, USER),
        ("<ctl>", 0.0, CONTROL),
    ]));
    // User-defined: always matched; the text after it gets a space prefix again.
    assert_eq!(t.encode("a<tag>a", false, false), vec![x(2), x(3), x(2)]);
    // Control: only with parse_special; otherwise its characters are ordinary (byte fallback).
    assert_eq!(t.encode("<ctl>a", false, true), vec![x(4), x(2)]);
    let plain = t.encode("<ctl>", false, false);
    assert!(!plain.contains(&x(4)));
    assert_eq!(plain[0], x(0)); // the space prefix as "▁"
    assert_eq!(&plain[1..], &[byte(b'<'), byte(b'c'), byte(b't'), byte(b'l'), byte(b'>')]);
    // "<s>" is CONTROL: parsed only on request.
    assert_eq!(t.encode("<s>", false, true), vec![1]);
}

#[test]
fn pieces_follow_token_types() {
    let t =
        spm(vocab(&[("▁hi", -1.0, NORMAL), ("<tag>", 0.0, USER), ("<ctl>", 0.0, CONTROL), ("zz", 0.0, 5)]));
    assert_eq!(t.token_to_piece(x(0), false), b" hi");
    assert_eq!(t.token_to_piece(x(1), false), b"<tag>");
    assert_eq!(t.token_to_piece(x(2), false), b"");
    assert_eq!(t.token_to_piece(x(2), true), b"<ctl>");
    assert_eq!(t.token_to_piece(x(3), true), b""); // UNUSED
    assert_eq!(t.token_to_piece(0, false), b""); // UNKNOWN
    assert_eq!(t.token_to_piece(0, true), b"<unk>");
    assert_eq!(t.token_to_piece(1_000_000, true), b"");
    // BOS first: llama.cpp's detokenize strips the space of the first token only, here BOS.
    assert_eq!(t.decode(&[1, x(0), x(0)], false), " hi hi");
    assert_eq!(t.decode(&[1, x(0)], true), "<s> hi");
    assert_eq!(t.decode(&[x(0), x(0)], false), "hi hi");
}

#[test]
fn end_of_generation_rules() {
    let mut data = vocab(&[("<end_of_turn>", 0.0, USER), ("<eos>", 0.0, NORMAL), ("hello", 0.0, NORMAL)]);
    data.special.eos = Some(x(1));
    let t = spm(data);
    assert!(t.is_eog(x(0)) && t.is_eog(x(1)) && t.is_eog(2)); // "</s>" is on llama.cpp's list
    assert!(!t.is_eog(x(2)) && !t.is_eog(1));
    // Detected end-of-turn tokens become CONTROL, so plain text no longer matches them.
    assert_ne!(t.vocab().attr(x(0)) & attr::CONTROL, 0);
    assert!(!t.encode("<end_of_turn>", false, false).contains(&x(0)));
    assert_eq!(t.encode("<end_of_turn>", false, true), vec![x(0)]);
}

#[test]
fn rstrip_for_phi3() {
    let mut data =
        vocab(&[("▁", -2.0, NORMAL), ("a", -5.0, NORMAL), ("▁a", -1.0, NORMAL), ("<|user|>", 0.0, USER)]);
    data.model_name = "Phi3 mini".into();
    let t = spm(data);
    // Whitespace after "<|user|>" is swallowed; the text after it still gets its prefix space.
    assert_eq!(t.encode("<|user|>  \n a", false, false), vec![x(3), x(2)]);
}

#[test]
fn detokenizer_holds_back_partial_characters() {
    let t = spm(VocabData { add_space_prefix: Some(false), ..vocab(&[("a", -1.0, NORMAL)]) });
    // "😀" is F0 9F 98 80.
    let ids = [x(0), byte(0xF0), byte(0x9F), byte(0x98), byte(0x80), x(0)];
    let mut d = Detokenizer::new(&t);
    let outs: Vec<String> = ids.iter().map(|&id| d.push(id)).collect();
    assert_eq!(outs, ["a", "", "", "", "😀", "a"]);
    assert_eq!(d.flush(), "");
    // Invalid and truncated sequences: same text as lossy decoding of the whole.
    let bad = [byte(0xF0), byte(0x9F), x(0), byte(0xFF), byte(0xE2), byte(0x82)];
    let mut d = Detokenizer::new(&t);
    let mut s: String = bad.iter().map(|&id| d.push(id)).collect();
    s += &d.flush();
    assert_eq!(s, t.decode(&bad, false));
    assert_eq!(s, "\u{FFFD}a\u{FFFD}\u{FFFD}");
}

#[test]
fn bad_inputs_are_errors() {
    assert!(matches!(Tokenizer::from_data(ModelKind::Spm, VocabData::default()), Err(Error::Tokenizer(_))));
    let mut short = vocab(&[]);
    short.scores.truncate(3);
    assert!(Tokenizer::from_data(ModelKind::Spm, short).is_err());

    let md = Metadata {
        entries: vec![
            ("tokenizer.ggml.model".into(), Value::String("bert".into())),
            ("tokenizer.ggml.tokens".into(), Value::Array(ArrayValue::String(vec!["a".into()]))),
        ],
    };
    match Tokenizer::from_gguf(&md) {
        Err(Error::Tokenizer(msg)) => assert!(msg.contains("bert"), "{msg}"),
        other => panic!("expected a tokenizer error, got {other:?}"),
    }
    // A BPE vocabulary without merges, or with a pre-tokenizer brasa does not know.
    let bpe = |pre: Option<&str>, merges: bool| {
        let mut entries = vec![
            ("tokenizer.ggml.model".into(), Value::String("gpt2".into())),
            ("tokenizer.ggml.tokens".into(), Value::Array(ArrayValue::String(vec!["a".into(), "b".into()]))),
        ];
        if merges {
            entries
                .push(("tokenizer.ggml.merges".into(), Value::Array(ArrayValue::String(vec!["a b".into()]))));
        }
        if let Some(p) = pre {
            entries.push(("tokenizer.ggml.pre".into(), Value::String(p.into())));
        }
        Tokenizer::from_gguf(&Metadata { entries })
    };
    assert!(bpe(Some("llama3"), true).is_ok());
    assert!(bpe(None, true).is_ok(), "a missing pre means \"default\"");
    assert!(bpe(Some("llama3"), false).is_err());
    match bpe(Some("no-such-pre"), true) {
        Err(Error::Tokenizer(msg)) => assert!(msg.contains("no-such-pre"), "{msg}"),
        other => panic!("expected a tokenizer error, got {other:?}"),
    }
}

#[test]
fn from_gguf_metadata() {
    let data = vocab(&[("▁a", -1.0, NORMAL)]);
    let md = Metadata {
        entries: vec![
            ("tokenizer.ggml.model".into(), Value::String("llama".into())),
            ("tokenizer.ggml.tokens".into(), Value::Array(ArrayValue::String(data.tokens.clone()))),
            ("tokenizer.ggml.scores".into(), Value::Array(ArrayValue::F32(data.scores.clone()))),
            ("tokenizer.ggml.token_type".into(), Value::Array(ArrayValue::I32(data.token_types.clone()))),
            ("tokenizer.ggml.bos_token_id".into(), Value::U32(2)),
            ("tokenizer.ggml.eos_token_id".into(), Value::U32(1)),
            // Some converters write -1 for "no such token": ignored, not an error.
            ("tokenizer.ggml.padding_token_id".into(), Value::I32(-1)),
            ("tokenizer.ggml.add_bos_token".into(), Value::Bool(false)),
            ("tokenizer.ggml.add_space_prefix".into(), Value::Bool(false)),
        ],
    };
    let t = Tokenizer::from_gguf(&md).expect("valid metadata");
    assert_eq!((t.bos(), t.eos(), t.add_bos(), t.vocab_size()), (Some(2), Some(1), false, 260));
    // No space prefix: "a" alone is not a token, so it falls back to bytes.
    assert_eq!(t.encode("a", true, false), vec![2, byte(b'a')]);
    assert_eq!(t.encode(" a", false, false), vec![x(0)]);
}
