//! The decode attention kernel (a decoded token's q/k norms, RoPE, cache writes and attention in
//! one dispatch, its keys optionally split over several workgroups) and the f16 K/V cache,
//! against the reference (f64 norms, RoPE and attention, with the cached keys and values rounded
//! to f16 for an f16 cache) and against the batch path it replaces (qk_rope, then attention) on
//! the same device.

use super::{Checks, Rng, SelfTest};
use crate::error::Result;
use crate::gpu::{GpuWeight, OwnedBuffer};
use crate::kernels::{
    decode_partials_len, AttentionArgs, DecodeAttentionArgs, KvType, QkNorms, QkRopeArgs, RopeMode,
    MAX_DECODE_SPLITS,
};
use crate::reference::kernels as reference;

/// Output against the reference: norms (1e-5), RoPE's f32 angles and sin/cos (WGSL allows 2^-11
/// absolute, SwiftShader uses it) and attention (1e-4, see attention.rs).
const OUTPUT_BUDGET: f64 = 1e-3;
/// The same arithmetic as the batch path but for the order of a few sums (f32 cache); with an
/// f16 cache such a difference may round a cached value one f16 unit (2^-11) the other way.
const VS_BATCH_BUDGET: [f64; 2] = [1e-4, 1e-3];
/// The rotated key in the cache: f32 angles whose error grows with the position (about
/// pos · 2^-23 · a few rad) and sin/cos within 2^-11 (see ops.rs).
const K_CACHE_BUDGET: f64 = 3e-3;
/// The value is a plain copy in f32; in f16 the GPU's rounding (pack2x16float rounds to nearest
/// or toward zero, the spec allows either) may differ from the reference's round-to-nearest-even
/// by one f16 unit, 2^-10 relative.
const V_CACHE_BUDGET: [f64; 2] = [0.0, 1e-3];

/// One decoded token.
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

