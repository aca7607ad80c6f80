//! The decode attention kernel (q/k norms, RoPE, cache writes and attention of one token in one
//! dispatch, keys optionally split over several workgroups) against the CPU reference (f64
//! norms, RoPE and attention from brasa::reference::kernels) and against the batch path it
//! replaces for a decoded token (qk_rope, then attention) on the same GPU.
#![cfg(feature = "gpu")]

mod kernels_util;

use brasa::gpu::GpuWeight;
use brasa::kernels::{
    decode_partials_len, decode_splits, AttentionArgs, DecodeAttentionArgs, KvType, QkNorms, QkRopeArgs,
    RopeMode, MAX_DECODE_SPLITS,
};
use brasa::quant::QuantType;
use brasa::reference::kernels as reference;
use kernels_util::{assert_close, gpus, Gpu, Rng};

/// One decode case.
#[derive(Clone, Copy, Debug)]
struct Case {
    n_head: u32,
    n_kv_head: u32,
    head_dim: u32,
    n_rot: u32,
    /// The token's position: keys 0 .. pos are in the cache already.
    pos: u32,
    window: u32,
    softcap: f32,
    mode: RopeMode,
    norms: bool,
    splits: Option<u32>,
}

/// `x` as an f16 cache holds it.
fn f16_round(x: &[f32]) -> Vec<f32> {
    x.iter().map(|&v| half::f16::from_f32(v).to_f32()).collect()
}

/// A K cache (`[K, cap]`, position fastest, K = kv heads × head_dim) or a V cache (`[cap, K]`)
/// given as f32 values, in the GPU layout of `kv` (kv/f16.wgsl: pairs of dimensions per word).
fn cache_buffer(g: &Gpu, kv: KvType, vals: &[f32], is_k: bool, cap: usize) -> wgpu::Buffer {
    match kv {
        KvType::F32 => g.f32_buffer(vals),
        KvType::F16 => g.u32_buffer(&to_f16_words(vals, is_k, cap)),
    }
}

fn to_f16_words(vals: &[f32], is_k: bool, cap: usize) -> Vec<u32> {
    let bits = |v: f32| half::f16::from_f32(v).to_bits() as u32;
    let pair = |lo: f32, hi: f32| bits(lo) | (bits(hi) << 16);
    if is_k {
        // Word (c / 2, j) holds dimensions c and c + 1 of position j.
        let k_dims = vals.len() / cap;
        (0..k_dims / 2)
            .flat_map(|w| (0..cap).map(move |j| (w, j)))
            .map(|(w, j)| pair(vals[2 * w * cap + j], vals[(2 * w + 1) * cap + j]))
            .collect()
    } else {
        vals.chunks(2).map(|p| pair(p[0], p[1])).collect()
    }
}

/// A cache buffer read back as f32 values in the f32 layout.
fn read_cache(g: &Gpu, kv: KvType, b: &wgpu::Buffer, n: usize, is_k: bool, cap: usize) -> Vec<f32> {
    if kv == KvType::F32 {
        return g.read_f32(b, n);
    }
    let words = g.read_u32(b, n / 2);
    let half = |w: u32, hi: bool| half::f16::from_bits((if hi { w >> 16 } else { w & 0xFFFF }) as u16).to_f32();
    let mut out = vec![0.0; n];
    for (w, &word) in words.iter().enumerate() {
        let (lo, hi) = if is_k {
            let (pair, j) = (w / cap, w % cap);
            (2 * pair * cap + j, (2 * pair + 1) * cap + j)
        } else {
            (2 * w, 2 * w + 1)
        };
        out[lo] = half(word, false);
        out[hi] = half(word, true);
    }
    out
}

fn f32_weight(g: &Gpu, name: &str, vals: &[f32]) -> GpuWeight {
    let w = g.ctx.create_weight(name, QuantType::F32, 1, vals.len() as u64).unwrap();
    g.ctx.write_weight(&w, 0, bytemuck::cast_slice(vals)).unwrap();
    w
}

