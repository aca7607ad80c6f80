//! Attention over a K/V cache filled as the model fills it, against `reference::attention`.

use super::{Checks, Rng, SelfTest};
use crate::error::Result;
use crate::gpu::OwnedBuffer;
use crate::kernels::{AttentionArgs, KvType};
use crate::reference::kernels as reference;

/// Scores are f32 dot products (relative error ~ sqrt(hd) · 2^-24), exp/softmax in f32 and an
/// f32 weighted sum of up to 4096 values: 1e-4 of the output scale covers it with margin, while
/// a wrong mask or head mapping changes outputs by order 0.1.
const BUDGET: f64 = 1e-4;

/// GQA groups of 4, 2 and 1 heads, with and without a sliding window, decode and prefill
/// chunks at several positions, head dims 64 and 40.
pub(super) async fn short(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let mut cases = Vec::new();
    for (n_head, n_kv_head) in [(4u32, 1u32), (4, 2), (4, 4)] {
        for window in [0u32, 5] {
            for (n_tokens, pos0) in [(1u32, 0u32), (3, 0), (17, 9), (1, 70)] {
                for head_dim in [64u32, 40] {
                    let scale = 1.0 / (head_dim as f32).sqrt();
                    let a = AttentionArgs {
                        n_tokens,
                        n_head,
                        n_kv_head,
                        head_dim,
                        pos0,
                        window,
                        scale,
                        ..Default::default()
                    };
                    cases.push(a);
                }
            }
        }
    }
    run(t, out, &mut Rng(12), &cases).await
}

/// gemma-3's heads (4 heads, 1 kv head, head dim 256): decode at position 4095 (4096 keys), a
/// sliding window of 512, a prefill chunk, queries read from rows that also hold keys and
/// values (the model's qkv buffer), and soft-capped scores (Gemma 2) with logits large enough
/// for the cap to matter.
pub(super) async fn long(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let base = AttentionArgs { n_head: 4, n_kv_head: 1, head_dim: 256, scale: 0.0625, ..Default::default() };
    let cases = [
        AttentionArgs { n_tokens: 1, pos0: 4095, ..base },
        AttentionArgs { n_tokens: 2, pos0: 1000, window: 512, ..base },
        AttentionArgs { n_tokens: 64, pos0: 0, ..base },
        AttentionArgs { n_tokens: 3, pos0: 6, q_stride: 4 * 256 + 2 * 256, ..base },
        AttentionArgs { n_tokens: 5, pos0: 3, scale: 1.0, softcap: 2.0, ..base },
    ];
    run(t, out, &mut Rng(13), &cases).await
}

/// The largest prefill batch, 2048 tokens from position 0, on small heads (2 heads sharing a
/// kv head, dim 32) to keep the f64 reference quick: causal, and in a window of 512.
pub(super) async fn batch_2048(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let base = AttentionArgs {
        n_tokens: 2048,
        n_head: 2,
        n_kv_head: 1,
        head_dim: 32,
        scale: 0.18,
        ..Default::default()
    };
    run(t, out, &mut Rng(15), &[base, AttentionArgs { window: 512, ..base }]).await
}

/// One attention call's inputs and output buffer.
struct Case {
    a: AttentionArgs,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    out: OwnedBuffer,
    /// The input buffers the call binds: they must live until the batch is submitted.
    _inputs: [OwnedBuffer; 5],
}

/// The attention calls of `cases` (`k_capacity` is set here) in one batch, each against the
/// reference.
async fn run(t: &SelfTest<'_>, out: &mut Checks, rng: &mut Rng, cases: &[AttentionArgs]) -> Result<()> {
    let mut batch = t.batch();
    let mut recorded = Vec::new();
    for &a in cases {
        recorded.push(record(t, &mut batch, rng, a)?);
    }
    batch.submit()?;
    let n = |c: &Case| (c.a.n_tokens * c.a.n_head * c.a.head_dim) as usize;
    let got = t.read(&recorded.iter().map(|c| (&*c.out, n(c))).collect::<Vec<_>>()).await?;
    for (c, got) in recorded.iter().zip(&got) {
        let a = &c.a;
        let (nt, nh, nkv, hd) =
            (a.n_tokens as usize, a.n_head as usize, a.n_kv_head as usize, a.head_dim as usize);
        let (pos0, window) = (a.pos0 as usize, a.window as usize);
        let want = reference::attention(&c.q, &c.k, &c.v, nt, nh, nkv, hd, pos0, window, a.scale, a.softcap);
        let shape = format!(
            "tokens {nt} at {pos0} heads {nh}/{nkv} dim {hd} window {window} scale {} softcap {} q_stride {}",
            a.scale, a.softcap, a.q_stride
        );
        out.close("attention", None, &shape, got, &want, BUDGET);
    }
    Ok(())
}

fn record(
    t: &SelfTest<'_>,
    batch: &mut crate::kernels::Batch,
    rng: &mut Rng,
    a: AttentionArgs,
) -> Result<Case> {
    let (nt, nh, nkv, hd) =
        (a.n_tokens as usize, a.n_head as usize, a.n_kv_head as usize, a.head_dim as usize);
    let kv_len = a.pos0 as usize + nt;
    let capacity = kv_len + 3; // the cache holds more rows than are filled
                               // An f32 cache, filled here by transposing row copies (the f16 one: attention_decode.rs).
    let a = AttentionArgs { k_capacity: capacity as u32, kv: KvType::F32, ..a };
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
    let (qb, vb, ob) = (t.f32_buffer(&q_in)?, t.f32_buffer(&v)?, t.zeros(nt * nh * hd)?);
    // The K cache is position-fastest, filled as the model fills it: by transposing row copies
    // of the earlier positions and then of this chunk, over garbage.
    let kb = t.f32_buffer(&rng.vec(capacity * nkv * hd, -9.0, 9.0))?;
    let (row, pos0) = (nkv * hd, a.pos0 as usize);
    let (k_old, k_new) = (t.f32_buffer(&k[..pos0.max(1) * row])?, t.f32_buffer(&k[pos0 * row..])?);
    batch.copy_rows_transposed(&k_old, &kb, 0, a.pos0, row as u32, capacity as u32);
    batch.copy_rows_transposed(&k_new, &kb, a.pos0, a.n_tokens, row as u32, capacity as u32);
    batch.attention(&qb, &kb, &vb, &ob, &a);
    Ok(Case { a, q, k, v, out: ob, _inputs: [qb, vb, kb, k_old, k_new] })
}
