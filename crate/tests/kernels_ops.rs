//! Norm, RoPE, attention and elementwise kernels on the GPU against the CPU reference
//! (brasa::reference::kernels, f64). Each budget is a normalized error
//! max |gpu - ref| / max |ref|, justified where it is used.
#![cfg(feature = "gpu")]

mod kernels_util;

use brasa::kernels::{Activation, AttentionArgs, KvType, QkNorms, QkRopeArgs, RopeMode};
use brasa::quant::QuantType;
use brasa::reference::kernels as reference;
use kernels_util::{assert_close, gpu, gpus, Rng};

#[test]
fn rms_norm_in_and_out_of_place() {
    for g in gpus() {
        eprintln!("variant {}", g.variant());
        let mut rng = Rng(10);
        for (n_rows, n) in [(1usize, 640usize), (7, 37), (300, 256)] {
            let wv = rng.vec(n, 0.5, 1.5);
            let w = g.ctx.create_weight("norm", QuantType::F32, 1, n as u64).unwrap();
            g.ctx.write_weight(&w, 0, bytemuck::cast_slice(&wv)).unwrap();
            let x = rng.vec(n_rows * n, -3.0, 3.0);
            let xb = g.f32_buffer(&x);
            let yb = g.zeros(n_rows * n);
            let ib = g.f32_buffer(&x);
            let mut batch = g.kernels.batch(&g.ctx);
            batch.rms_norm(&xb, &w, &yb, n_rows as u32, 1e-6);
            batch.rms_norm(&ib, &w, &ib, n_rows as u32, 1e-6);
            batch.submit().unwrap();
            let want = reference::rms_norm(&x, &wv, 1e-6);
            // f32 sum of n squares (relative error ~ n * 2^-24 at worst) and one inverseSqrt
            // (a few ulp): 1e-5 of the output scale.
            assert_close(&format!("rms_norm {n_rows}x{n}"), &g.read_f32(&yb, n_rows * n), &want, 1e-5);
            assert_close(
                &format!("rms_norm in place {n_rows}x{n}"),
                &g.read_f32(&ib, n_rows * n),
                &want,
                1e-5,
            );
        }
    }
}

#[test]
fn add_norm_with_and_without_post_norm() {
    for g in gpus() {
        eprintln!("variant {}", g.variant());
        let mut rng = Rng(15);
        for (n_rows, n) in [(1usize, 640usize), (5, 37), (130, 256)] {
            let weight = |rng: &mut Rng, name: &str| {
                let v = rng.vec(n, 0.5, 1.5);
                let w = g.ctx.create_weight(name, QuantType::F32, 1, n as u64).unwrap();
                g.ctx.write_weight(&w, 0, bytemuck::cast_slice(&v)).unwrap();
                (v, w)
            };
            let (post_v, post) = weight(&mut rng, "post");
            let (norm_v, norm) = weight(&mut rng, "norm");
            let x = rng.vec(n_rows * n, -3.0, 3.0);
            let o = rng.vec(n_rows * n, -30.0, 30.0);
            let (x1, x2, ob) = (g.f32_buffer(&x), g.f32_buffer(&x), g.f32_buffer(&o));
            let (xn1, xn2) = (g.zeros(n_rows * n), g.zeros(n_rows * n));
            let mut batch = g.kernels.batch(&g.ctx);
            batch.add_norm(&x1, &ob, Some(&post), &norm, &xn1, n_rows as u32, 1e-6);
            batch.add_norm(&x2, &ob, None, &norm, &xn2, n_rows as u32, 1e-6);
            batch.submit().unwrap();
            // The unfused ops in f64: post-norm, add, norm.
            let add = |a: &[f32], b: &[f32]| {
                a.iter().zip(b).map(|(a, b)| (*a as f64 + *b as f64) as f32).collect::<Vec<_>>()
            };
            let x_post = add(&x, &reference::rms_norm(&o, &post_v, 1e-6));
            let x_plain = add(&x, &o);
            // Two chained f32 norms and an add: each norm's budget (1e-5, see rms_norm above) twice.
            let what = format!("{n_rows}x{n}");
            assert_close(&format!("add_norm x {what}"), &g.read_f32(&x1, n_rows * n), &x_post, 2e-5);
            assert_close(
                &format!("add_norm xn {what}"),
                &g.read_f32(&xn1, n_rows * n),
                &reference::rms_norm(&x_post, &norm_v, 1e-6),
                2e-5,
            );
            assert_close(&format!("add_norm plain x {what}"), &g.read_f32(&x2, n_rows * n), &x_plain, 1e-6);
            assert_close(
                &format!("add_norm plain xn {what}"),
                &g.read_f32(&xn2, n_rows * n),
                &reference::rms_norm(&x_plain, &norm_v, 1e-6),
                2e-5,
            );
        }
    }
}

