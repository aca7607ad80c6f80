//! Matmul and embedding on the GPU, every block format, against the CPU reference
//! (brasa::reference::kernels, f64 accumulation) on weights whose exact values are known.
//!
//! Error budget, all formats: max |gpu - ref| / max |ref| <= 1e-4. The dequantized weights are
//! exact up to one or two f32 roundings (f16 scales are exact in f32), so the error is the f32
//! accumulation of `cols` products: about sqrt(cols) * 2^-24 relative to the output scale,
//! < 1e-5 for cols <= 1024. An indexing or layout bug gives errors of order 1.
#![cfg(feature = "gpu")]

mod kernels_util;

use brasa::quant::QuantType;
use brasa::reference::kernels as reference;
use kernels_util::blocks::random_weight;
use kernels_util::{assert_close, gpu, gpus, gpus_split, Gpu, Rng};

const BUDGET: f64 = 1e-4;

/// Columns per format: two blocks or more, and odd lengths for the element types (exercising
/// the tail of a group of 8); an odd number of blocks for the paired types (a pair, then a
/// single block).
fn cols_for(ty: QuantType) -> usize {
    match ty {
        QuantType::F32 => 37,
        QuantType::F16 => 75,
        QuantType::BF16 => 45,
        QuantType::Q4_0 | QuantType::Q4_1 | QuantType::Q5_0 | QuantType::Q5_1 | QuantType::Q8_0 => 96,
        QuantType::Q3_K | QuantType::Q6_K => 768,
        _ => 512,
    }
}

fn upload(
    g: &Gpu,
    ty: QuantType,
    rows: usize,
    cols: usize,
    rng: &mut Rng,
) -> (brasa::gpu::GpuWeight, Vec<f32>) {
    let rw = random_weight(ty, rows, cols, rng);
    let w = g.ctx.create_weight("test weight", ty, rows as u64, cols as u64).unwrap();
    // Upload in two uneven pieces to exercise writes that straddle part boundaries.
    let cut = (rw.gpu.len() / 3) & !3;
    g.ctx.write_weight(&w, 0, &rw.gpu[..cut]).unwrap();
    g.ctx.write_weight(&w, cut as u64, &rw.gpu[cut..]).unwrap();
    (w, rw.dense)
}

#[test]
fn matmul_all_formats_split_weights() {
    for g in gpus_split() {
        eprintln!("variant {}", g.variant());
        let mut rng = Rng(1);
        for ty in QuantType::ALL {
            let cols = cols_for(ty);
            for rows in [1usize, 7, 300] {
                let (w, dense) = upload(g, ty, rows, cols, &mut rng);
                if rows == 300 {
                    assert!(
                        w.parts.len() > 1,
                        "{ty:?}: expected a split weight, got {} part(s)",
                        w.parts.len()
                    );
                }
                let token_counts: &[usize] = if rows == 300 { &[1, 3, 17, 64, 130] } else { &[1, 17] };
                let mut runs = Vec::new();
                let mut batch = g.kernels.batch(&g.ctx);
                for &nt in token_counts {
                    let x = rng.vec(nt * cols, -1.0, 1.0);
                    let xb = g.f32_buffer(&x);
                    let yb = g.zeros(nt * rows);
                    batch.matmul(&w, &xb, &yb, nt as u32);
                    runs.push((nt, x, xb, yb));
                }
                batch.submit().unwrap();
                for (nt, x, _xb, yb) in &runs {
                    let want = reference::matmul(&dense, rows, cols, x, *nt);
                    let got = g.read_f32(yb, nt * rows);
                    assert_close(
                        &format!("matmul {ty:?} rows {rows} cols {cols} tokens {nt}"),
                        &got,
                        &want,
                        BUDGET,
                    );
                }
                // Into columns 4 .. 4 + rows of rows `rows + 9` wide (the q/k/v projections
                // into one qkv buffer), the other columns left as they were.
                for (nt, x, xb, _) in runs.iter().filter(|r| r.0 <= 17) {
                    let stride = rows + 9;
                    let yb = g.f32_buffer(&vec![7.0; nt * stride]);
                    let mut batch = g.kernels.batch(&g.ctx);
                    let into = brasa::kernels::OutCols { stride: stride as u64, col0: 4 };
                    batch.matmul_cols(&w, xb, &yb, *nt as u32, into);
                    batch.submit().unwrap();
                    let got = g.read_f32(&yb, nt * stride);
                    let inside: Vec<f32> = got.chunks(stride).flat_map(|r| r[4..4 + rows].to_vec()).collect();
                    let want = reference::matmul(&dense, rows, cols, x, *nt);
                    assert_close(&format!("matmul_cols {ty:?} rows {rows} tokens {nt}"), &inside, &want, BUDGET);
                    let outside = got.chunks(stride).flat_map(|r| r[..4].iter().chain(&r[4 + rows..]).copied().collect::<Vec<_>>());
                    assert!(outside.into_iter().all(|v| v == 7.0), "matmul_cols {ty:?} tokens {nt} wrote outside its columns");
                }
            }
        }
    }
}