const BASE: Case = Case {
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

const CASES: [Case; 7] = [
    // gemma-3's heads: the first token; a local layer past its window (split in two); a global one.
    BASE,
    Case { pos: 700, window: 512, ..BASE },
    Case { pos: 100, ..BASE },
    // Llama-like: normal RoPE, no norms, partial rotation, GQA 3, forced splits.
    Case {
        n_head: 6,
        n_kv_head: 2,
        head_dim: 64,
        n_rot: 48,
        pos: 33,
        mode: RopeMode::Normal,
        norms: false,
        splits: Some(3),
        ..BASE
    },
    // Head dim 40, no GQA, soft-capping, the most splits (47 keys each, the last short).
    Case {
        n_head: 8,
        n_kv_head: 8,
        head_dim: 40,
        n_rot: 40,
        pos: 1500,
        softcap: 2.0,
        norms: false,
        splits: Some(MAX_DECODE_SPLITS),
        ..BASE
    },
    // Long context, automatic splits; a window with more splits asked for than it has keys.
    Case { pos: 4095, ..BASE },
    Case { n_head: 2, n_kv_head: 1, head_dim: 130, n_rot: 130, pos: 9, window: 4, splits: Some(8), ..BASE },
];

/// Every case over an f32 and an f16 cache.
pub(super) async fn decode(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let mut rng = Rng(21);
    for kv in [KvType::F32, KvType::F16] {
        for c in CASES {
            decode_case(t, out, &mut rng, c, kv).await?;
        }
    }
    Ok(())
}

async fn decode_case(t: &SelfTest<'_>, out: &mut Checks, rng: &mut Rng, c: Case, kv: KvType) -> Result<()> {
    let (nh, nkv, hd, pos) = (c.n_head as usize, c.n_kv_head as usize, c.head_dim as usize, c.pos as usize);
    let cap = pos + 3; // the caches hold more positions than are filled
    let (qd, kvd) = (nh * hd, nkv * hd);
    let scale = if c.softcap > 0.0 { 1.0 } else { 1.0 / (hd as f32).sqrt() };
    // The token's raw projections, as the model lays them out: q, then k, then v.
    let qkv = rng.vec(qd + 2 * kvd, -2.0, 2.0);
    // Earlier keys (already rotated) and values as the cache holds them, and garbage past them.
    let k_hist = kv_round(kv, rng.vec(cap * kvd, -1.0, 1.0));
    let v_hist = kv_round(kv, rng.vec(cap * kvd, -1.0, 1.0));
    let k_cache0: Vec<f32> = (0..kvd * cap).map(|i| k_hist[(i % cap) * kvd + i / cap]).collect();
    let (qn, kn) = (rng.vec(hd, 0.5, 1.5), rng.vec(hd, 0.5, 1.5));
    let half = c.n_rot as usize / 2;
    let factors: Vec<f32> = if c.norms { rng.vec(half, 1.0, 8.0) } else { vec![1.0; half] };
    let (qn_w, kn_w) = (t.vector_weight("q_norm", &qn)?, t.vector_weight("k_norm", &kn)?);
    let f_w = t.vector_weight("rope_freqs", &factors)?;
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

    // The fused kernel, and the batch path (qk_rope, then attention) on copies of the inputs.
    let inputs = || -> Result<[OwnedBuffer; 3]> {
        Ok([
            t.f32_buffer(&qkv)?,
            cache_buffer(t, kv, &k_cache0, true, cap)?,
            cache_buffer(t, kv, &v_hist, false, cap)?,
        ])
    };
    let ([qkvb, kcb, vcb], [qkvb2, kcb2, vcb2]) = (inputs()?, inputs()?);
    let partials = t.zeros(decode_partials_len(c.n_head, c.head_dim) as usize)?;
    let (fused, batched) = (t.zeros(qd)?, t.zeros(qd)?);
    let mut b = t.batch();
    b.attention_decode(&args, &qkvb, norms(), &f_w, &kcb, &vcb, &partials, &fused);
    b.qk_rope(&rope, &qkvb2, norms(), &f_w, &kcb2, &vcb2);
    b.attention(&qkvb2, &kcb2, &vcb2, &batched, &attn);
    b.submit()?;
    let n_cache = kvd * cap * kv.bytes() as usize / 4;
    let got =
        t.read(&[(&fused, qd), (&batched, qd), (&kcb, n_cache), (&vcb, n_cache), (&kcb2, n_cache)]).await?;
    let cache = |words: &[f32], is_k| read_cache(kv, words, kvd * cap, is_k, cap);
    let (got_k, got_v, batch_k) = (cache(&got[2], true), cache(&got[3], false), cache(&got[4], true));

    // The reference: norms, RoPE, then attention over the history and the new key, in f64.
    let (q, k, v) = (&qkv[..qd], &qkv[qd..qd + kvd], &qkv[qd + kvd..]);
    let (mut q_ref, mut k_ref) = (q.to_vec(), k.to_vec());
    if c.norms {
        q_ref = reference::rms_norm(&q_ref, &qn, 1e-6);
        k_ref = reference::rms_norm(&k_ref, &kn, 1e-6);
    }
    let (neox, f) = (c.mode == RopeMode::Neox, Some(factors.as_slice()));
    reference::rope(&mut q_ref, neox, 1, nh, hd, c.n_rot as usize, pos, 10_000.0, 1.0, f);
    reference::rope(&mut k_ref, neox, 1, nkv, hd, c.n_rot as usize, pos, 10_000.0, 1.0, f);
    let (k_ref, v_ref) = (kv_round(kv, k_ref), kv_round(kv, v.to_vec()));
    let mut k_all = k_hist[..pos * kvd].to_vec();
    k_all.extend_from_slice(&k_ref);
    let mut v_all = v_hist[..pos * kvd].to_vec();
    v_all.extend_from_slice(&v_ref);
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
    let (mut k_want, mut v_want) = (k_cache0.clone(), v_hist.clone());
    for i in 0..kvd {
        k_want[i * cap + pos] = k_ref[i];
        v_want[pos * kvd + i] = v_ref[i];
    }

    let shape = format!(
        "{} cache, heads {nh}/{nkv} dim {hd} rot {} at {pos} window {} softcap {} {:?} norms {} splits {:?}",
        kv.name(),
        c.n_rot,
        c.window,
        c.softcap,
        c.mode,
        c.norms,
        c.splits
    );
    out.close("attention_decode", None, &shape, &got[0], &want, OUTPUT_BUDGET);
    let vs_batch = VS_BATCH_BUDGET[kv as usize];
    out.close("attention_decode vs qk_rope+attention", None, &shape, &got[0], &got[1], vs_batch);
    out.close("attention_decode k cache", None, &shape, &got_k, &k_want, K_CACHE_BUDGET);
    out.close("attention_decode v cache", None, &shape, &got_v, &v_want, V_CACHE_BUDGET[kv as usize]);
    out.close("attention_decode k cache vs qk_rope", None, &shape, &got_k, &batch_k, vs_batch);
    Ok(())
}

/// A batch of tokens through qk_rope and the prefill attention (8 query rows per workgroup) over
/// an f16 cache, against the reference with the cached keys and values rounded to f16.
pub(super) async fn prefill_f16(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let (nt, nh, nkv, hd, pos0) = (17usize, 4usize, 2usize, 64usize, 9usize);
    let cap = pos0 + nt + 2;
    let (qd, kvd) = (nh * hd, nkv * hd);
    let kv = KvType::F16;
    let mut rng = Rng(22);
    let qkv = rng.vec(nt * (qd + 2 * kvd), -2.0, 2.0);
    let k_hist = kv_round(kv, rng.vec(cap * kvd, -1.0, 1.0));
    let v_hist = kv_round(kv, rng.vec(cap * kvd, -1.0, 1.0));
    let k_cache0: Vec<f32> = (0..kvd * cap).map(|i| k_hist[(i % cap) * kvd + i / cap]).collect();
    let factors: GpuWeight = t.vector_weight("rope_freqs", &vec![1.0; hd / 2])?;
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
        kv,
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
        kv,
    };
    let qkvb = t.f32_buffer(&qkv)?;
    let (kcb, vcb) = (cache_buffer(t, kv, &k_cache0, true, cap)?, cache_buffer(t, kv, &v_hist, false, cap)?);
    let outb = t.zeros(nt * qd)?;
    let mut b = t.batch();
    b.qk_rope(&rope, &qkvb, None, &factors, &kcb, &vcb);
    b.attention(&qkvb, &kcb, &vcb, &outb, &attn);
    b.submit()?;
    let got = t.read(&[(&outb, nt * qd)]).await?;

    let row = |i: usize| &qkv[i * (qd + 2 * kvd)..][..qd + 2 * kvd];
    let mut q: Vec<f32> = (0..nt).flat_map(|i| row(i)[..qd].to_vec()).collect();
    let mut k: Vec<f32> = (0..nt).flat_map(|i| row(i)[qd..qd + kvd].to_vec()).collect();
    let v: Vec<f32> = (0..nt).flat_map(|i| row(i)[qd + kvd..].to_vec()).collect();
    reference::rope(&mut q, true, nt, nh, hd, hd, pos0, 10_000.0, 1.0, None);
    reference::rope(&mut k, true, nt, nkv, hd, hd, pos0, 10_000.0, 1.0, None);
    let mut k_all = k_hist[..pos0 * kvd].to_vec();
    k_all.extend(kv_round(kv, k));
    let mut v_all = v_hist[..pos0 * kvd].to_vec();
    v_all.extend(kv_round(kv, v));
    let want = reference::attention(&q, &k_all, &v_all, nt, nh, nkv, hd, pos0, 0, 0.125, 0.0);
    let shape = format!("f16 cache, tokens {nt} at {pos0} heads {nh}/{nkv} dim {hd}");
    out.close("qk_rope+attention", None, &shape, &got[0], &want, OUTPUT_BUDGET);
    Ok(())
}