#[test]
fn qk_rope_matches_norms_rope_and_cache_writes() {
    for g in gpus() {
        eprintln!("variant {}", g.variant());
        let mut rng = Rng(16);
        // (tokens, q heads, kv heads, head_dim, n_rot, pos0, capacity, mode, norms)
        let cases = [
            (3u32, 4u32, 1u32, 256u32, 256u32, 5u32, 11u32, RopeMode::Neox, true),
            (5, 6, 2, 64, 48, 0, 5, RopeMode::Normal, false),
            (1, 8, 8, 130, 130, 40, 64, RopeMode::Neox, false),
            (2, 2, 1, 512, 512, 7, 9, RopeMode::Normal, true),
        ];
        for (t, nh, nkv, hd, n_rot, pos0, cap, mode, with_norms) in cases {
            let (tu, nhu, nkvu, hdu, capu) =
                (t as usize, nh as usize, nkv as usize, hd as usize, cap as usize);
            let q = rng.vec(tu * nhu * hdu, -2.0, 2.0);
            let k = rng.vec(tu * nkvu * hdu, -2.0, 2.0);
            let v = rng.vec(tu * nkvu * hdu, -2.0, 2.0);
            let norm_weight = |rng: &mut Rng, name: &str| {
                let vals = rng.vec(hdu, 0.5, 1.5);
                let w = g.ctx.create_weight(name, QuantType::F32, 1, hd as u64).unwrap();
                g.ctx.write_weight(&w, 0, bytemuck::cast_slice(&vals)).unwrap();
                (vals, w)
            };
            let (qn_v, qn) = norm_weight(&mut rng, "q_norm");
            let (kn_v, kn) = norm_weight(&mut rng, "k_norm");
            let k_cache0 = rng.vec(capu * nkvu * hdu, -1.0, 1.0);
            let v_cache0 = rng.vec(capu * nkvu * hdu, -1.0, 1.0);
            // The projections as the model lays them out: each token's q, then its k, then its v.
            let (qd, kvd) = (nhu * hdu, nkvu * hdu);
            let qkv: Vec<f32> = (0..tu)
                .flat_map(|ti| {
                    let (q, k, v) = (&q[ti * qd..][..qd], &k[ti * kvd..][..kvd], &v[ti * kvd..][..kvd]);
                    q.iter().chain(k).chain(v).copied().collect::<Vec<_>>()
                })
                .collect();
            let qkvb = g.f32_buffer(&qkv);
            let (kcb, vcb) = (g.f32_buffer(&k_cache0), g.f32_buffer(&v_cache0));
            let args = QkRopeArgs {
                n_tokens: t,
                n_head: nh,
                n_kv_head: nkv,
                head_dim: hd,
                n_rot,
                pos0,
                capacity: cap,
                mode,
                base: 10_000.0,
                freq_scale: 1.0,
                eps: 1e-6,
                kv: KvType::F32,
            };
            let norms = with_norms.then_some(QkNorms { q: &qn, k: &kn });
            // Llama 3.1-style frequency divisors on the cases with norms, ones on the others.
            let half = n_rot as usize / 2;
            let factors_v: Vec<f32> = if with_norms { rng.vec(half, 1.0, 8.0) } else { vec![1.0; half] };
            let factors = g.ctx.create_weight("rope_freqs", QuantType::F32, 1, half as u64).unwrap();
            g.ctx.write_weight(&factors, 0, bytemuck::cast_slice(&factors_v)).unwrap();
            let mut batch = g.kernels.batch(&g.ctx);
            batch.qk_rope(&args, &qkvb, norms, &factors, &kcb, &vcb);
            batch.submit().unwrap();

            // The unfused ops in f64: per-head norm, RoPE, then the cache layouts.
            let (mut q_ref, mut k_ref) = (q.clone(), k.clone());
            if with_norms {
                q_ref = reference::rms_norm(&q_ref, &qn_v, 1e-6);
                k_ref = reference::rms_norm(&k_ref, &kn_v, 1e-6);
            }
            let neox = mode == RopeMode::Neox;
            let f = Some(factors_v.as_slice());
            reference::rope(&mut q_ref, neox, tu, nhu, hdu, n_rot as usize, pos0 as usize, 10_000.0, 1.0, f);
            reference::rope(&mut k_ref, neox, tu, nkvu, hdu, n_rot as usize, pos0 as usize, 10_000.0, 1.0, f);
            let (mut kc_ref, mut vc_ref) = (k_cache0.clone(), v_cache0.clone());
            for ti in 0..tu {
                let pos = pos0 as usize + ti;
                for c in 0..nkvu * hdu {
                    kc_ref[c * capu + pos] = k_ref[ti * nkvu * hdu + c];
                    vc_ref[pos * nkvu * hdu + c] = v[ti * nkvu * hdu + c];
                }
            }
            // Norm (1e-5, see rms_norm above) then RoPE's f32 sin/cos at |angle| <= pi after
            // range reduction (a few ulp): 2e-5 of the output scale.
            let what = format!(
                "t {t} heads {nh}/{nkv} dim {hd} rot {n_rot} pos0 {pos0} {mode:?} norms {with_norms}"
            );
            // q is rotated in place; each token's k and v stay as they were.
            let qkv_out = g.read_f32(&qkvb, qkv.len());
            let row = qd + 2 * kvd;
            let q_out: Vec<f32> = (0..tu).flat_map(|ti| qkv_out[ti * row..][..qd].to_vec()).collect();
            let kv_out: Vec<f32> = (0..tu).flat_map(|ti| qkv_out[ti * row + qd..][..2 * kvd].to_vec()).collect();
            let kv_in: Vec<f32> = (0..tu).flat_map(|ti| qkv[ti * row + qd..][..2 * kvd].to_vec()).collect();
            assert_close(&format!("q {what}"), &q_out, &q_ref, 2e-5);
            assert_eq!(kv_out, kv_in, "k and v are read, not written: {what}");
            assert_close(&format!("k cache {what}"), &g.read_f32(&kcb, kc_ref.len()), &kc_ref, 2e-5);
            assert_eq!(g.read_f32(&vcb, vc_ref.len()), vc_ref, "v cache is a plain copy: {what}");
        }
    }
}