/// The GLU mat-mul over a stacked gate/up weight (`model::stacked`) gives act(gate·x) · (up·x),
/// as two mat-muls and the activation would: one and several tokens, a stacked weight split
/// into parts (which start at whole quads of rows), filled from separate gate and up tensors
/// and from one fused gate/up source (Phi-3), each uploaded in uneven pieces.
#[test]
fn matmul_glu_over_stacked_gate_up() {
    use brasa::kernels::Activation;
    use brasa::model::stacked;
    for g in gpus_split() {
        eprintln!("variant {}", g.variant());
        let mut rng = Rng(4);
        for ty in QuantType::ALL {
            let (ff, cols) = (150, cols_for(ty));
            let gate = random_weight(ty, ff, cols, &mut rng);
            let up = random_weight(ty, ff, cols, &mut rng);
            let apart = stacked::create(&g.ctx, 0, ty, ff as u64, cols as u64).unwrap();
            assert!(apart.parts.len() > 1, "{ty:?}: expected a split weight");
            assert!(apart.parts.iter().all(|p| p.first_row % stacked::ROW_GROUP == 0));
            for (half, rw) in [(1, &up), (0, &gate)] {
                let cut = (rw.gpu.len() / 3 + 7) & !3;
                stacked::write(&g.ctx, &apart, half, 0, &rw.gpu[..cut]).unwrap();
                stacked::write(&g.ctx, &apart, half, cut as u64, &rw.gpu[cut..]).unwrap();
            }
            let fused = stacked::create(&g.ctx, 1, ty, ff as u64, cols as u64).unwrap();
            let both = [gate.gpu.clone(), up.gpu.clone()].concat();
            for piece in both.chunks(((both.len() / 5) & !3).max(4)).scan(0u64, |off, p| {
                let at = *off;
                *off += p.len() as u64;
                Some((at, p))
            }) {
                stacked::write(&g.ctx, &fused, 0, piece.0, piece.1).unwrap();
            }
            assert!(stacked::write(&g.ctx, &fused, 1, (gate.gpu.len()) as u64, &[0; 4]).is_err(), "past the end");
            for nt in [1usize, 5, 70] {
                let x = rng.vec(nt * cols, -1.0, 1.0);
                let xb = g.f32_buffer(&x);
                let (y_gelu, y_silu) = (g.zeros(nt * ff), g.zeros(nt * ff));
                let mut batch = g.kernels.batch(&g.ctx);
                batch.matmul_glu(&apart, &xb, &y_gelu, nt as u32, Activation::GeluTanh);
                batch.matmul_glu(&fused, &xb, &y_silu, nt as u32, Activation::Silu);
                batch.submit().unwrap();
                let gx = reference::matmul(&gate.dense, ff, cols, &x, nt);
                let ux = reference::matmul(&up.dense, ff, cols, &x, nt);
                for (name, y, act) in [
                    ("gelu", &y_gelu, reference::gelu_tanh as fn(f64) -> f64),
                    ("silu", &y_silu, reference::silu),
                ] {
                    assert_close(
                        &format!("matmul_glu {name} {ty:?} cols {cols} tokens {nt}"),
                        &g.read_f32(y, nt * ff),
                        &reference::gated_act(&gx, &ux, act),
                        BUDGET,
                    );
                }
            }
        }
    }
}

