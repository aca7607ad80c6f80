//! Norm, RoPE, attention and elementwise kernels on the GPU against the CPU reference
//! (brasa::reference::kernels, f64): the suites of brasa::selftest (crate/src/selftest/ops.rs
//! and attention.rs hold the cases and each budget with its reason; the browser runs the same
//! ones, tests/kernels.test.mjs), on every kernel variant the adapter offers.
#![cfg(feature = "gpu")]

mod kernels_util;

use brasa::kernels::{AttentionArgs, KvType};
use brasa::selftest::{Rng, Suite};
use kernels_util::{check_suite, gpu};

#[test]
fn rms_norm_in_and_out_of_place() {
    check_suite(Suite::RmsNorm);
}

#[test]
fn add_norm_with_and_without_post_norm() {
    check_suite(Suite::AddNorm);
}

#[test]
fn qk_rope_matches_norms_rope_and_cache_writes() {
    check_suite(Suite::QkRope);
}

#[test]
fn rope_neox_and_normal() {
    check_suite(Suite::Rope);
}

#[test]
fn attention_gqa_window_pos0() {
    check_suite(Suite::Attention);
}

#[test]
fn attention_long_context_and_head_dim_256() {
    check_suite(Suite::AttentionLong);
}

#[test]
fn gated_act_add_and_copy_rows_transposed_or_not() {
    check_suite(Suite::Elementwise);
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
