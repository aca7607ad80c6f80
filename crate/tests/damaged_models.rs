//! Damaged model files through the whole loader (parser, tokenizer, hyper-parameters, GPU
//! upload) and the CLI: each damage of `scripts/damage_gguf.py` must give its error code naming
//! its byte; random bit flips in the header and truncation anywhere must give a model or a typed
//! error — never a panic — whatever the chunk sizes. Deterministic (fixed seed).

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::process::Command;

use brasa::generate::Engine;
use brasa::gpu::GpuOptions;
use common::*;

/// xorshift64*: enough randomness for picking bytes, with no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Loads `bytes` (announced as `len` bytes) in random chunks; the error code, or "ok".
fn load(engine: &Engine, bytes: &[u8], len: u64, rng: &mut Rng) -> String {
    match load_result(engine, bytes, len, rng) {
        Ok(()) => "ok".into(),
        Err(e) => {
            assert!(!e.to_string().is_empty());
            e.code().to_string()
        }
    }
}

fn load_result(engine: &Engine, bytes: &[u8], len: u64, rng: &mut Rng) -> brasa::Result<()> {
    let mut loader = engine.loader(len);
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = (1 + rng.below(1 << 16) as usize).min(rest.len());
        loader.push(&rest[..n])?;
        rest = &rest[n..];
    }
    loader.finish().map(|_| ())
}

/// `scripts/damage_gguf.py`'s cases for `model` (positions from the `gguf` package's reader).
fn damage_cases(model: &Path) -> Vec<serde_json::Value> {
    let root = repo_root();
    let out = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("scripts/damage_gguf.py"))
        .arg(model)
        .output()
        .expect("run damage_gguf.py");
    assert!(out.status.success(), "damage_gguf.py: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["cases"].as_array().unwrap().clone()
}

/// The file with a case's damage: its first `cut` bytes, or its `patches` applied.
fn damaged(file: &[u8], case: &serde_json::Value) -> Vec<u8> {
    if let Some(cut) = case["cut"].as_u64() {
        return file[..cut as usize].to_vec();
    }
    let mut bytes = file.to_vec();
    for p in case["patches"].as_array().unwrap() {
        let at = p["at"].as_u64().unwrap() as usize;
        let hex = p["hex"].as_str().unwrap();
        for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
            bytes[at + i] = u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap();
        }
    }
    bytes
}