/// The mat-vec with a normed input (a decoded token's residual update and norm applied inside
/// the mat-vec, `Batch::matvec_normed`) gives W · rms_norm(x + post(o)) · norm_w and stores the
/// updated residual stream once, as `add_norm` and a plain mat-vec would; with and without the
/// post-norm, over split weights, and with the GLU output over a stacked gate/up weight.
#[test]
fn matvec_normed_matches_add_norm_then_matvec() {
    use brasa::kernels::{Activation, MatmulOut, NormedInput};
    use brasa::model::stacked;
    let f64_add = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(a, b)| (*a as f64 + *b as f64) as f32).collect::<Vec<_>>();
    for g in gpus_split() {
        eprintln!("variant {}", g.variant());
        let mut rng = Rng(5);
        for ty in QuantType::ALL {
            let (rows, cols) = (300, cols_for(ty));
            let (w, dense) = upload(g, ty, rows, cols, &mut rng);
            let vector = |rng: &mut Rng, name: &str| {
                let v = rng.vec(cols, 0.5, 1.5);
                let w = g.ctx.create_weight(name, QuantType::F32, 1, cols as u64).unwrap();
                g.ctx.write_weight(&w, 0, bytemuck::cast_slice(&v)).unwrap();
                (v, w)
            };
            let (post_v, post) = vector(&mut rng, "post");
            let (norm_v, norm) = vector(&mut rng, "norm");
            let x = rng.vec(cols, -3.0, 3.0);
            let o = rng.vec(cols, -30.0, 30.0);
            let (xb, ob) = (g.f32_buffer(&x), g.f32_buffer(&o));
            let (x_post, x_plain) = (g.zeros(cols), g.zeros(cols));
            // The post-norm case writes columns 5 .. 5 + rows of a wider y (as into qkv).
            let (y_post, y_plain) = (g.zeros(rows + 11), g.zeros(rows));
            let input = |post_w, x_out| NormedInput { x: &xb, o: &ob, post_w, norm_w: &norm, x_out, write_x: true, eps: 1e-6 };
            let mut batch = g.kernels.batch(&g.ctx);
            let into = brasa::kernels::OutCols { stride: rows as u64 + 11, col0: 5 };
            batch.matvec_normed(&w, &input(Some(&post), &x_post), &y_post, MatmulOut::Plain, Some(into));
            batch.matvec_normed(&w, &input(None, &x_plain), &y_plain, MatmulOut::Plain, None);
            batch.submit().unwrap();
            let v_post = f64_add(&x, &reference::rms_norm(&o, &post_v, 1e-6));
            let v_plain = f64_add(&x, &o);
            // The norms' f32 budget (see kernels_ops' add_norm test), then the mat-vec's.
            assert_close(&format!("{ty:?} x_out post"), &g.read_f32(&x_post, cols), &v_post, 2e-5);
            assert_close(&format!("{ty:?} x_out plain"), &g.read_f32(&x_plain, cols), &v_plain, 1e-6);
            let post_out = g.read_f32(&y_post, rows + 11);
            assert!(post_out[..5].iter().chain(&post_out[5 + rows..]).all(|&v| v == 0.0), "outside its columns");
            for (what, got, v) in [("post", post_out[5..5 + rows].to_vec(), &v_post), ("plain", g.read_f32(&y_plain, rows), &v_plain)] {
                let xn = reference::rms_norm(v, &norm_v, 1e-6);
                let want = reference::matmul(&dense, rows, cols, &xn, 1);
                assert_close(&format!("matvec_normed {ty:?} {what}"), &got, &want, BUDGET);
            }
            // GLU output over a stacked weight, x_out not written.
            let (ff, gate, up) = (150, random_weight(ty, 150, cols, &mut rng), random_weight(ty, 150, cols, &mut rng));
            let sw = stacked::create(&g.ctx, 0, ty, ff as u64, cols as u64).unwrap();
            stacked::write(&g.ctx, &sw, 0, 0, &[gate.gpu.clone(), up.gpu.clone()].concat()).unwrap();
            let (untouched, y_glu) = (g.f32_buffer(&x), g.zeros(ff));
            let mut input = input(Some(&post), &untouched);
            input.write_x = false;
            let mut batch = g.kernels.batch(&g.ctx);
            batch.matvec_normed(&sw, &input, &y_glu, MatmulOut::Glu(Activation::Silu), None);
            batch.submit().unwrap();
            assert_eq!(g.read_f32(&untouched, cols), x, "write_x false leaves x_out alone");
            let xn = reference::rms_norm(&v_post, &norm_v, 1e-6);
            let want = reference::gated_act(
                &reference::matmul(&gate.dense, ff, cols, &xn, 1),
                &reference::matmul(&up.dense, ff, cols, &xn, 1),
                reference::silu,
            );
            assert_close(&format!("matvec_normed glu {ty:?}"), &g.read_f32(&y_glu, ff), &want, BUDGET);
        }
    }
}

