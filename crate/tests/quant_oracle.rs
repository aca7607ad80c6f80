//! The dequantizers against an independent oracle: the Python `gguf` package's own numpy
//! dequantizer (`gguf.quants.dequantize`), on random blocks and on rows of real gemma-3-270m
//! tensors. The data is generated, never committed: scripts/gen_quant_testdata.py writes it to
//! target/test-data/quant/ (see its index.txt, and fixtures/mod.rs).
//!
//! Tolerance: none — the outputs must be bit-identical. Both sides do the same f32 operations in
//! the same order (f16 → f32 is exact; then products and one subtraction, each rounded once;
//! numpy applies one ufunc at a time and brasa uses no fused multiply-add), so any difference is
//! a layout or formula bug, not rounding.

mod fixtures;

use brasa::quant::{dequantize, dequantize_gpu_rows, repack, BlockRepacker, QuantType};
use std::path::{Path, PathBuf};

struct Case {
    name: String,
    ty: QuantType,
    n_blocks: usize,
    cols: u64,
    source: String,
    raw: Vec<u8>,
    expected: Vec<f32>,
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "quant test data {}: {e} (delete the folder and rerun: the tests regenerate it, as \
             does scripts/setup.sh --test)",
            path.display()
        )
    })
}

/// The cases and the folder they are in; `None` (with a message) when the data cannot be
/// generated here (fixtures/mod.rs).
fn load_cases_in() -> Option<(Vec<Case>, PathBuf)> {
    let dir = fixtures::quant_cases_dir()?;
    let index = String::from_utf8(read(&dir.join("index.txt"))).expect("index.txt is UTF-8");
    let mut cases = Vec::new();
    for line in index.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let f: Vec<&str> = line.splitn(5, ' ').collect();
        assert_eq!(f.len(), 5, "bad index line {line:?}");
        let ty = QuantType::ALL
            .into_iter()
            .find(|t| t.name() == f[1])
            .unwrap_or_else(|| panic!("unknown type in {line:?}"));
        let raw = read(&dir.join(format!("{}.bin", f[0])));
        let expected: Vec<f32> = read(&dir.join(format!("{}.f32", f[0])))
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let case = Case {
            name: f[0].to_string(),
            ty,
            n_blocks: f[2].parse().expect("n_blocks"),
            cols: f[3].parse().expect("cols"),
            source: f[4].to_string(),
            raw,
            expected,
        };
        assert_eq!(case.raw.len(), case.n_blocks * ty.block_bytes(), "{}", case.name);
        assert_eq!(case.expected.len(), case.n_blocks * ty.block_elems(), "{}", case.name);
        cases.push(case);
    }
    Some((cases, dir))
}

fn load_cases() -> Option<Vec<Case>> {
    load_cases_in().map(|(cases, _)| cases)
}

/// Bit-exact comparison; reports the first mismatch with its block and position.
fn assert_same(what: &str, ty: QuantType, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g.to_bits() == w.to_bits(),
            "{what}: element {i} (block {}, index {}) is {g:e}, gguf says {w:e}",
            i / ty.block_elems(),
            i % ty.block_elems()
        );
    }
}

#[test]
fn every_type_and_the_real_model_are_covered() {
    let Some((cases, dir)) = load_cases_in() else { return };
    for ty in QuantType::ALL {
        assert!(cases.iter().any(|c| c.ty == ty), "no test data for {ty:?}");
    }
    if !fixtures::made_with_model(&dir) {
        let why = format!("{} was made without the model: no real-model rows", dir.display());
        if std::env::var_os("BRASA_REQUIRE_MODEL").is_some() {
            panic!("{why}");
        }
        eprintln!("SKIPPED: {why}");
        return;
    }
    for ty in [QuantType::Q4_K, QuantType::Q6_K, QuantType::Q5_0, QuantType::Q8_0] {
        assert!(
            cases.iter().any(|c| c.ty == ty && c.source.contains(".gguf:")),
            "no real-model test data for {ty:?}"
        );
    }
}

#[test]
fn dequantize_matches_gguf_py() {
    let Some(cases) = load_cases() else { return };
    for c in cases {
        let mut out = vec![f32::NAN; c.expected.len()];
        dequantize(c.ty, &c.raw, &mut out).unwrap();
        assert_same(&format!("{} ({})", c.name, c.source), c.ty, &out, &c.expected);
    }
}

/// Repacked to the GPU layout (whole tensor rows through the streaming repacker, as the upload
/// does) and dequantized from there, every value must still be gguf's.
#[test]
fn gpu_layout_dequantizes_to_gguf_py() {
    let Some(cases) = load_cases() else { return };
    for c in cases {
        let rows = c.expected.len() as u64 / c.cols;
        assert_eq!(rows * c.cols, c.expected.len() as u64, "{}: whole rows", c.name);
        let mut rp = BlockRepacker::new(c.ty, rows, c.cols, 4096).unwrap();
        let mut gpu = vec![0u8; rp.gpu_len() as usize];
        let mut put = |at: u64, b: &[u8]| {
            gpu[at as usize..at as usize + b.len()].copy_from_slice(b);
            Ok(())
        };
        for piece in c.raw.chunks(1000) {
            rp.push(piece, &mut put).unwrap();
        }
        rp.finish(&mut put).unwrap();

        // One-shot repack knows no rows: it agrees where rows need no pad.
        if c.cols.is_multiple_of(c.ty.gpu_block_elems() as u64) {
            let mut one_shot = Vec::new();
            repack(c.ty, &c.raw, &mut one_shot).unwrap();
            assert_eq!(gpu, one_shot, "{}: streamed and one-shot repack differ", c.name);
        }

        // Rows of odd length (F16, BF16) end in a zero pad half in the GPU layout, rows with an
        // odd number of blocks of a paired type in a single block: read by rows.
        let mut out = vec![f32::NAN; c.expected.len()];
        dequantize_gpu_rows(c.ty, c.cols, &gpu, &mut out).unwrap();
        assert_same(&format!("{} via GPU layout", c.name), c.ty, &out, &c.expected);
    }
}
