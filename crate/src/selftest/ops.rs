//! Norms, RoPE and elementwise kernels against `reference::kernels` (f64). Each budget is a
//! normalized error, justified where it is used.

use super::{Checks, Rng, SelfTest};
use crate::error::Result;
use crate::kernels::{Activation, KvType, QkNorms, QkRopeArgs, RopeMode};
use crate::reference::kernels as reference;

/// An f32 sum of n squares (relative error ~ n · 2^-24 at worst) and one inverseSqrt (a few
/// ulp): 1e-5 of the output scale.
const NORM_BUDGET: f64 = 1e-5;

pub(super) async fn rms_norm(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let mut rng = Rng(10);
    for (n_rows, n) in [(1usize, 640usize), (7, 37), (300, 256)] {
        let wv = rng.vec(n, 0.5, 1.5);
        let w = t.vector_weight("norm", &wv)?;
        let x = rng.vec(n_rows * n, -3.0, 3.0);
        let (xb, yb, ib) = (t.f32_buffer(&x)?, t.zeros(n_rows * n)?, t.f32_buffer(&x)?);
        let mut batch = t.batch();
        batch.rms_norm(&xb, &w, &yb, n_rows as u32, 1e-6);
        batch.rms_norm(&ib, &w, &ib, n_rows as u32, 1e-6);
        batch.submit()?;
        let got = t.read(&[(&yb, n_rows * n), (&ib, n_rows * n)]).await?;
        let want = reference::rms_norm(&x, &wv, 1e-6);
        let shape = format!("{n_rows}x{n}");
        out.close("rms_norm", None, &shape, &got[0], &want, NORM_BUDGET);
        out.close("rms_norm", None, &format!("{shape} in place"), &got[1], &want, NORM_BUDGET);
    }
    Ok(())
}

pub(super) async fn add_norm(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let mut rng = Rng(15);
    for (n_rows, n) in [(1usize, 640usize), (5, 37), (130, 256)] {
        let post_v = rng.vec(n, 0.5, 1.5);
        let norm_v = rng.vec(n, 0.5, 1.5);
        let (post, norm) = (t.vector_weight("post", &post_v)?, t.vector_weight("norm", &norm_v)?);
        let x = rng.vec(n_rows * n, -3.0, 3.0);
        let o = rng.vec(n_rows * n, -30.0, 30.0);
        let (x1, x2, ob) = (t.f32_buffer(&x)?, t.f32_buffer(&x)?, t.f32_buffer(&o)?);
        let (xn1, xn2) = (t.zeros(n_rows * n)?, t.zeros(n_rows * n)?);
        let mut batch = t.batch();
        batch.add_norm(&x1, &ob, Some(&post), &norm, &xn1, n_rows as u32, 1e-6);
        batch.add_norm(&x2, &ob, None, &norm, &xn2, n_rows as u32, 1e-6);
        batch.submit()?;
        let m = n_rows * n;
        let got = t.read(&[(&x1, m), (&xn1, m), (&x2, m), (&xn2, m)]).await?;
        // The unfused ops in f64: post-norm, add, norm.
        let add = |a: &[f32], b: &[f32]| {
            a.iter().zip(b).map(|(a, b)| (*a as f64 + *b as f64) as f32).collect::<Vec<_>>()
        };
        let x_post = add(&x, &reference::rms_norm(&o, &post_v, 1e-6));
        let x_plain = add(&x, &o);
        // Two chained f32 norms and an add: each norm's budget twice; the plain add rounds once.
        let shape = format!("{n_rows}x{n}");
        out.close("add_norm x", None, &format!("{shape} post-norm"), &got[0], &x_post, 2.0 * NORM_BUDGET);
        let want = reference::rms_norm(&x_post, &norm_v, 1e-6);
        out.close("add_norm xn", None, &format!("{shape} post-norm"), &got[1], &want, 2.0 * NORM_BUDGET);
        out.close("add_norm x", None, &format!("{shape} plain"), &got[2], &x_plain, 1e-6);
        let want = reference::rms_norm(&x_plain, &norm_v, 1e-6);
        out.close("add_norm xn", None, &format!("{shape} plain"), &got[3], &want, 2.0 * NORM_BUDGET);
    }
    Ok(())
}

/// The norm (NORM_BUDGET), then a rotation by sin/cos of the range-reduced angle (|a| <= pi),
/// which WGSL only bounds to 2^-11 absolute (SwiftShader uses that latitude: ~1.5e-4 here;
/// lavapipe is within a few ulp). A pair (x, y) rotated with such sin/cos moves by at most
/// (|x| + |y|) 2^-11 <= sqrt(2) |(x, y)| 2^-11, and the output scale is at least |(x, y)| /
/// sqrt(2): 2 · 2^-11 + 1e-5 < 1e-3 of the output scale. A wrong pair, frequency or position
/// is off by order 1.
const ROTATION_BUDGET: f64 = 1e-3;