#[test]
fn matmul_rows_slices_across_parts() {
    for g in gpus_split() {
        eprintln!("variant {}", g.variant());
        let mut rng = Rng(2);
        for ty in [QuantType::Q8_0, QuantType::Q6_K, QuantType::F16] {
            let (rows, cols) = (300, cols_for(ty));
            let (w, dense) = upload(g, ty, rows, cols, &mut rng);
            let per_part = w.parts[0].rows as usize;
            // A slice that starts inside part 0 and ends inside a later part, and one inside a part.
            for (b, e) in [(per_part - 5, per_part * 2 + 3), (1, 4), (0, rows)] {
                let e = e.min(rows);
                let nt = 5;
                let x = rng.vec(nt * cols, -1.0, 1.0);
                let xb = g.f32_buffer(&x);
                let yb = g.zeros(nt * (e - b));
                let mut batch = g.kernels.batch(&g.ctx);
                batch.matmul_rows(&w, &xb, &yb, nt as u32, b as u64, e as u64);
                batch.submit().unwrap();
                let full = reference::matmul(&dense, rows, cols, &x, nt);
                let want: Vec<f32> =
                    (0..nt).flat_map(|t| full[t * rows + b..t * rows + e].to_vec()).collect();
                assert_close(
                    &format!("matmul_rows {ty:?} {b}..{e}"),
                    &g.read_f32(&yb, nt * (e - b)),
                    &want,
                    BUDGET,
                );
            }
        }
    }
}

/// More than 65535 * 64 rows in one part: the row blocks of both kernels (64 rows per workgroup
/// for a batch, 64 for one token) need the 2D grid.
#[test]
fn matmul_many_rows_uses_2d_grid() {
    for g in gpus() {
        eprintln!("variant {}", g.variant());
        let mut rng = Rng(3);
        let (rows, cols) = (65_535 * 64 + 1usize, 4usize);
        let (w, dense) = upload(g, QuantType::F16, rows, cols, &mut rng);
        assert_eq!(w.parts.len(), 1);
        for nt in [1, 2] {
            let x = rng.vec(nt * cols, -1.0, 1.0);
            let xb = g.f32_buffer(&x);
            let yb = g.zeros(nt * rows);
            let mut batch = g.kernels.batch(&g.ctx);
            batch.matmul(&w, &xb, &yb, nt as u32);
            batch.submit().unwrap();
            let want = reference::matmul(&dense, rows, cols, &x, nt);
            assert_close(
                &format!("matmul F16 {rows} rows, {nt} tokens"),
                &g.read_f32(&yb, nt * rows),
                &want,
                BUDGET,
            );
        }
    }
}

#[test]
fn embed_all_formats_split_weights() {
    for g in gpus_split() {
        eprintln!("variant {}", g.variant());
        let mut rng = Rng(4);
        for ty in QuantType::ALL {
            let (rows, cols) = (300, cols_for(ty));
            let (w, dense) = upload(g, ty, rows, cols, &mut rng);
            assert!(w.parts.len() > 1);
            // Ids from several parts, a repeat, the last row, and an out-of-range id (zero row).
            let tokens: Vec<u32> = vec![0, 299, 150, 7, 150, 1000, 64, 250, 3, 1, 2, 100, 200, 299, 5, 6, 8];
            let tb = g.u32_buffer(&tokens);
            let ob = g.f32_buffer(&vec![f32::NAN; tokens.len() * cols]);
            let mut batch = g.kernels.batch(&g.ctx);
            batch.embed(&w, &tb, &ob, tokens.len() as u32, 1.5);
            batch.submit().unwrap();
            let want = reference::embed(&dense, cols, &tokens, 1.5);
            // Embedding is a pure decode: only f32 rounding of value * scale.
            assert_close(&format!("embed {ty:?}"), &g.read_f32(&ob, tokens.len() * cols), &want, 1e-6);
        }
    }
}

