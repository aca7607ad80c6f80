//! Helpers shared by the fuzz targets: a chunk-size schedule for push parsers, and where the
//! test data (real vocabularies) lives.

use std::path::PathBuf;

/// Chunk sizes for feeding a push parser, drawn from a seed: each target derives the seed from its
/// input, so a crash reproduces from the input alone. The sizes mix single bytes, small pieces and
/// big ones, the way network reads arrive.
pub struct Chunks {
    state: u64,
    /// Largest chunk is `1 << max_shift` bytes.
    max_shift: u32,
}

impl Chunks {
    pub fn new(seed: u64) -> Self {
        // Never a zero state (xorshift would stay at 0).
        Chunks { state: seed | 1, max_shift: (seed % 17) as u32 }
    }

    /// The next chunk size, at least 1.
    pub fn next_len(&mut self) -> usize {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let r = self.state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let shift = (r >> 58) as u32 % (self.max_shift + 1);
        1 + (r % (1u64 << shift)) as usize
    }

    /// `bytes` cut into chunks of the schedule's sizes.
    pub fn split<'a>(&'a mut self, mut bytes: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        std::iter::from_fn(move || {
            if bytes.is_empty() {
                return None;
            }
            let n = self.next_len().min(bytes.len());
            let (chunk, rest) = bytes.split_at(n);
            bytes = rest;
            Some(chunk)
        })
    }
}

/// The repository root (this crate is `crate/fuzz/`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The GGUF files whose tokenizers the tokenizer target fuzzes: `BRASA_FUZZ_VOCABS` (paths
/// separated by `:`) when set; else every vocabulary of llama.cpp's test data
/// (`scripts/fetch-llama-testdata.sh`, `BRASA_LLAMA_TESTDATA` overrides the folder, as in the
/// crate's tests) and the real gemma-3 model (`models/`, `BRASA_GEMMA3_GGUF`) when present.
pub fn vocab_files() -> Vec<PathBuf> {
    if let Some(list) = std::env::var_os("BRASA_FUZZ_VOCABS") {
        return std::env::split_paths(&list).collect();
    }
    let root = repo_root();
    let testdata = std::env::var_os("BRASA_LLAMA_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".cache/llama-testdata"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&testdata)
        .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "gguf"));
    files.sort();
    let gemma3 = std::env::var_os("BRASA_GEMMA3_GGUF")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("models/gemma-3-270m-q4_k_m.gguf"));
    if gemma3.is_file() {
        files.push(gemma3);
    }
    files
}
