//! Matmul and embedding on the GPU, every block format, against the CPU reference
//! (brasa::reference::kernels, f64 accumulation) on weights whose exact values are known: the
//! suites of brasa::selftest (crate/src/selftest/matmul.rs and oracle.rs hold the cases and
//! their budgets; the browser runs the same ones, tests/kernels.test.mjs), on every kernel
//! variant the adapter offers.
#![cfg(feature = "gpu")]

mod kernels_util;

use brasa::quant::QuantType;
use brasa::selftest::{cols_for, random_weight, OracleRows, Rng, Suite};
use kernels_util::{check_suite, check_suite_with, gpu, gpus_split};

#[test]
fn matmul_all_formats_split_weights() {
    let checks = check_suite(Suite::Matmul);
    // Every format ran as mat-vec and as mat-mul, plain and into columns.
    for ty in QuantType::ALL {
        for kernel in ["matvec", "matmul", "matvec_cols", "matmul_cols"] {
            assert!(
                checks.iter().any(|c| c.ty == Some(ty) && c.kernel == kernel),
                "{kernel} {ty:?} not checked"
            );
        }
    }
}

#[test]
fn matmul_glu_over_stacked_gate_up() {
    check_suite(Suite::MatmulGlu);
}

#[test]
fn matvec_normed_matches_add_norm_then_matvec() {
    check_suite(Suite::MatvecNormed);
}

#[test]
fn matmul_rows_slices_across_parts() {
    check_suite(Suite::MatmulRows);
}

#[test]
fn matmul_many_rows_uses_2d_grid() {
    check_suite(Suite::MatmulGrid2d);
}

#[test]
fn prefill_batch_of_2048_tokens() {
    check_suite(Suite::Batch2048);
}

#[test]
fn embed_all_formats_split_weights() {
    check_suite(Suite::Embed);
}

/// Real gemma-3-270m rows and random blocks, as the file stores them, against the values the
/// Python gguf package dequantizes (tests/data/quant, made by scripts/gen_quant_testdata.py).
#[test]
fn gguf_py_oracle_rows_on_gpu() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/quant");
    let index = std::fs::read_to_string(dir.join("index.txt")).expect("tests/data/quant/index.txt");
    let rows: Vec<OracleRows> = index
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let file = std::fs::read(dir.join(format!("{}.bin", f[0]))).expect("bin");
            let values = std::fs::read(dir.join(format!("{}.f32", f[0]))).expect("f32");
            let values =
                values.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            OracleRows::new(f[0], f[1], f[3].parse().expect("cols"), file, values).expect("oracle rows")
        })
        .collect();
    let checks = check_suite_with(Suite::GgufOracle, &rows);
    let cases = checks.iter().filter(|c| c.kernel == "matmul").count();
    assert!(cases >= 10 * kernels_util::gpus().len(), "oracle cases checked: {cases}");
}

#[test]
fn bad_arguments_are_errors_not_panics() {
    for g in gpus_split() {
        eprintln!("variant {}", g.variant());
        let w = g.ctx.create_weight("w", QuantType::Q8_0, 4, 64).unwrap();
        let x = g.ctx.storage_buffer("x", 40).unwrap();
        let y = g.ctx.storage_buffer("y", 40).unwrap();
        let mut batch = g.kernels.batch(&g.ctx);
        batch.matmul(&w, &x, &y, 1); // x holds 10 floats, needs 64
        assert_eq!(batch.submit().unwrap_err().code(), "invalid_argument");
        let mut batch = g.kernels.batch(&g.ctx);
        batch.matmul_rows(&w, &x, &y, 1, 3, 9);
        assert_eq!(batch.submit().unwrap_err().code(), "invalid_argument");
        assert_eq!(g.ctx.create_weight("w", QuantType::Q4_K, 4, 100).unwrap_err().code(), "invalid_model");
        assert_eq!(g.ctx.create_weight("w", QuantType::F32, 1, 1 << 20).unwrap_err().code(), "device_limit");
        assert_eq!(g.ctx.write_weight(&w, 2, &[0; 4]).unwrap_err().code(), "invalid_argument");
        // 4 rows of one Q8_0 pair (68 B) each, and a word too many.
        assert_eq!(g.ctx.write_weight(&w, 0, &vec![0; 4 * 68 + 4]).unwrap_err().code(), "invalid_argument");
        // The context is still healthy afterwards.
        g.ctx.check().unwrap();
    }
}

