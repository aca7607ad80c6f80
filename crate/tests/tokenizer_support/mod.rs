//! Shared helpers for the tokenizer integration tests: where the test data lives, and loading a
//! GGUF file's metadata.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use brasa::gguf::Metadata;
use brasa::tokenizer::Tokenizer;

/// The repository root (the crate is in `crate/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// llama.cpp's vocabularies and test cases, as `scripts/fetch-llama-testdata.sh` lays them out
/// (`BRASA_LLAMA_TESTDATA` overrides the folder). `None`, with a message, when absent.
pub fn llama_testdata() -> Option<PathBuf> {
    let dir = std::env::var_os("BRASA_LLAMA_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".cache/llama-testdata"));
    if dir.join("ggml-vocab-llama-spm.gguf").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: llama.cpp test data not found in {} (run scripts/fetch-llama-testdata.sh)",
            dir.display()
        );
        None
    }
}

/// The real gemma-3 model (`models/gemma-3-270m-q4_k_m.gguf`, or `BRASA_GEMMA3_GGUF`). `None`,
/// with a message, when absent.
pub fn gemma3_gguf() -> Option<PathBuf> {
    let path = std::env::var_os("BRASA_GEMMA3_GGUF")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("models/gemma-3-270m-q4_k_m.gguf"));
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("SKIPPED: {} not found (see TOOLING.md: a real model)", path.display());
        None
    }
}

/// A tokenizer straight from a GGUF file.
pub fn tokenizer_from_file(path: &Path) -> Tokenizer {
    let md = load_metadata(path);
    Tokenizer::from_gguf(&md).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
pub fn load_metadata(path: &Path) -> Metadata {
    brasa::gguf::read_header(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).metadata
}