fn run(g: &Gpu, rng: &mut Rng, c: Case, kv: KvType) {
    let (nh, nkv, hd, pos) = (c.n_head as usize, c.n_kv_head as usize, c.head_dim as usize, c.pos as usize);
    let cap = pos + 3; // the caches hold more positions than are filled
    let (qd, kvd) = (nh * hd, nkv * hd);
    let scale = if c.softcap > 0.0 { 1.0 } else { 1.0 / (hd as f32).sqrt() };
    // The token's raw projections, as the model lays them out: q, then k, then v.
    let qkv = rng.vec(qd + 2 * kvd, -2.0, 2.0);
    let (q, k, v) = (&qkv[..qd], &qkv[qd..qd + kvd], &qkv[qd + kvd..]);
    // Earlier keys and values (already rotated), and garbage past them, as the cache holds them.
    let round = |x: Vec<f32>| if kv == KvType::F16 { f16_round(&x) } else { x };
    let k_hist = round(rng.vec(cap * kvd, -1.0, 1.0));
    let v_hist = round(rng.vec(cap * kvd, -1.0, 1.0));
    let k_cache0: Vec<f32> = (0..kvd * cap).map(|i| k_hist[(i % cap) * kvd + i / cap]).collect();
    let qn = rng.vec(hd, 0.5, 1.5);
    let kn = rng.vec(hd, 0.5, 1.5);
    let half = c.n_rot as usize / 2;
    let factors: Vec<f32> = if c.norms { rng.vec(half, 1.0, 8.0) } else { vec![1.0; half] };
    let (qn_w, kn_w, f_w) =
        (f32_weight(g, "q_norm", &qn), f32_weight(g, "k_norm", &kn), f32_weight(g, "rope_freqs", &factors));
    let norms = || c.norms.then_some(QkNorms { q: &qn_w, k: &kn_w });
    let rope = QkRopeArgs {
        n_tokens: 1,
        n_head: c.n_head,
        n_kv_head: c.n_kv_head,
        head_dim: c.head_dim,
        n_rot: c.n_rot,
        pos0: c.pos,
        capacity: cap as u32,
        mode: c.mode,
        base: 10_000.0,
        freq_scale: 1.0,
        eps: 1e-6,
        kv,
    };
    let args =
        DecodeAttentionArgs { rope, window: c.window, scale, softcap: c.softcap, force_splits: c.splits };

    // The fused kernel.
    let cache = |vals: &[f32], is_k| cache_buffer(g, kv, vals, is_k, cap);
    let (qkvb, kcb, vcb) = (g.f32_buffer(&qkv), cache(&k_cache0, true), cache(&v_hist, false));
    let partials = g.zeros(decode_partials_len(c.n_head, c.head_dim) as usize);
    let out = g.zeros(qd);
    let mut b = g.kernels.batch(&g.ctx);
    b.attention_decode(&args, &qkvb, norms(), &f_w, &kcb, &vcb, &partials, &out);
    b.submit().unwrap();
    let read = |b: &wgpu::Buffer, is_k| read_cache(g, kv, b, kvd * cap, is_k, cap);
    let (got, got_k, got_v) = (g.read_f32(&out, qd), read(&kcb, true), read(&vcb, false));

    // The batch path on the same GPU: qk_rope, then attention.
    let (qkvb2, kcb2, vcb2, out2) = (g.f32_buffer(&qkv), cache(&k_cache0, true), cache(&v_hist, false), g.zeros(qd));
    let mut b = g.kernels.batch(&g.ctx);
    b.qk_rope(&rope, &qkvb2, norms(), &f_w, &kcb2, &vcb2);
    let attn = AttentionArgs {
        n_tokens: 1,
        n_head: c.n_head,
        n_kv_head: c.n_kv_head,
        head_dim: c.head_dim,
        pos0: c.pos,
        window: c.window,
        scale,
        softcap: c.softcap,
        k_capacity: cap as u32,
        q_stride: (qd + 2 * kvd) as u32,
        kv,
    };
    b.attention(&qkvb2, &kcb2, &vcb2, &out2, &attn);
    b.submit().unwrap();

    // The reference in f64: norms, RoPE, then attention over the history and the new key.
    let (mut q_ref, mut k_ref) = (q.to_vec(), k.to_vec());
    if c.norms {
        q_ref = reference::rms_norm(&q_ref, &qn, 1e-6);
        k_ref = reference::rms_norm(&k_ref, &kn, 1e-6);
    }
    let neox = c.mode == RopeMode::Neox;
    let f = Some(factors.as_slice());
    reference::rope(&mut q_ref, neox, 1, nh, hd, c.n_rot as usize, pos, 10_000.0, 1.0, f);
    reference::rope(&mut k_ref, neox, 1, nkv, hd, c.n_rot as usize, pos, 10_000.0, 1.0, f);
    let k_ref = round(k_ref);
    let v = &round(v.to_vec());
    let mut k_all = k_hist[..pos * kvd].to_vec();
    k_all.extend_from_slice(&k_ref);
    let mut v_all = v_hist[..pos * kvd].to_vec();
    v_all.extend_from_slice(v);
    let want = reference::attention(
        &q_ref,
        &k_all,
        &v_all,
        1,
        nh,
        nkv,
        hd,
        pos,
        c.window as usize,
        scale,
        c.softcap,
    );

    let visible = if c.window > 0 { (pos + 1).min(c.window as usize) } else { pos + 1 };
    let (splits, _) = decode_splits(c.n_head, visible as u32);
    let what = format!("{c:?} (auto splits {splits}), {kv:?} cache");
    // Norms (1e-5), RoPE's f32 angles (2e-5, see kernels_ops.rs) and attention (1e-4, ibid.).
    assert_close(&format!("output vs reference, {what}"), &got, &want, 2e-4);
    // The same arithmetic as the batch path but for the order of a few sums.
    assert_close(&format!("output vs qk_rope + attention, {what}"), &got, &g.read_f32(&out2, qd), 2e-5);
    // The caches: the new key and value at `pos`, everything else as it was.
    let mut kc_want = k_cache0.clone();
    let mut vc_want = v_hist.clone();
    for i in 0..kvd {
        kc_want[i * cap + pos] = k_ref[i];
        vc_want[pos * kvd + i] = v[i];
    }
    // The rotation angle is f32, as in llama.cpp: its error grows with the position (about
    // pos * 2^-23 * a few rad, see rope_neox_and_normal in kernels_ops.rs).
    assert_close(&format!("k cache, {what}"), &got_k, &kc_want, 3e-3);
    assert_close(&format!("v cache, {what}"), &got_v, &vc_want, V_CACHE_BUDGET[kv as usize]);
    assert_close(&format!("k cache vs qk_rope, {what}"), &got_k, &read(&kcb2, true), 2e-6);
}