/// Checks an error (its code and message) against a case: the code, "at byte N" with N the
/// case's `offset` (or at most its `max_offset`), and the case's words.
fn check_error(case: &serde_json::Value, code: &str, message: &str) {
    let name = case["name"].as_str().unwrap();
    let codes: Vec<&str> = match &case["code"] {
        serde_json::Value::Array(a) => a.iter().map(|c| c.as_str().unwrap()).collect(),
        c => vec![c.as_str().unwrap()],
    };
    assert!(codes.contains(&code), "{name}: [{code}] {message}");
    let at: Option<u64> = message
        .split("at byte ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next().and_then(|n| n.parse().ok()));
    let at = at.unwrap_or_else(|| panic!("{name}: no byte offset in {message:?}"));
    match case["offset"].as_u64() {
        Some(offset) => assert_eq!(at, offset, "{name}: {message}"),
        None => assert!(at <= case["max_offset"].as_u64().unwrap(), "{name}: {message}"),
    }
    assert!(message.contains(case["words"].as_str().unwrap()), "{name}: {message}");
}

#[test]
fn each_damage_is_its_typed_error_at_its_byte_in_the_loader_and_the_cli() {
    let Some(dir) = tiny_models_dir() else { return };
    let model = dir.join("tiny-gemma.gguf");
    let file = std::fs::read(&model).unwrap();
    let cases = damage_cases(&model);
    let engine = pollster::block_on(Engine::new(GpuOptions::default())).unwrap();
    let tmp = std::env::temp_dir().join(format!("brasa-damaged-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut rng = Rng(0xda_3a_9e);
    let (mut cli_runs, mut cli_data_cut) = (0, false);
    for case in &cases {
        let bytes = damaged(&file, case);
        let e = load_result(&engine, &bytes, bytes.len() as u64, &mut rng).unwrap_err();
        check_error(case, e.code(), &e.to_string());
        // The CLI, as a user runs it: one process per damage, except that of the cuts inside
        // the tensor data, which all fail the same check, one is enough (the loader ran each).
        let data_cut = case["cut"].is_u64() && case["offset"].is_u64();
        if data_cut && std::mem::replace(&mut cli_data_cut, true) {
            continue;
        }
        let path = tmp.join("damaged.gguf");
        std::fs::write(&path, &bytes).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_brasa"))
            .args(["run", "--prompt", "Hi", "--max-tokens", "1", "--model"])
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", case["name"]);
        let line =
            stderr.lines().find_map(|l| l.strip_prefix("error [")).unwrap_or_else(|| panic!("{stderr}"));
        let (code, message) = line.split_once("]: ").unwrap();
        check_error(case, code, message);
        cli_runs += 1;
    }
    std::fs::remove_dir_all(&tmp).unwrap();
    eprintln!(
        "{} damaged files: each its typed error at its byte (loader), {cli_runs} through the CLI",
        cases.len()
    );
    // The engine is still good: the undamaged file loads.
    assert_eq!(load(&engine, &file, file.len() as u64, &mut rng), "ok");
}

#[test]
fn bit_flips_and_truncations_give_a_model_or_a_typed_error() {
    let Some(dir) = tiny_models_dir() else { return };
    let engine = pollster::block_on(Engine::new(GpuOptions::default())).unwrap();
    let path = dir.join("tiny-llama.gguf");
    let file = std::fs::read(&path).unwrap();
    let header_len = brasa::gguf::read_header(&path).unwrap().data_offset as usize;
    let mut rng = Rng(0x5eed_b4a5);
    let mut outcomes = std::collections::BTreeMap::<String, u32>::new();
    for i in 0..400 {
        let mut bytes = file.clone();
        let at = rng.below(header_len as u64) as usize;
        bytes[at] ^= 1 << rng.below(8);
        let outcome = catch_unwind(AssertUnwindSafe(|| load(&engine, &bytes, bytes.len() as u64, &mut rng)))
            .unwrap_or_else(|_| panic!("flip {i}: bit flip at byte {at} panicked"));
        *outcomes.entry(outcome).or_default() += 1;
    }
    for i in 0..30 {
        let cut = rng.below(file.len() as u64) as usize;
        let outcome =
            catch_unwind(AssertUnwindSafe(|| load(&engine, &file[..cut], file.len() as u64, &mut rng)))
                .unwrap_or_else(|_| panic!("cut {i}: truncation at byte {cut} panicked"));
        assert!(outcome == "truncated" || outcome == "bad_file", "cut at {cut}: {outcome}");
    }
    eprintln!("400 header bit flips: {outcomes:?}");
    // Most flips land in token texts or scores, which stay loadable; the rest are typed errors.
    assert!(outcomes.keys().all(|k| !k.is_empty()));
}

/// A model whose weights hold NaN loads (values are data, not structure) but cannot give a
/// token: the sampler flags the logits, so generation fails with a `numerical` error instead of
/// streaming garbage, and so does perplexity (its log-likelihoods). The tiny llama model with one
/// NaN in its final norm, which every logit reads.
#[test]
fn nan_weights_give_a_numerical_error_not_garbage() {
    use brasa::generate::{perplexity, GenParams, PerplexityOptions, Session, SessionOptions};
    let Some(dir) = tiny_models_dir() else { return };
    let path = dir.join("tiny-llama.gguf");
    let file = brasa::gguf::read_header(&path).unwrap();
    let norm = file.tensors.iter().find(|t| t.name == "output_norm.weight").expect("output_norm");
    assert_eq!(norm.type_id, 0, "F32");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = (file.data_offset + norm.offset) as usize + 4 * 3;
    bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let damaged = repo_root().join("target/tiny-models/tiny-llama-nan-norm.gguf");
    std::fs::write(&damaged, &bytes).unwrap();

    let engine = pollster::block_on(Engine::new(GpuOptions::default())).unwrap();
    let model = std::sync::Arc::new(engine.load_file(&damaged).expect("NaN values load"));
    let opts = SessionOptions { ctx_size: 64, ..Default::default() };
    for params in [
        GenParams { max_tokens: 4, ..Default::default() },
        GenParams { max_tokens: 4, temperature: 0.8, top_k: 40, seed: 3, ..Default::default() },
    ] {
        let mut session = Session::new(&engine, model.clone(), opts.clone()).unwrap();
        let mut pieces = 0;
        let r = pollster::block_on(session.generate("Once upon a time", &params, &mut |_| {
            pieces += 1;
            true
        }));
        let e = r.expect_err("no text from NaN logits");
        eprintln!("{e}");
        assert_eq!(e.code(), "numerical", "{e}");
        assert!(e.to_string().contains("NaN"), "{e}");
        assert_eq!(pieces, 0, "no piece was streamed");
    }
    let text = "Once upon a time there was a little model. ".repeat(8);
    let opts = PerplexityOptions { ctx_size: 32, max_chunks: Some(1), kv_type: brasa::kernels::KvType::F32 };
    let e = pollster::block_on(perplexity(&engine, &model, &text, opts, &mut |_, _| {})).unwrap_err();
    eprintln!("{e}");
    assert_eq!(e.code(), "numerical", "{e}");
    std::fs::remove_file(&damaged).unwrap();
}
