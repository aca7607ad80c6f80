//! llama.cpp's own tokenizer test cases (tests/test-tokenizer-0.cpp): for every vocabulary in
//! the test data whose `tokenizer.ggml.model` brasa supports, each `.gguf.inp` input must encode
//! (no BOS, no special-token parsing, as that test does) to exactly the ids in `.gguf.out`.
//! Needs `scripts/fetch-llama-testdata.sh`; skips with a message without it.

mod tokenizer_support;

use std::fs;
use std::path::Path;

use brasa::tokenizer::Tokenizer;
use tokenizer_support::{llama_testdata, load_metadata};

/// The inputs, split as llama.cpp does, paired with the expected ids (one line each).
fn read_cases(vocab: &Path) -> Vec<(String, Vec<u32>)> {
    let inp_path = vocab.with_extension("gguf.inp");
    let out_path = vocab.with_extension("gguf.out");
    let inp = fs::read_to_string(&inp_path).expect("read .inp");
    let out = fs::read_to_string(&out_path).expect("read .out");

    const SEP: &str = "\n__ggml_vocab_test__\n";
    let mut inputs = Vec::new();
    let mut rest = inp.as_str();
    while !rest.is_empty() {
        match rest.find(SEP) {
            Some(i) => {
                inputs.push(rest[..i].to_string());
                rest = &rest[i + SEP.len()..];
            }
            None => {
                inputs.push(rest.to_string());
                rest = "";
            }
        }
    }
    let outputs: Vec<Vec<u32>> =
        out.lines().map(|l| l.split_whitespace().map(|t| t.parse().expect("token id")).collect()).collect();
    assert_eq!(inputs.len(), outputs.len(), "{}: case counts differ", inp_path.display());
    inputs.into_iter().zip(outputs).collect()
}