#[test]
fn bad_arguments_are_errors_not_panics() {
    for g in gpus_split() {
        eprintln!("variant {}", g.variant());
        let w = g.ctx.create_weight("w", QuantType::Q8_0, 4, 64).unwrap();
        let x = g.zeros(10);
        let y = g.zeros(10);
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

/// The test generator's values (decoded from the block fields in kernels_util/blocks.rs) agree
/// bit for bit with brasa's CPU dequantizer of the same GPU bytes (checked against gguf-py in
/// quant_oracle.rs), so the two decoders are not sharing a misreading of the layout.
#[test]
fn generator_matches_quant_dequantizer() {
    let mut rng = Rng(5);
    for ty in QuantType::ALL {
        let cols = if ty.gpu_block_elems() == 2 { cols_for(ty) - 1 } else { cols_for(ty) };
        let rw = random_weight(ty, 3, cols, &mut rng);
        let mut out = vec![0f32; 3 * cols];
        brasa::quant::dequantize_gpu_rows(ty, cols as u64, &rw.gpu, &mut out).unwrap();
        assert_eq!(out, rw.dense, "{ty:?}");
    }
}

/// Real gemma-3-270m rows and random blocks, as the file stores them, repacked by
/// brasa::quant::BlockRepacker, embedded and multiplied on the GPU, against the values the Python
/// gguf package dequantizes (tests/data/quant, made by scripts/gen_quant_testdata.py).
#[test]
fn gguf_py_oracle_rows_on_gpu() {
    for g in gpus_split() {
        eprintln!("variant {}", g.variant());
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/quant");
        let index = std::fs::read_to_string(dir.join("index.txt")).expect("tests/data/quant/index.txt");
        let mut rng = Rng(6);
        let mut n_cases = 0;
        for line in index.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let ty = QuantType::ALL.into_iter().find(|t| t.name() == f[1]).expect("type");
            let cols: usize = f[3].parse().expect("cols");
            let file = std::fs::read(dir.join(format!("{}.bin", f[0]))).expect("bin");
            let dense: Vec<f32> = std::fs::read(dir.join(format!("{}.f32", f[0])))
                .expect("f32")
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            if dense.iter().any(|v| !v.is_finite()) {
                continue; // random F32/F16 bit patterns include inf and NaN: no use for a matmul
            }
            let rows = dense.len() / cols;
            let w = g.ctx.create_weight(f[0], ty, rows as u64, cols as u64).unwrap();
            // Row-aware, as the upload repacks (rows may end mid-pair or mid-word).
            let mut rp = brasa::quant::BlockRepacker::new(ty, rows as u64, cols as u64, 1 << 20).unwrap();
            let mut put = |at: u64, b: &[u8]| g.ctx.write_weight(&w, at, b);
            rp.push(&file, &mut put).unwrap();
            rp.finish(&mut put).unwrap();

            let tokens: Vec<u32> = (0..rows as u32).rev().collect();
            let (tb, eb) = (g.u32_buffer(&tokens), g.zeros(rows * cols));
            let nt = 9;
            let x = rng.vec(nt * cols, -1.0, 1.0);
            let (xb, yb) = (g.f32_buffer(&x), g.zeros(nt * rows));
            let mut batch = g.kernels.batch(&g.ctx);
            batch.embed(&w, &tb, &eb, rows as u32, 1.0);
            batch.matmul(&w, &xb, &yb, nt as u32);
            batch.submit().unwrap();
            let want_embed = reference::embed(&dense, cols, &tokens, 1.0);
            // Decoding may fuse a multiply-add where numpy rounds twice: a few ulp.
            assert_close(&format!("embed oracle {}", f[0]), &g.read_f32(&eb, rows * cols), &want_embed, 1e-6);
            let want = reference::matmul(&dense, rows, cols, &x, nt);
            assert_close(&format!("matmul oracle {}", f[0]), &g.read_f32(&yb, nt * rows), &want, BUDGET);
            n_cases += 1;
        }
        assert!(n_cases >= 10, "oracle cases found: {n_cases}");
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
        let rw = random_weight(ty, rows, cols, &mut rng);
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