/// `x` as a cache of `kv` holds it.
fn kv_round(kv: KvType, x: Vec<f32>) -> Vec<f32> {
    match kv {
        KvType::F32 => x,
        KvType::F16 => x.into_iter().map(|v| half::f16::from_f32(v).to_f32()).collect(),
    }
}

/// A K cache (`[K, cap]`, position fastest, K = kv heads × head_dim) or a V cache (`[cap, K]`)
/// given as f32 values, in the GPU layout of `kv` (kv/f16.wgsl: a word per pair of dimensions).
fn cache_buffer(t: &SelfTest<'_>, kv: KvType, vals: &[f32], is_k: bool, cap: usize) -> Result<OwnedBuffer> {
    if kv == KvType::F32 {
        return t.f32_buffer(vals);
    }
    let bits = |v: f32| half::f16::from_f32(v).to_bits() as u32;
    let word = |lo: usize, hi: usize| bits(vals[lo]) | (bits(vals[hi]) << 16);
    let words: Vec<u32> = (0..vals.len() / 2)
        .map(|w| {
            let (lo, hi) = pair_of(w, is_k, cap);
            word(lo, hi)
        })
        .collect();
    t.u32_buffer(&words)
}

/// A cache read back (as f32 words) in the f32 layout.
fn read_cache(kv: KvType, words: &[f32], n: usize, is_k: bool, cap: usize) -> Vec<f32> {
    if kv == KvType::F32 {
        return words.to_vec();
    }
    let mut out = vec![0.0; n];
    for (w, word) in words.iter().enumerate() {
        let bits = word.to_bits();
        let (lo, hi) = pair_of(w, is_k, cap);
        out[lo] = half::f16::from_bits(bits as u16).to_f32();
        out[hi] = half::f16::from_bits((bits >> 16) as u16).to_f32();
    }
    out
}

/// The f32-layout indices of f16 cache word `w`: dimensions 2i and 2i + 1 of one position.
fn pair_of(w: usize, is_k: bool, cap: usize) -> (usize, usize) {
    if is_k {
        // K, position fastest: word (i, j) holds rows 2i and 2i + 1 at position j.
        let (i, j) = (w / cap, w % cap);
        (2 * i * cap + j, (2 * i + 1) * cap + j)
    } else {
        (2 * w, 2 * w + 1)
    }
}
