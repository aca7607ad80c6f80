//! Shared helpers for the tests that run the real model.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use brasa::generate::Engine;
use brasa::gpu::{GpuOptions, VariantRequest};
use brasa::model::Model;

/// The repository root (the workspace holding crate/).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The real model, or `None` (with a message) when it is absent and not required.
/// The test command (`npm test`, `.ci/run`) sets BRASA_REQUIRE_MODEL=1, which turns a missing
/// model into a failure rather than a skip.
pub fn model_path() -> Option<PathBuf> {
    let p = std::env::var_os("BRASA_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("models/gemma-3-270m-q4_k_m.gguf"));
    if p.exists() {
        return Some(p);
    }
    if std::env::var_os("BRASA_REQUIRE_MODEL").is_some() {
        panic!("model {} is missing (run the README's test command, which fetches it)", p.display());
    }
    eprintln!("SKIPPED: model {} is missing", p.display());
    None
}

/// Streams a GGUF file into a fresh engine, the way the CLI does.
pub fn load_gpu(path: &std::path::Path) -> (Engine, Arc<Model>) {
    load_gpu_with(path, GpuOptions::default())
}

/// [`load_gpu`] on an engine created with `opts` (e.g. forced kernel variants).
pub fn load_gpu_with(path: &std::path::Path, opts: GpuOptions) -> (Engine, Arc<Model>) {
    let engine = pollster::block_on(Engine::new(opts)).expect("a GPU adapter (lavapipe in CI)");
    let model = engine.load_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (engine, Arc::new(model))
}

/// The engine options that exercise every kernel variant the adapter runs: its best (what
/// users get), then the contrast (workgroup-memory reductions, no f16, the other mat-mul
/// tiling: `VariantRequest::contrast`).
pub fn variant_options() -> Vec<GpuOptions> {
    let best =
        pollster::block_on(Engine::new(GpuOptions::default())).expect("a GPU adapter (lavapipe in CI)");
    let contrast = VariantRequest::contrast(best.ctx.variants);
    vec![GpuOptions::default(), GpuOptions { variants: contrast, ..Default::default() }]
}

/// Reads a JSON file under tests/reference/gemma-3-270m-q4_k_m/.
pub fn reference_json(name: &str) -> serde_json::Value {
    let p = repo_root().join("tests/reference/gemma-3-270m-q4_k_m").join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

/// `max |a - b| / max |b|`: the normalized error used throughout the model tests.
pub fn normalized_error(a: &[f32], b: &[f32]) -> f64 {
    let scale = b.iter().fold(0f64, |m, v| m.max(v.abs() as f64)).max(1e-12);
    a.iter().zip(b).fold(0f64, |m, (x, y)| m.max((*x as f64 - *y as f64).abs())) / scale
}

pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

/// Top-1 minus top-2 of a logit vector.
pub fn margin(v: &[f32]) -> f32 {
    let mut s: Vec<f32> = v.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    s[0] - s[1]
}

/// The tiny models of every architecture (scripts/make_tiny_models.py) in target/tiny-models,
/// (re)written when a file is missing or is not the one the reference was made on (its sha256 in
/// tests/reference/tiny/logits.json); checked once per test binary, so that tests never write the
/// files concurrently. `None` (with a message) when the script's inputs are missing.
pub fn tiny_models_dir() -> Option<PathBuf> {
    static DIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    DIR.get_or_init(write_tiny_models).clone()
}

fn write_tiny_models() -> Option<PathBuf> {
    let root = repo_root();
    let testdata = root.join(".cache/llama-testdata");
    let python = root.join(".venv/bin/python");
    let vocabs =
        ["llama-spm", "phi-3", "llama-bpe", "qwen2"].map(|v| testdata.join(format!("ggml-vocab-{v}.gguf")));
    if let Some(missing) = vocabs.iter().chain([&python]).find(|p| !p.exists()) {
        eprintln!("skipping: needs {} (scripts/setup.sh --test)", missing.display());
        return None;
    }
    let text =
        std::fs::read_to_string(root.join("tests/reference/tiny/logits.json")).expect("tiny/logits.json");
    let reference: serde_json::Value = serde_json::from_str(&text).expect("tiny/logits.json");
    let dir = root.join("target/tiny-models");
    let stale = |want: &serde_json::Value| {
        let path = dir.join(want["file"].as_str().unwrap());
        !path.exists() || sha256(&path) != want["sha256"].as_str().unwrap()
    };
    if reference["models"].as_object().unwrap().values().any(stale) {
        let out = std::process::Command::new(&python)
            .arg(root.join("scripts/make_tiny_models.py"))
            .arg(&dir)
            .arg(&testdata)
            .output()
            .expect("run make_tiny_models.py");
        assert!(out.status.success(), "make_tiny_models.py: {}", String::from_utf8_lossy(&out.stderr));
    }
    Some(dir)
}

/// The sha256 of a file, as `sha256sum` prints it.
pub fn sha256(path: &std::path::Path) -> String {
    let out = std::process::Command::new("sha256sum").arg(path).output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or("").to_string()
}