#[test]
fn rope_neox_and_normal() {
    for g in gpus() {
        eprintln!("variant {}", g.variant());
        let mut rng = Rng(11);
        // (tokens, heads, head_dim, n_rot, pos0, base, freq_scale)
        let cases = [
            (1usize, 4usize, 256usize, 256usize, 0usize, 1e6f32, 1.0f32),
            (17, 2, 64, 64, 2000, 1e4, 1.0),
            (3, 3, 40, 24, 5, 1e4, 0.25), // dims >= n_rot untouched
        ];
        for mode in [RopeMode::Neox, RopeMode::Normal] {
            for &(nt, nh, hd, nr, pos0, base, fs) in &cases {
                let x = rng.vec(nt * nh * hd, -1.0, 1.0);
                let xb = g.f32_buffer(&x);
                let mut batch = g.kernels.batch(&g.ctx);
                batch.rope(&xb, mode, nt as u32, nh as u32, hd as u32, nr as u32, pos0 as u32, base, fs);
                batch.submit().unwrap();
                let mut want = x.clone();
                reference::rope(&mut want, mode == RopeMode::Neox, nt, nh, hd, nr, pos0, base, fs, None);
                // The angle is computed in f32 like llama.cpp: its absolute error is about
                // pos * 2^-23 * a few (<= 2e-3 rad at pos 2016), and a rotation by an angle error e
                // moves a unit-scale value by at most e.
                assert_close(
                    &format!("rope {mode:?} {nt}x{nh}x{hd} rot {nr} pos0 {pos0}"),
                    &g.read_f32(&xb, x.len()),
                    &want,
                    3e-3,
                );
            }
        }
    }
}