/// The V cache is a plain copy in f32; in f16 the GPU's rounding (pack2x16float: to nearest or
/// toward zero, the spec allows either) may differ from the reference's round-to-nearest-even by
/// one f16 unit, 2^-10 relative.
const V_CACHE_BUDGET: [f64; 2] = [0.0, 1e-3];

#[test]
fn decode_attention_matches_reference_and_batch_path() {
    let base = Case {
        n_head: 4,
        n_kv_head: 1,
        head_dim: 256,
        n_rot: 256,
        pos: 0,
        window: 0,
        softcap: 0.0,
        mode: RopeMode::Neox,
        norms: true,
        splits: None,
    };
    let cases = [
        // gemma-3-like: the first token; a local layer past its window (auto: split in two).
        base,
        Case { pos: 700, window: 512, ..base },
        Case { pos: 100, ..base },
        // Llama-like: normal RoPE, no norms, partial rotation, GQA 2, forced splits.
        Case {
            n_head: 6,
            n_kv_head: 2,
            head_dim: 64,
            n_rot: 48,
            pos: 33,
            mode: RopeMode::Normal,
            norms: false,
            splits: Some(3),
            ..base
        },
        // An odd head size, no GQA, soft-capping, the most splits (47 keys each, the last short).
        Case {
            n_head: 8,
            n_kv_head: 8,
            head_dim: 40,
            n_rot: 40,
            pos: 1500,
            softcap: 2.0,
            norms: false,
            splits: Some(MAX_DECODE_SPLITS),
            ..base
        },
        // Long context with automatic splits; a window with more splits than keys asked for.
        Case { pos: 4095, ..base },
        Case {
            n_head: 2,
            n_kv_head: 1,
            head_dim: 130,
            n_rot: 130,
            pos: 9,
            window: 4,
            splits: Some(8),
            ..base
        },
    ];
    for g in gpus() {
        eprintln!("variant {}", g.variant());
        let mut rng = Rng(21);
        for kv in [KvType::F32, KvType::F16] {
            for c in cases {
                run(g, &mut rng, c, kv);
            }
        }
    }
}

