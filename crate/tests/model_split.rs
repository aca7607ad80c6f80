//! GGUF split files (`NAME-00001-of-0000N.gguf` …) load as one model: tiny models are split by
//! the `gguf` package's writer (scripts/split_gguf.py, the writer behind llama.cpp's convert
//! `--split-max-tensors`), and the split model must give exactly the logits of the whole file —
//! the same bytes reach the same GPU layout. Split files given out of order, missing or mixed
//! are refused with typed errors.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use brasa::generate::{Engine, Session, SessionOptions};
use brasa::gpu::GpuOptions;
use brasa::Error;
use common::*;

/// Splits `model` into files of at most `max_tensors` tensors (under target/split-models, once)
/// and returns their paths in order.
fn split(model: &Path, max_tensors: u32) -> Vec<PathBuf> {
    let root = repo_root();
    let dir = root.join(format!("target/split-models/{max_tensors}"));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("scripts/split_gguf.py"))
        .arg(model)
        .arg(&dir)
        .arg(max_tensors.to_string())
        .output()
        .expect("run split_gguf.py");
    assert!(out.status.success(), "split_gguf.py: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(PathBuf::from).collect()
}

fn logits(engine: &Engine, model: brasa::model::Model) -> Vec<Vec<f32>> {
    let opts = SessionOptions { ctx_size: 32, max_batch: 8, ..Default::default() };
    let mut session = Session::new(engine, std::sync::Arc::new(model), opts).unwrap();
    let tokens: Vec<u32> = (0..12).map(|i| 100 + 37 * i).collect();
    pollster::block_on(session.logits(&tokens)).unwrap()
}

/// Streams `paths` through one loader, the way a browser does, and returns its result.
fn load_in_order(engine: &Engine, paths: &[PathBuf]) -> brasa::Result<brasa::model::Model> {
    let mut loader = None;
    for p in paths {
        let bytes = std::fs::read(p).unwrap();
        match loader.as_mut() {
            None => loader = Some(engine.loader(bytes.len() as u64)),
            Some(l) => l.next_file(bytes.len() as u64)?,
        }
        for chunk in bytes.chunks(100_003) {
            loader.as_mut().unwrap().push(chunk)?;
        }
    }
    loader.unwrap().finish()
}

#[test]
fn split_models_give_the_logits_of_the_whole_file() {
    let Some(dir) = tiny_models_dir() else { return };
    let engine = pollster::block_on(Engine::new(GpuOptions::default())).unwrap();
    // Phi-3 has fused tensors, llama3 RoPE factors that land in a later file.
    for stem in ["tiny-phi3", "tiny-llama3"] {
        let whole_path = dir.join(format!("{stem}.gguf"));
        let whole = engine.load_file(&whole_path).unwrap();
        let parts = split(&whole_path, 4);
        assert!(parts.len() >= 4, "{stem}: {} files", parts.len());
        // Any part's name finds all of them.
        let from_split = engine.load_file(&parts[2]).unwrap();
        assert_eq!(from_split.weight_bytes, whole.weight_bytes, "{stem}");
        assert_eq!(from_split.gguf_weight_bytes, whole.gguf_weight_bytes, "{stem}");
        let streamed = load_in_order(&engine, &parts).unwrap();
        let want = logits(&engine, whole);
        assert_eq!(logits(&engine, from_split), want, "{stem}: split load (files) differs");
        assert_eq!(logits(&engine, streamed), want, "{stem}: split load (chunks) differs");
        eprintln!("{stem}: {} files, logits identical to the whole file", parts.len());
    }
}

#[test]
fn bad_split_sequences_are_refused() {
    let Some(dir) = tiny_models_dir() else { return };
    let engine = pollster::block_on(Engine::new(GpuOptions::default())).unwrap();
    let parts = split(&dir.join("tiny-llama.gguf"), 4);
    let other = split(&dir.join("tiny-qwen2.gguf"), 6);
    let n = parts.len();
    let message = |r: brasa::Result<brasa::model::Model>| match r {
        Ok(_) => panic!("loaded"),
        Err(e) => (e.code(), e.to_string()),
    };

    let (code, msg) = message(load_in_order(&engine, &parts[1..]));
    assert_eq!(code, "invalid_model");
    assert!(msg.contains(&format!("file 2 of a split model of {n}")), "{msg}");

    let (code, msg) = message(load_in_order(&engine, &parts[..n - 1]));
    assert_eq!(code, "truncated");
    assert!(msg.contains(&format!("file {n} of the {n} files")), "{msg}");

    let (code, msg) = message(load_in_order(&engine, &[parts[0].clone(), parts[2].clone()]));
    assert_eq!(code, "invalid_model");
    assert!(msg.contains("give the files in order"), "{msg}");

    let (code, msg) = message(load_in_order(&engine, &[parts[0].clone(), other[1].clone()]));
    assert_eq!(code, "invalid_model");
    assert!(msg.contains("belongs to another model"), "{msg}");

    let mut extra = parts.clone();
    extra.push(parts[0].clone());
    let (code, msg) = message(load_in_order(&engine, &extra));
    assert_eq!(code, "invalid_argument");
    assert!(msg.contains("no file"), "{msg}");

    // A file cut short before the next one starts.
    let mut loader = engine.loader(std::fs::metadata(&parts[0]).unwrap().len());
    loader.push(&std::fs::read(&parts[0]).unwrap()[..5000]).unwrap();
    let e = loader.next_file(1000).unwrap_err();
    assert!(matches!(e, Error::Truncated { .. }), "{e}");
}
