//! Damaged model files through the whole loader (parser, tokenizer, hyper-parameters, GPU
//! upload): random bit flips in the header and truncation anywhere must give a model or a typed
//! error — never a panic — whatever the chunk sizes. Deterministic (fixed seed).

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

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
    let mut loader = engine.loader(len);
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = (1 + rng.below(1 << 16) as usize).min(rest.len());
        if let Err(e) = loader.push(&rest[..n]) {
            assert!(!e.to_string().is_empty());
            return e.code().to_string();
        }
        rest = &rest[n..];
    }
    match loader.finish() {
        Ok(_) => "ok".into(),
        Err(e) => e.code().to_string(),
    }
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