fn show(tok: &Tokenizer, ids: &[u32]) -> String {
    ids.iter()
        .map(|&id| format!("{id}:{:?}", String::from_utf8_lossy(&tok.token_to_piece(id, true))))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn llama_cpp_tokenizer_cases() {
    let Some(dir) = llama_testdata() else { return };
    let mut vocabs: Vec<_> = fs::read_dir(&dir)
        .expect("read test data dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "gguf"))
        .filter(|p| p.with_extension("gguf.inp").is_file())
        .collect();
    vocabs.sort();

    let mut tested = Vec::new();
    for path in vocabs {
        let md = load_metadata(&path);
        let model = match md.get("tokenizer.ggml.model") {
            Some(brasa::gguf::Value::String(s)) => s.clone(),
            _ => panic!("{}: no tokenizer.ggml.model", path.display()),
        };
        let tok = match Tokenizer::from_gguf(&md) {
            Ok(t) => t,
            Err(e) => {
                // Unsupported kinds must say which model or pre-tokenizer they are.
                let pre = match md.get("tokenizer.ggml.pre") {
                    Some(brasa::gguf::Value::String(s)) => s.clone(),
                    _ => String::new(),
                };
                let msg = e.to_string();
                assert!(
                    msg.contains(&model) || (!pre.is_empty() && msg.contains(&pre)),
                    "{}: {e}",
                    path.display()
                );
                println!("{}: not supported ({msg})", path.display());
                continue;
            }
        };
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let cases = read_cases(&path);
        let mut failures = 0;
        for (text, want) in &cases {
            let got = tok.encode(text, false, false);
            if &got != want {
                failures += 1;
                eprintln!("{name}: {text:?}\n  want {}\n  got  {}", show(&tok, want), show(&tok, &got));
            }
        }
        assert_eq!(failures, 0, "{name}: {failures} of {} cases differ", cases.len());
        println!("{name}: all {} cases match llama.cpp", cases.len());
        tested.push(name);
    }
    for required in [
        "ggml-vocab-llama-spm.gguf",
        "ggml-vocab-llama-bpe.gguf",
        "ggml-vocab-qwen2.gguf",
        "ggml-vocab-gpt-2.gguf",
        "ggml-vocab-starcoder.gguf",
        "ggml-vocab-deepseek-llm.gguf",
        "ggml-vocab-deepseek-coder.gguf",
        "ggml-vocab-gemma-4.gguf",
    ] {
        assert!(tested.iter().any(|n| n == required), "{required} was not tested (tested: {tested:?})");
    }
}

/// With the space prefix added by encoding removed again by decoding, every case's text comes
/// back unchanged (none of these inputs contains text that byte fallback cannot represent).
#[test]
fn llama_spm_round_trips() {
    let Some(dir) = llama_testdata() else { return };
    let path = dir.join("ggml-vocab-llama-spm.gguf");
    let tok = tokenizer_support::tokenizer_from_file(&path);
    for (text, _) in read_cases(&path) {
        let ids = tok.encode(&text, false, false);
        assert_eq!(tok.decode(&ids, false), text, "ids {ids:?}");
    }
}

/// BPE is lossless: every case's text decodes back unchanged, for each BPE vocabulary (Gemma 4's
/// too, whose texts hold no literal U+2581).
#[test]
fn bpe_round_trips() {
    let Some(dir) = llama_testdata() else { return };
    for name in [
        "ggml-vocab-llama-bpe.gguf",
        "ggml-vocab-qwen2.gguf",
        "ggml-vocab-gpt-2.gguf",
        "ggml-vocab-starcoder.gguf",
        "ggml-vocab-deepseek-llm.gguf",
        "ggml-vocab-deepseek-coder.gguf",
        "ggml-vocab-gemma-4.gguf",
    ] {
        let path = dir.join(name);
        let tok = tokenizer_support::tokenizer_from_file(&path);
        for (text, _) in read_cases(&path) {
            let ids = tok.encode(&text, false, false);
            assert_eq!(tok.decode(&ids, false), text, "{name}: ids {ids:?}");
        }
    }
}

/// 116 texts mixing words, many scripts, emoji, whitespace runs and special-token strings
/// (`<start_of_turn>`, `</s>`, `<|user|>`, `<0x41>` …), with the ids llama.cpp (commit 0c1e570,
/// `llama_tokenize` with `add_special = true`, vocab-only load) gives for them on three SPM
/// vocabularies and (`llama-tokenize`, the same call) four byte-level BPE ones and Gemma 4's, with
/// `parse_special` off and on. Exercises the special-token partition, the space prefix after
/// special tokens, Phi-3's whitespace stripping, byte fallback, and the BPE pre-tokenizers on
/// text far from their own test cases.
#[test]
fn llama_cpp_ids_for_mixed_texts() {
    let data = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tokenizer_data/llama_cpp_ids.json"),
    )
    .expect("read llama_cpp_ids.json");
    let data: serde_json::Value = serde_json::from_str(&data).expect("parse llama_cpp_ids.json");
    let cases = data["cases"].as_array().expect("cases");
    assert!(cases.len() > 100);

    let testdata = llama_testdata();
    let vocabs = [
        ("llama-spm", testdata.as_ref().map(|d| d.join("ggml-vocab-llama-spm.gguf"))),
        ("phi-3", testdata.as_ref().map(|d| d.join("ggml-vocab-phi-3.gguf"))),
        ("gemma-3-270m", tokenizer_support::gemma3_gguf()),
        ("llama-bpe", testdata.as_ref().map(|d| d.join("ggml-vocab-llama-bpe.gguf"))),
        ("qwen2", testdata.as_ref().map(|d| d.join("ggml-vocab-qwen2.gguf"))),
        ("gpt-2", testdata.as_ref().map(|d| d.join("ggml-vocab-gpt-2.gguf"))),
        ("deepseek-llm", testdata.as_ref().map(|d| d.join("ggml-vocab-deepseek-llm.gguf"))),
        ("deepseek-coder", testdata.as_ref().map(|d| d.join("ggml-vocab-deepseek-coder.gguf"))),
        ("gemma-4", testdata.as_ref().map(|d| d.join("ggml-vocab-gemma-4.gguf"))),
    ];
    for (name, path) in vocabs {
        let Some(path) = path else { continue };
        let tok = tokenizer_support::tokenizer_from_file(&path);
        let mut failures = 0;
        for case in cases {
            let text = case["text"].as_str().expect("text");
            if case[name].is_null() {
                continue; // no reference for this text (see the file's "about")
            }
            for (key, parse_special) in [("plain", false), ("special", true)] {
                let want: Vec<u32> = case[name][key]
                    .as_array()
                    .expect("ids")
                    .iter()
                    .map(|v| v.as_u64().expect("id") as u32)
                    .collect();
                // llama.cpp's add_special: BOS when the vocabulary asks for it (not Qwen 2).
                let got = tok.encode(text, tok.add_bos(), parse_special);
                if got != want {
                    failures += 1;
                    eprintln!(
                        "{name} parse_special={parse_special} {text:?}\n  want {}\n  got  {}",
                        show(&tok, &want),
                        show(&tok, &got)
                    );
                }
            }
        }
        assert_eq!(failures, 0, "{name}: {failures} encodings differ from llama.cpp");
        println!("{name}: {} texts × 2 match llama.cpp", cases.len());
    }
}

/// Each Unicode whitespace character (and U+000B, U+000C, U+001C, U+200B, U+FEFF) between letters,
/// CJK, Hangul, digits and CJK / full-width punctuation, with llama-tokenize's ids on four
/// byte-level BPE vocabularies and Gemma 4's (`tests/tokenizer_data/bpe_whitespace_ids.json`, no special-token
/// parsing). llama.cpp matches the pre-tokenizer expressions after turning non-ASCII whitespace
/// into U+000B; brasa's `\s` and explicit ranges must split exactly as that does.
#[test]
fn llama_cpp_ids_for_whitespace_texts() {
    let Some(dir) = llama_testdata() else { return };
    let data = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tokenizer_data/bpe_whitespace_ids.json"),
    )
    .expect("read bpe_whitespace_ids.json");
    let data: serde_json::Value = serde_json::from_str(&data).expect("parse bpe_whitespace_ids.json");
    let cases = data["cases"].as_array().expect("cases");
    for name in ["llama-bpe", "qwen2", "deepseek-llm", "deepseek-coder", "gemma-4"] {
        let tok = tokenizer_support::tokenizer_from_file(&dir.join(format!("ggml-vocab-{name}.gguf")));
        let mut failures = 0;
        for case in cases {
            let text = case["text"].as_str().expect("text");
            let want: Vec<u32> =
                case[name].as_array().expect("ids").iter().map(|v| v.as_u64().expect("id") as u32).collect();
            let got = tok.encode(text, tok.add_bos(), false);
            if got != want {
                failures += 1;
                eprintln!("{name} {text:?}\n  want {}\n  got  {}", show(&tok, &want), show(&tok, &got));
            }
        }
        assert_eq!(failures, 0, "{name}: {failures} encodings differ from llama.cpp");
        println!("{name}: {} texts match llama.cpp", cases.len());
    }
}