#[test]
fn splits_cover_the_keys_in_nonempty_ranges() {
    for n_head in [1u32, 4, 8, 32, 64] {
        for n_keys in [1u32, 2, 255, 256, 511, 512, 513, 1000, 4096, 32768, 131072] {
            let (s, len) = decode_splits(n_head, n_keys);
            assert!((1..=MAX_DECODE_SPLITS).contains(&s), "{n_head} heads, {n_keys} keys: {s} splits");
            assert!(s * len >= n_keys && (s - 1) * len < n_keys, "{n_head}/{n_keys}: {s} × {len}");
            if n_keys < 512 {
                assert_eq!(s, 1, "short contexts are not split");
            }
        }
    }
}

/// A batch of tokens through qk_rope and the prefill attention (8 query rows per workgroup) over
/// an f16 cache, against the reference with the cached keys and values rounded to f16.
#[test]
fn prefill_over_an_f16_cache() {
    let (nt, nh, nkv, hd, pos0) = (17usize, 4usize, 2usize, 64usize, 9usize);
    let cap = pos0 + nt + 2;
    let (qd, kvd) = (nh * hd, nkv * hd);
    for g in gpus() {
        let mut rng = Rng(22);
        let qkv = rng.vec(nt * (qd + 2 * kvd), -2.0, 2.0);
        let k_hist = f16_round(&rng.vec(cap * kvd, -1.0, 1.0));
        let v_hist = f16_round(&rng.vec(cap * kvd, -1.0, 1.0));
        let k_cache0: Vec<f32> = (0..kvd * cap).map(|i| k_hist[(i % cap) * kvd + i / cap]).collect();
        let factors = f32_weight(g, "rope_freqs", &vec![1.0; hd / 2]);
        let rope = QkRopeArgs {
            n_tokens: nt as u32,
            n_head: nh as u32,
            n_kv_head: nkv as u32,
            head_dim: hd as u32,
            n_rot: hd as u32,
            pos0: pos0 as u32,
            capacity: cap as u32,
            mode: RopeMode::Neox,
            base: 10_000.0,
            freq_scale: 1.0,
            eps: 1e-6,
            kv: KvType::F16,
        };
        let attn = AttentionArgs {
            n_tokens: nt as u32,
            n_head: nh as u32,
            n_kv_head: nkv as u32,
            head_dim: hd as u32,
            pos0: pos0 as u32,
            window: 0,
            scale: 0.125,
            softcap: 0.0,
            k_capacity: cap as u32,
            q_stride: (qd + 2 * kvd) as u32,
            kv: KvType::F16,
        };
        let qkvb = g.f32_buffer(&qkv);
        let kcb = cache_buffer(g, KvType::F16, &k_cache0, true, cap);
        let vcb = cache_buffer(g, KvType::F16, &v_hist, false, cap);
        let out = g.zeros(nt * qd);
        let mut b = g.kernels.batch(&g.ctx);
        b.qk_rope(&rope, &qkvb, None, &factors, &kcb, &vcb);
        b.attention(&qkvb, &kcb, &vcb, &out, &attn);
        b.submit().unwrap();

        let row = |t: usize| &qkv[t * (qd + 2 * kvd)..][..qd + 2 * kvd];
        let mut q: Vec<f32> = (0..nt).flat_map(|t| row(t)[..qd].to_vec()).collect();
        let mut k: Vec<f32> = (0..nt).flat_map(|t| row(t)[qd..qd + kvd].to_vec()).collect();
        let v: Vec<f32> = (0..nt).flat_map(|t| row(t)[qd + kvd..].to_vec()).collect();
        reference::rope(&mut q, true, nt, nh, hd, hd, pos0, 10_000.0, 1.0, None);
        reference::rope(&mut k, true, nt, nkv, hd, hd, pos0, 10_000.0, 1.0, None);
        let mut k_all = k_hist[..pos0 * kvd].to_vec();
        k_all.extend(f16_round(&k));
        let mut v_all = v_hist[..pos0 * kvd].to_vec();
        v_all.extend(f16_round(&v));
        let want = reference::attention(&q, &k_all, &v_all, nt, nh, nkv, hd, pos0, 0, 0.125, 0.0);
        // As the decode case: f32 arithmetic over the same cached values, plus the new keys' f16
        // rounding, which the GPU may do toward zero (2^-10 relative on a key moves a score by
        // about that much of its size).
        assert_close(&format!("prefill over an f16 cache, {}", g.variant()), &g.read_f32(&out, nt * qd), &want, 2e-4);
    }
}
