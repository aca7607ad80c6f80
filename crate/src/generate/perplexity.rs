//! Perplexity, computed exactly as llama.cpp's `llama-perplexity` does, so the figures compare
//! directly: the text is tokenized once with BOS; it is cut into chunks of `ctx_size` tokens
//! whose first token is replaced by BOS; each chunk is evaluated from an empty cache and the
//! second half of its positions is scored (position j predicts token j + 1, for
//! `ctx_size/2 ≤ j < ctx_size - 1`). Log-softmax runs on the GPU: only one float per scored
//! position is read back.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::generate::engine::Engine;
use crate::generate::session::{Session, SessionOptions};
use crate::kernels::KvType;
use crate::model::{LogitRows, Model};

/// How to cut the text: llama-perplexity's `-c` and `--chunks`.
#[derive(Clone, Copy, Debug)]
pub struct PerplexityOptions {
    pub ctx_size: u32,
    /// Evaluate at most this many chunks (`None`: every whole chunk of the text).
    pub max_chunks: Option<usize>,
    /// The K/V cache type (`-ctk`/`-ctv` in llama.cpp).
    pub kv_type: KvType,
}

impl PerplexityOptions {
    pub fn new(ctx_size: u32) -> Self {
        PerplexityOptions { ctx_size, max_chunks: None, kv_type: KvType::default() }
    }
}

#[derive(Clone, Debug)]
pub struct PerplexityResult {
    pub ppl: f64,
    /// llama.cpp's "+/-" figure: the standard error of the estimate.
    pub ppl_error: f64,
    /// Tokens in the whole text (with BOS).
    pub tokens: usize,
    pub chunks: usize,
    /// The running estimate after each chunk (llama.cpp's `[1]x,[2]y,…`).
    pub running: Vec<f64>,
    pub seconds: f64,
}

/// Perplexity of `tokens` (already tokenized, with BOS) in chunks of `ctx_size`.
/// `on_chunk(i, running_ppl)` reports progress.
pub async fn perplexity_of_tokens(
    engine: &Engine,
    model: &Arc<Model>,
    tokens: &[u32],
    opts: PerplexityOptions,
    on_chunk: &mut dyn FnMut(usize, f64),
) -> Result<PerplexityResult> {
    let t0 = web_time::Instant::now();
    let ctx_size = opts.ctx_size;
    let n_ctx = ctx_size as usize;
    if n_ctx < 4 || tokens.len() < 2 * n_ctx {
        return Err(Error::InvalidArgument(format!(
            "perplexity with a context of {n_ctx} needs at least {} tokens; the text has {}",
            2 * n_ctx,
            tokens.len()
        )));
    }
    let n_chunks = (tokens.len() / n_ctx).min(opts.max_chunks.unwrap_or(usize::MAX));
    let first = n_ctx / 2;
    let scored = n_ctx - first - 1;
    let mut session = Session::new(
        engine,
        model.clone(),
        SessionOptions {
            ctx_size,
            max_batch: ctx_size.min(512),
            kv_type: opts.kv_type,
            ..Default::default()
        },
    )?;
    let ctx = engine.ctx.clone();
    let nll_buf = ctx.storage_buffer("nll", n_ctx as u64 * 4)?;
    let targets_buf = ctx.storage_buffer("targets", n_ctx as u64 * 4)?;
    // The targets and results of one LM-head slice (nll works on whole buffers).
    let max_rows = session.max_logit_rows() as usize;
    let slice_targets = ctx.storage_buffer("slice targets", max_rows as u64 * 4)?;
    let slice_nll = ctx.storage_buffer("slice nll", max_rows as u64 * 4)?;
    let bos = model.tokenizer.bos();
    let (mut nll, mut nll2, mut count) = (0f64, 0f64, 0usize);
    let mut running = Vec::new();
    for c in 0..n_chunks {
        let mut chunk = tokens[c * n_ctx..(c + 1) * n_ctx].to_vec();
        if let (true, Some(bos)) = (model.tokenizer.add_bos(), bos) {
            chunk[0] = bos;
        }
        // targets[j] = the token that position j predicts.
        let mut targets = chunk[1..].to_vec();
        targets.push(0);
        ctx.queue.write_buffer(&targets_buf, 0, bytemuck::cast_slice(&targets));
        session.reset();
        let n_vocab = model.hp.n_vocab;
        session.feed(&chunk, &mut |b, bufs, start, n| {
            // Score the rows of this batch that fall in [first, n_ctx - 1).
            let lo = start.max(first);
            let hi = (start + n as usize).min(n_ctx - 1);
            let mut j = lo;
            while j < hi {
                let count = (hi - j).min(max_rows) as u32;
                bufs.encode_logits(b, model, LogitRows { first: (j - start) as u32, count });
                let bytes = count as u64 * 4;
                b.copy_buffer(&targets_buf, j as u64 * 4, &slice_targets, 0, bytes);
                b.nll(&bufs.logits, &slice_targets, &slice_nll, count, n_vocab);
                b.copy_buffer(&slice_nll, 0, &nll_buf, j as u64 * 4, bytes);
                j += count as usize;
            }
            Ok(())
        })?;
        let values = ctx.read_f32(&nll_buf, first as u64, scored as u64).await?;
        for v in values {
            let v = v as f64;
            if !v.is_finite() {
                return Err(Error::Numerical(format!(
                    "non-finite log-likelihood in chunk {c}: the model's weights hold NaN or inf, or \
                     its activations overflowed"
                )));
            }
            if v < 0.0 {
                return Err(Error::Gpu(format!("negative log-likelihood {v} in chunk {c}")));
            }
            nll += v;
            nll2 += v * v;
        }
        count += scored;
        let ppl = (nll / count as f64).exp();
        running.push(ppl);
        on_chunk(c, ppl);
    }
    let mean = nll / count as f64;
    let var = nll2 / count as f64 - mean * mean;
    let ppl = mean.exp();
    let ppl_error = if var > 0.0 { (var / (count as f64 - 1.0)).sqrt() * ppl } else { 0.0 };
    Ok(PerplexityResult {
        ppl,
        ppl_error,
        tokens: tokens.len(),
        chunks: n_chunks,
        running,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Perplexity of `text`, tokenized as llama.cpp's perplexity tool does (BOS, no special tokens).
pub async fn perplexity(
    engine: &Engine,
    model: &Arc<Model>,
    text: &str,
    opts: PerplexityOptions,
    on_chunk: &mut dyn FnMut(usize, f64),
) -> Result<PerplexityResult> {
    let tokens = model.tokenizer.encode(text, model.tokenizer.add_bos(), false);
    perplexity_of_tokens(engine, model, &tokens, opts, on_chunk).await
}