/// The test generator's values (decoded from the block fields in brasa::selftest's random.rs)
/// agree bit for bit with brasa's CPU dequantizer of the same GPU bytes (checked against gguf-py
/// in quant_oracle.rs), so the two decoders are not sharing a misreading of the layout.
#[test]
fn generator_matches_quant_dequantizer() {
    let mut rng = Rng(5);
    for ty in QuantType::ALL {
        let cols = if ty.gpu_block_elems() == 2 { cols_for(ty) - 1 } else { cols_for(ty) };
        let rw = random_weight(ty, 3, cols, &mut rng).unwrap();
        let mut out = vec![0f32; 3 * cols];
        brasa::quant::dequantize_gpu_rows(ty, cols as u64, &rw.gpu, &mut out).unwrap();
        assert_eq!(out, rw.dense, "{ty:?}");
    }
}

/// Timing on whatever adapter is present (lavapipe here: CPU-bound, only a ballpark).
/// `cargo test --test kernels_matmul bench -- --ignored --nocapture`
#[test]
#[ignore]
fn bench_gemma_shapes() {
    let Some(g) = gpu() else { return };
    let mut rng = Rng(7);
    // (type, rows, cols): gemma-3-270m's FFN gate (Q5_0), attn_output (Q4_K), ffn_down (Q6_K),
    // and the tied LM head (Q8_0, 262144 × 640).
    for (ty, rows, cols) in [
        (QuantType::Q5_0, 2048, 640),
        (QuantType::Q4_K, 640, 1024),
        (QuantType::Q6_K, 640, 2048),
        (QuantType::Q8_0, 262_144, 640),
    ] {
        let rw = random_weight(ty, rows, cols, &mut rng).unwrap();
        let w = g.ctx.create_weight("bench", ty, rows as u64, cols as u64).unwrap();
        g.ctx.write_weight(&w, 0, &rw.gpu).unwrap();
        // 16 tokens: the LM-head slices of perplexity. BRASA_BENCH_TOKENS=n times one count only.
        let only: Option<usize> = std::env::var("BRASA_BENCH_TOKENS").ok().and_then(|v| v.parse().ok());
        for nt in [1usize, 16, 64].into_iter().filter(|&n| only.is_none_or(|o| o == n)) {
            let xb = g.f32_buffer(&rng.vec(nt * cols, -1.0, 1.0));
            let yb = g.zeros(nt * rows);
            let run = || {
                let mut batch = g.kernels.batch(&g.ctx);
                batch.matmul(&w, &xb, &yb, nt as u32);
                batch.submit().unwrap();
                g.read_f32(&yb, 1);
            };
            run(); // warm-up: pipeline build
                   // The fastest of a few runs (the machine may be shared); one is enough when it takes
                   // seconds (the LM head over 64 tokens).
            let mut ms = f64::INFINITY;
            for _ in 0..5 {
                let t = std::time::Instant::now();
                run();
                ms = ms.min(t.elapsed().as_secs_f64() * 1e3);
                if ms > 1000.0 {
                    break;
                }
            }
            let gbs = (rows as u64 * w.row_bytes) as f64 / (ms * 1e-3) / 1e9;
            eprintln!("matmul {ty:?} {rows}x{cols} tokens {nt}: {ms:.2} ms ({gbs:.2} GB/s of weights)");
        }
    }
}