fn run_attention(g: &kernels_util::Gpu, rng: &mut Rng, a: AttentionArgs) {
    let (nt, nh, nkv, hd) =
        (a.n_tokens as usize, a.n_head as usize, a.n_kv_head as usize, a.head_dim as usize);
    let kv_len = a.pos0 as usize + nt;
    let capacity = kv_len + 3; // the cache holds more rows than are filled
    let a = AttentionArgs { k_capacity: capacity as u32, ..a };
    let q = rng.vec(nt * nh * hd, -1.0, 1.0);
    let k = rng.vec(capacity * nkv * hd, -1.0, 1.0);
    let v = rng.vec(capacity * nkv * hd, -1.0, 1.0);
    // With a q_stride, each token's queries sit at the start of a wider row (as in the model's
    // qkv buffer), the rest of it garbage the kernel must not read as queries.
    let q_in = match a.q_stride as usize {
        0 => q.clone(),
        stride => {
            let mut rows = rng.vec(nt * stride, -9.0, 9.0);
            for t in 0..nt {
                rows[t * stride..][..nh * hd].copy_from_slice(&q[t * nh * hd..][..nh * hd]);
            }
            rows
        }
    };
    let (qb, vb, ob) = (g.f32_buffer(&q_in), g.f32_buffer(&v), g.zeros(nt * nh * hd));
    // The K cache is position-fastest, filled as the model fills it: by transposing row copies
    // of the earlier positions and then of this chunk, over garbage.
    let kb = g.f32_buffer(&rng.vec(capacity * nkv * hd, -9.0, 9.0));
    let (row, pos0) = (nkv * hd, a.pos0 as usize);
    let (k_old, k_new) = (g.f32_buffer(&k[..pos0.max(1) * row]), g.f32_buffer(&k[pos0 * row..]));
    let mut batch = g.kernels.batch(&g.ctx);
    batch.copy_rows_transposed(&k_old, &kb, 0, a.pos0, row as u32, capacity as u32);
    batch.copy_rows_transposed(&k_new, &kb, a.pos0, a.n_tokens, row as u32, capacity as u32);
    batch.attention(&qb, &kb, &vb, &ob, &a);
    batch.submit().unwrap();
    let want = reference::attention(
        &q,
        &k,
        &v,
        nt,
        nh,
        nkv,
        hd,
        a.pos0 as usize,
        a.window as usize,
        a.scale,
        a.softcap,
    );
    // Scores are f32 dot products (relative error ~ sqrt(hd) * 2^-24), exp/softmax in f32 and an
    // f32 weighted sum of up to 4096 values: 1e-4 of the output scale covers it with margin,
    // while a wrong mask or head mapping changes outputs by order 0.1.
    assert_close(&format!("attention {a:?}"), &g.read_f32(&ob, nt * nh * hd), &want, 1e-4);
}

#[test]
fn attention_gqa_window_pos0() {
    for g in gpus() {
        eprintln!("variant {}", g.variant());
        let mut rng = Rng(12);
        for (nh, nkv) in [(4u32, 1u32), (4, 2), (4, 4)] {
            for window in [0u32, 5] {
                for (nt, pos0) in [(1u32, 0u32), (3, 0), (17, 9), (1, 70)] {
                    for hd in [64u32, 40] {
                        let a = AttentionArgs {
                            n_tokens: nt,
                            n_head: nh,
                            n_kv_head: nkv,
                            head_dim: hd,
                            pos0,
                            window,
                            scale: 1.0 / (hd as f32).sqrt(),
                            softcap: 0.0,
                            k_capacity: 0, // set by run_attention
                            q_stride: 0,
                            kv: KvType::F32,
                        };
                        run_attention(g, &mut rng, a);
                    }
                }
            }
        }
    }
}

#[test]
fn attention_long_context_and_head_dim_256() {
    for g in gpus() {
        eprintln!("variant {}", g.variant());
        let mut rng = Rng(13);
        let base =
            AttentionArgs { n_head: 4, n_kv_head: 1, head_dim: 256, scale: 0.0625, kv: KvType::F32, ..Default::default() };
        // Decode at position 4095 (4096 keys), a sliding window of 512, and a prefill chunk.
        run_attention(g, &mut rng, AttentionArgs { n_tokens: 1, pos0: 4095, ..base });
        run_attention(g, &mut rng, AttentionArgs { n_tokens: 2, pos0: 1000, window: 512, ..base });
        run_attention(g, &mut rng, AttentionArgs { n_tokens: 64, pos0: 0, ..base });
        // Queries read from rows that also hold keys and values (the model's qkv buffer).
        run_attention(g, &mut rng, AttentionArgs { n_tokens: 3, pos0: 6, q_stride: 4 * 256 + 2 * 256, ..base });
        // Soft-capped scores (Gemma 2 style), with large logits so the cap matters.
        run_attention(g, &mut rng, AttentionArgs { n_tokens: 5, pos0: 3, scale: 1.0, softcap: 2.0, ..base });
    }
}