pub(super) async fn qk_rope(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let mut rng = Rng(16);
    // (tokens, q heads, kv heads, head_dim, n_rot, pos0, capacity, mode, norms)
    let cases = [
        (3u32, 4u32, 1u32, 256u32, 256u32, 5u32, 11u32, RopeMode::Neox, true),
        (5, 6, 2, 64, 48, 0, 5, RopeMode::Normal, false),
        (1, 8, 8, 130, 130, 40, 64, RopeMode::Neox, false),
        (2, 2, 1, 512, 512, 7, 9, RopeMode::Normal, true),
    ];
    for (n_tokens, n_head, n_kv_head, head_dim, n_rot, pos0, capacity, mode, with_norms) in cases {
        let (tu, nhu, nkvu, hdu, capu) =
            (n_tokens as usize, n_head as usize, n_kv_head as usize, head_dim as usize, capacity as usize);
        let q = rng.vec(tu * nhu * hdu, -2.0, 2.0);
        let k = rng.vec(tu * nkvu * hdu, -2.0, 2.0);
        let v = rng.vec(tu * nkvu * hdu, -2.0, 2.0);
        let (qn_v, kn_v) = (rng.vec(hdu, 0.5, 1.5), rng.vec(hdu, 0.5, 1.5));
        let (qn, kn) = (t.vector_weight("q_norm", &qn_v)?, t.vector_weight("k_norm", &kn_v)?);
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
        let qkvb = t.f32_buffer(&qkv)?;
        let (kcb, vcb) = (t.f32_buffer(&k_cache0)?, t.f32_buffer(&v_cache0)?);
        let args = QkRopeArgs {
            n_tokens,
            n_head,
            n_kv_head,
            head_dim,
            n_rot,
            pos0,
            capacity,
            mode,
            base: 10_000.0,
            freq_scale: 1.0,
            eps: 1e-6,
            kv: KvType::F32, // the caches are filled and read back as f32 here
        };
        let norms = with_norms.then_some(QkNorms { q: &qn, k: &kn });
        // Llama 3.1-style frequency divisors on the cases with norms, ones on the others.
        let half = n_rot as usize / 2;
        let factors_v: Vec<f32> = if with_norms { rng.vec(half, 1.0, 8.0) } else { vec![1.0; half] };
        let factors = t.vector_weight("rope_freqs", &factors_v)?;
        let mut batch = t.batch();
        batch.qk_rope(&args, &qkvb, norms, &factors, &kcb, &vcb);
        batch.submit()?;
        let got = t.read(&[(&qkvb, qkv.len()), (&kcb, k_cache0.len()), (&vcb, v_cache0.len())]).await?;

        // The unfused ops in f64: per-head norm, RoPE, then the cache layouts.
        let (mut q_ref, mut k_ref) = (q.clone(), k.clone());
        if with_norms {
            q_ref = reference::rms_norm(&q_ref, &qn_v, 1e-6);
            k_ref = reference::rms_norm(&k_ref, &kn_v, 1e-6);
        }
        let (neox, f, nr, p0) =
            (mode == RopeMode::Neox, Some(factors_v.as_slice()), n_rot as usize, pos0 as usize);
        reference::rope(&mut q_ref, neox, tu, nhu, hdu, nr, p0, 10_000.0, 1.0, f);
        reference::rope(&mut k_ref, neox, tu, nkvu, hdu, nr, p0, 10_000.0, 1.0, f);
        let (mut kc_ref, mut vc_ref) = (k_cache0.clone(), v_cache0.clone());
        for ti in 0..tu {
            let pos = p0 + ti;
            for c in 0..nkvu * hdu {
                kc_ref[c * capu + pos] = k_ref[ti * nkvu * hdu + c];
                vc_ref[pos * nkvu * hdu + c] = v[ti * nkvu * hdu + c];
            }
        }
        let shape = format!(
            "tokens {n_tokens} heads {n_head}/{n_kv_head} dim {head_dim} rot {n_rot} pos0 {pos0} {mode:?} norms {with_norms}"
        );
        // q is rotated in place; each token's k and v stay as they were.
        let row = qd + 2 * kvd;
        let q_out: Vec<f32> = (0..tu).flat_map(|ti| got[0][ti * row..][..qd].to_vec()).collect();
        let kv_out: Vec<f32> = (0..tu).flat_map(|ti| got[0][ti * row + qd..][..2 * kvd].to_vec()).collect();
        let kv_in: Vec<f32> = (0..tu).flat_map(|ti| qkv[ti * row + qd..][..2 * kvd].to_vec()).collect();
        out.close("qk_rope q", None, &shape, &q_out, &q_ref, ROTATION_BUDGET);
        out.same("qk_rope k, v", None, &format!("{shape}, read not written"), &kv_out, &kv_in);
        out.close("qk_rope k cache", None, &shape, &got[1], &kc_ref, ROTATION_BUDGET);
        out.same("qk_rope v cache", None, &format!("{shape}, a plain copy"), &got[2], &vc_ref);
    }
    Ok(())
}

