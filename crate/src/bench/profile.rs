//! `brasa bench --profile`: which kernel takes what share of a token's GPU time, from
//! per-dispatch timestamps (`kernels::Profiler`), for decode and for prefill.
//!
//! Decode: the forward pass of one token (all layers and the LM head, as a decode step records
//! them; sampling is one more small dispatch, not included) runs `steps` times after the cache
//! was filled to `depth` tokens. Prefill: a prompt from an empty cache in batches of
//! [`FILL_BATCH`] (as a session prefills by default), then the LM head of its last token.
//! Each dispatch's time is grouped by its pipeline (kernel family, block type, variant), so the
//! LM head (a plain mat-vec over the embedding's type) and the layers' mat-vecs (normed-input or
//! GLU variants) show apart.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Result;
use crate::generate::Engine;
use crate::kernels::{KvType, Profiler};
use crate::model::{ForwardBuffers, LogitRows, Model};

/// Prefill batch: filling the cache before profiling decode, and the profiled prefill
/// (`SessionOptions::max_batch`'s default).
const FILL_BATCH: u32 = 256;

/// One pipeline's share of a decoded token.
#[derive(Clone, Debug, Serialize)]
pub struct KernelTime {
    /// The pipeline's label (e.g. `matvec_Q8_0_sg`, `attention_decode_norm_sg_kv16`).
    pub kernel: String,
    pub dispatches_per_token: f64,
    pub us_per_token: f64,
    /// Of the token's summed dispatch times.
    pub share: f64,
}

/// The profile of decoding at one depth, or of one prefill.
#[derive(Clone, Debug, Serialize)]
pub struct ProfileReport {
    /// Tokens in the cache before the profiled work (0 for prefill).
    pub depth: u32,
    /// Decoded tokens, or 1 prefill.
    pub steps: u32,
    /// Tokens per step: 1 for decode, the prompt's length for prefill. The per-token figures
    /// divide by steps × batch.
    pub batch: u32,
    /// Sum of the dispatch times of a token (mean over the steps).
    pub gpu_us_per_token: f64,
    /// Largest share first.
    pub kernels: Vec<KernelTime>,
}

/// Profiles `steps` decoded tokens after `depth` cached ones (`tokens` supplies the ids; it
/// needs `depth + steps` of them).
pub async fn decode_profile(
    engine: &Engine,
    model: &Model,
    tokens: &[u32],
    depth: u32,
    steps: u32,
    kv_type: KvType,
) -> Result<ProfileReport> {
    let ctx = &engine.ctx;
    let needed = (depth + steps) as usize;
    if tokens.len() < needed || steps == 0 {
        return Err(crate::Error::InvalidArgument(format!(
            "profile: {needed} token ids needed, {} given (steps {steps})",
            tokens.len()
        )));
    }
    let bufs = ForwardBuffers::new(ctx, &model.hp, depth + steps + 1, kv_type, FILL_BATCH, 1)?;
    // Fill the cache.
    for (i, chunk) in tokens[..depth as usize].chunks(FILL_BATCH as usize).enumerate() {
        ctx.write_buffer(&bufs.tokens, 0, bytemuck::cast_slice(chunk))?;
        let mut b = engine.kernels.batch(ctx);
        bufs.encode_layers(&mut b, model, chunk.len() as u32, i as u32 * FILL_BATCH);
        b.submit()?;
    }
    let mut profiler = Profiler::new(ctx, 4095)?;
    let mut totals = Totals::new();
    for step in 0..steps {
        let pos = depth + step;
        ctx.write_buffer(&bufs.tokens, 0, bytemuck::bytes_of(&tokens[pos as usize]))?;
        let mut b = engine.kernels.batch(ctx).profile(&mut profiler);
        bufs.encode_layers(&mut b, model, 1, pos);
        bufs.encode_logits(&mut b, model, LogitRows { first: 0, count: 1 });
        b.submit()?;
        totals.add(profiler.read(ctx).await?);
    }
    Ok(report(totals, depth, steps, 1))
}

/// Profiles the prefill of `tokens` from an empty cache, in batches of [`FILL_BATCH`], and the
/// LM head of the last token.
pub async fn prefill_profile(
    engine: &Engine,
    model: &Model,
    tokens: &[u32],
    kv_type: KvType,
) -> Result<ProfileReport> {
    let ctx = &engine.ctx;
    let n = tokens.len() as u32;
    if n == 0 {
        return Err(crate::Error::InvalidArgument("profile: no prompt tokens".into()));
    }
    let bufs = ForwardBuffers::new(ctx, &model.hp, n + 1, kv_type, FILL_BATCH, 1)?;
    let mut profiler = Profiler::new(ctx, 4095)?;
    let mut totals = Totals::new();
    let last_chunk = (n - 1) / FILL_BATCH; // n > 0
    for (i, chunk) in tokens.chunks(FILL_BATCH as usize).enumerate() {
        ctx.write_buffer(&bufs.tokens, 0, bytemuck::cast_slice(chunk))?;
        let mut b = engine.kernels.batch(ctx).profile(&mut profiler);
        bufs.encode_layers(&mut b, model, chunk.len() as u32, i as u32 * FILL_BATCH);
        if i as u32 == last_chunk {
            let last = chunk.len() as u32 - 1;
            bufs.encode_logits(&mut b, model, LogitRows { first: last, count: 1 });
        }
        b.submit()?;
        totals.add(profiler.read(ctx).await?);
    }
    Ok(report(totals, 0, 1, n))
}

/// Dispatch count and summed nanoseconds per pipeline label.
struct Totals(BTreeMap<String, (u64, f64)>);

impl Totals {
    fn new() -> Self {
        Totals(BTreeMap::new())
    }

    fn add(&mut self, times: Vec<crate::kernels::DispatchTime>) {
        for t in times {
            let e = self.0.entry(t.key.label()).or_default();
            e.0 += 1;
            e.1 += t.nanos;
        }
    }
}

/// The shares of `totals`, per token of `steps` × `batch`.
fn report(totals: Totals, depth: u32, steps: u32, batch: u32) -> ProfileReport {
    let totals = totals.0;
    let total_ns: f64 = totals.values().map(|(_, ns)| ns).sum();
    let per_token = |x: f64| x / (steps as f64 * batch as f64);
    let mut kernels: Vec<KernelTime> = totals
        .into_iter()
        .map(|(kernel, (n, ns))| KernelTime {
            kernel,
            dispatches_per_token: per_token(n as f64),
            us_per_token: per_token(ns) / 1e3,
            share: if total_ns > 0.0 { ns / total_ns } else { 0.0 },
        })
        .collect();
    kernels.sort_by(|a, b| b.us_per_token.total_cmp(&a.us_per_token));
    ProfileReport { depth, steps, batch, gpu_us_per_token: per_token(total_ns) / 1e3, kernels }
}