#[test]
fn gated_act_add_and_copy_rows_transposed_or_not() {
    for g in gpus() {
        eprintln!("variant {}", g.variant());
        let mut rng = Rng(14);
        let n = 70_001; // not a multiple of 256
        let gate = rng.vec(n, -8.0, 8.0);
        let up = rng.vec(n, -2.0, 2.0);
        let (gb, ub) = (g.f32_buffer(&gate), g.f32_buffer(&up));
        let (o1, o2) = (g.zeros(n), g.zeros(n));
        let acc = rng.vec(n, -1.0, 1.0);
        let accb = g.f32_buffer(&acc);
        let dst = rng.vec(10 * 6, -1.0, 1.0);
        let dstb = g.f32_buffer(&dst);
        let src = rng.vec(3 * 6, -1.0, 1.0);
        let srcb = g.f32_buffer(&src);
        let mut batch = g.kernels.batch(&g.ctx);
        batch.gated_act(&gb, &ub, &o1, n as u32, Activation::GeluTanh);
        batch.gated_act(&gb, &ub, &o2, n as u32, Activation::Silu);
        batch.add_inplace(&accb, &ub, n as u32);
        batch.copy_rows(&srcb, &dstb, 4, 3, 6);
        // src [3, 6] into columns 5..8 of a [6, 9] matrix.
        let tdst = rng.vec(6 * 9, -1.0, 1.0);
        let tdstb = g.f32_buffer(&tdst);
        batch.copy_rows_transposed(&srcb, &tdstb, 5, 3, 6, 9);
        batch.submit().unwrap();
        // Elementwise f32 math: GPU tanh/exp are specified to a few ulp (Vulkan allows more for
        // tanh near 0), so 1e-5 of the output scale; a wrong formula is off by > 1e-2.
        assert_close(
            "gelu",
            &g.read_f32(&o1, n),
            &reference::gated_act(&gate, &up, reference::gelu_tanh),
            1e-5,
        );
        assert_close("silu", &g.read_f32(&o2, n), &reference::gated_act(&gate, &up, reference::silu), 1e-5);
        let want: Vec<f32> = acc.iter().zip(&up).map(|(a, b)| a + b).collect();
        assert_eq!(g.read_f32(&accb, n), want, "add_inplace is exact");
        let mut want = dst.clone();
        want[24..42].copy_from_slice(&src);
        assert_eq!(g.read_f32(&dstb, 60), want, "copy_rows is exact");
        let mut want = tdst.clone();
        for i in 0..3 {
            for c in 0..6 {
                want[c * 9 + 5 + i] = src[i * 6 + c];
            }
        }
        assert_eq!(g.read_f32(&tdstb, 54), want, "copy_rows_transposed is exact");
        // Columns past the stride are refused, not written.
        let mut batch = g.kernels.batch(&g.ctx);
        batch.copy_rows_transposed(&srcb, &tdstb, 7, 3, 6, 9);
        assert!(batch.submit().is_err(), "copy_rows_transposed past the stride");
    }
}

/// Timing of gemma-3-270m attention (4 heads, 1 kv head, head dim 256) on whatever adapter is
/// present: a 256-token prefill chunk at the start and at the end of a 2048-token context, with
/// and without the 512 sliding window, and one decode step at depth 2048.
/// `cargo test --test kernels_ops bench -- --ignored --nocapture`
#[test]
#[ignore]
fn bench_attention_prefill() {
    let Some(g) = gpu() else { return };
    let mut rng = Rng(14);
    let (cap, nh, nkv, hd) = (2048usize, 4usize, 1usize, 256usize);
    let q = g.f32_buffer(&rng.vec(256 * nh * hd, -1.0, 1.0));
    let k = g.f32_buffer(&rng.vec(cap * nkv * hd, -1.0, 1.0));
    let v = g.f32_buffer(&rng.vec(cap * nkv * hd, -1.0, 1.0));
    let out = g.zeros(256 * nh * hd);
    for (nt, pos0, window) in
        [(256u32, 0u32, 0u32), (256, 1792, 0), (256, 1792, 512), (1, 2047, 0), (1, 2047, 512)]
    {
        let a = AttentionArgs {
            n_tokens: nt,
            n_head: nh as u32,
            n_kv_head: nkv as u32,
            head_dim: hd as u32,
            pos0,
            window,
            scale: 0.0625,
            softcap: 0.0,
            k_capacity: cap as u32,
            q_stride: 0,
            kv: KvType::F32,
        };
        let reps = if nt == 1 { 20 } else { 2 };
        let run = || {
            let mut batch = g.kernels.batch(&g.ctx);
            for _ in 0..reps {
                batch.attention(&q, &k, &v, &out, &a);
            }
            batch.submit().unwrap();
            g.read_f32(&out, 1);
        };
        run();
        let t = std::time::Instant::now();
        run();
        let ms = t.elapsed().as_secs_f64() * 1e3 / reps as f64;
        eprintln!("attention {nt} tokens at {pos0} window {window}: {ms:.2} ms");
    }
}