pub(super) async fn rope(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
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
            let xb = t.f32_buffer(&x)?;
            let mut batch = t.batch();
            batch.rope(&xb, mode, nt as u32, nh as u32, hd as u32, nr as u32, pos0 as u32, base, fs);
            batch.submit()?;
            let got = t.read(&[(&xb, x.len())]).await?;
            let mut want = x.clone();
            reference::rope(&mut want, mode == RopeMode::Neox, nt, nh, hd, nr, pos0, base, fs, None);
            // The angle is computed in f32 like llama.cpp: its absolute error is about
            // pos · 2^-23 · a few (<= 2e-3 rad at pos 2016), and a rotation by an angle error e
            // moves a unit-scale value by at most e.
            let shape = format!("{mode:?} {nt}x{nh}x{hd} rot {nr} pos0 {pos0}");
            out.close("rope", None, &shape, &got[0], &want, 3e-3);
        }
    }
    Ok(())
}

/// Gated activations, in-place add and (transposing) row copies.
pub(super) async fn elementwise(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let mut rng = Rng(14);
    let n = 70_001; // not a multiple of 256
    let gate = rng.vec(n, -8.0, 8.0);
    let up = rng.vec(n, -2.0, 2.0);
    let (gb, ub) = (t.f32_buffer(&gate)?, t.f32_buffer(&up)?);
    let (o1, o2) = (t.zeros(n)?, t.zeros(n)?);
    let acc = rng.vec(n, -1.0, 1.0);
    let accb = t.f32_buffer(&acc)?;
    let dst = rng.vec(10 * 6, -1.0, 1.0);
    let dstb = t.f32_buffer(&dst)?;
    let src = rng.vec(3 * 6, -1.0, 1.0);
    let srcb = t.f32_buffer(&src)?;
    // src [3, 6] into columns 5..8 of a [6, 9] matrix.
    let tdst = rng.vec(6 * 9, -1.0, 1.0);
    let tdstb = t.f32_buffer(&tdst)?;
    let mut batch = t.batch();
    batch.gated_act(&gb, &ub, &o1, n as u32, Activation::GeluTanh);
    batch.gated_act(&gb, &ub, &o2, n as u32, Activation::Silu);
    batch.add_inplace(&accb, &ub, n as u32);
    batch.copy_rows(&srcb, &dstb, 4, 3, 6);
    batch.copy_rows_transposed(&srcb, &tdstb, 5, 3, 6, 9);
    batch.submit()?;
    let got = t.read(&[(&o1, n), (&o2, n), (&accb, n), (&dstb, 60), (&tdstb, 54)]).await?;
    // Elementwise f32 math: GPU tanh/exp are specified to a few ulp (Vulkan allows more for
    // tanh near 0), so 1e-5 of the output scale; a wrong formula is off by > 1e-2.
    let shape = format!("n {n}");
    out.close(
        "gated_gelu",
        None,
        &shape,
        &got[0],
        &reference::gated_act(&gate, &up, reference::gelu_tanh),
        1e-5,
    );
    out.close("gated_silu", None, &shape, &got[1], &reference::gated_act(&gate, &up, reference::silu), 1e-5);
    let sum: Vec<f32> = acc.iter().zip(&up).map(|(a, b)| a + b).collect();
    out.same("add_inplace", None, &format!("{shape}, exact"), &got[2], &sum);
    let mut want = dst.clone();
    want[24..42].copy_from_slice(&src);
    out.same("copy_rows", None, "3x6 at row 4 of 10, exact", &got[3], &want);
    let mut want = tdst.clone();
    for i in 0..3 {
        for c in 0..6 {
            want[c * 9 + 5 + i] = src[i * 6 + c];
        }
    }
    out.same("copy_rows_transposed", None, "3x6 into columns 5..8 of 6x9, exact", &got[4], &want);
    // Columns past the stride are refused, not written.
    let mut batch = t.batch();
    batch.copy_rows_transposed(&srcb, &tdstb, 7, 3, 6, 9);
    let refused = batch.submit().is_err();
    out.holds(
        "copy_rows_transposed",
        None,
        "3x6 into columns 7..10 of 6x9",
        refused,
        "refused past the stride",
    );
    Ok(())
}
