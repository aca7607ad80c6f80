//! A session: one conversation's K/V cache and what it holds, and the calls that generate from
//! it. The generation loop is in [`decode`]; chat prompts (a conversation through the model's
//! template) in [`chat`].
//!
//! When the context is full, a session stops (`FinishReason::ContextFull`, or
//! `Error::ContextFull` for a prompt that does not fit) unless its options opt in to sliding
//! ([`ContextOverflow::Slide`]): then the first `keep` tokens (BOS and the system prompt) stay,
//! the oldest half of the rest is dropped, and the kept tokens are evaluated again from
//! position 0 (one prefill per shift: exact attention over the new window, unlike shifting
//! cached keys by re-rotating them).

mod chat;
mod decode;

use std::sync::Arc;

use web_time::Instant;

use crate::error::{Error, Result};
use crate::generate::engine::Engine;
use crate::generate::penalties;
use crate::generate::sampler::GenParams;
use crate::generate::stats::{GenStats, TokenLogprobs};
use crate::gpu::OwnedBuffer;
use crate::kernels::{logprob_words, BindGroupCache, KvType, MAX_TOP_LOGPROBS};
use crate::model::{ForwardBuffers, LogitRows, Model};

/// What a generation hands its caller as it goes: the next piece of text, and the
/// log-probabilities of the tokens read since the previous piece (empty unless
/// [`GenParams::logprobs`]; a token whose text is held back, e.g. as the possible start of a stop
/// string, comes with the piece that shows it). Returning false stops the generation.
pub type OnPiece<'a> = dyn FnMut(&str, &[TokenLogprobs]) -> bool + 'a;

#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// K/V cache capacity in tokens.
    pub ctx_size: u32,
    /// Most tokens per forward call during prefill.
    pub max_batch: u32,
    /// What happens when the context is full.
    pub overflow: ContextOverflow,
    /// How the K/V cache stores keys and values: f16 by default (half the memory; llama.cpp's
    /// default too), f32 for exact agreement with an f32 reference.
    pub kv_type: KvType,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            ctx_size: 4096,
            max_batch: 256,
            overflow: ContextOverflow::Stop,
            kv_type: KvType::default(),
        }
    }
}

/// What a session does when the next token does not fit in the context.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ContextOverflow {
    /// Generation ends with [`FinishReason::ContextFull`]; a prompt that does not fit is an
    /// [`Error::ContextFull`].
    #[default]
    Stop,
    /// Drop the oldest half of the tokens after the kept prefix and go on. `keep`: tokens at
    /// the start that always stay; `None`: BOS, or for [`Session::chat`] the system prompt.
    Slide { keep: Option<u32> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// An end-of-generation token or a stop string.
    Stop,
    /// `max_tokens` reached.
    Length,
    /// The context is full.
    ContextFull,
    /// The caller's callback asked to stop.
    Cancelled,
}

pub struct Session {
    engine: Engine,
    model: Arc<Model>,
    /// What the session was made with (a fork is made alike).
    opts: SessionOptions,
    bufs: ForwardBuffers,
    /// Tokens whose keys and values are in the cache.
    n_past: u32,
    /// Those tokens (`history.len() == n_past`), to evaluate again after a context shift.
    history: Vec<u32>,
    overflow: ContextOverflow,
    /// Tokens at the start a context shift keeps when `overflow` does not say (BOS, system prompt).
    auto_keep: u32,
    /// Two MAP_READ slots: each decode step copies its sampled token into one, followed by its
    /// log-probabilities when asked (`READBACK_BYTES`).
    readback: [OwnedBuffer; 2],
    /// The logprobs kernel's output (`u32 [logprob_words(MAX_TOP_LOGPROBS)]`).
    logprobs_out: OwnedBuffer,
    /// `u32 [MAX_PENALTY_WINDOW]`: recent token ids for the repetition penalties.
    recent: OwnedBuffer,
    bind_groups: BindGroupCache,
}

impl Session {
    pub fn new(engine: &Engine, model: Arc<Model>, opts: SessionOptions) -> Result<Self> {
        if opts.ctx_size == 0 || opts.max_batch == 0 {
            return Err(Error::InvalidArgument("ctx_size and max_batch must be positive".into()));
        }
        let max_batch = opts.max_batch.min(opts.ctx_size);
        let bufs = ForwardBuffers::new(&engine.ctx, &model.hp, opts.ctx_size, opts.kv_type, max_batch, 16)?;
        let slot = |label| {
            let usage = wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST;
            engine.ctx.create_buffer(label, READBACK_BYTES, usage)
        };
        let readback = [slot("sampled token 0")?, slot("sampled token 1")?];
        let logprobs_out = engine.ctx.storage_buffer("logprobs", LOGPROBS_BYTES)?;
        Ok(Session {
            engine: engine.clone(),
            model,
            opts: SessionOptions { max_batch, ..opts },
            bufs,
            n_past: 0,
            history: Vec::new(),
            overflow: opts.overflow,
            auto_keep: 0,
            readback,
            logprobs_out,
            recent: penalties::ring_buffer(&engine.ctx)?,
            bind_groups: BindGroupCache::new(),
        })
    }

    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// Tokens in the cache.
    pub fn n_past(&self) -> u32 {
        self.n_past
    }

    /// Rows the LM head computes per call.
    pub fn max_logit_rows(&self) -> u32 {
        self.bufs.max_logit_rows
    }

    pub fn ctx_size(&self) -> u32 {
        self.bufs.ctx_size
    }

    /// The tokens in the cache, in order.
    pub fn history(&self) -> &[u32] {
        &self.history
    }

    /// A new session with a copy of this one's K/V cache and history (a GPU copy, no
    /// evaluation): both go on from the same state independently, e.g. two branches of one
    /// conversation. It costs a second K/V cache.
    pub fn fork(&self) -> Result<Session> {
        let mut copy = Session::new(&self.engine, self.model.clone(), self.opts.clone())?;
        let ctx = &self.engine.ctx;
        let mut encoder =
            ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("fork") });
        copy.bufs.copy_cache_from(&mut encoder, &self.bufs, self.n_past);
        ctx.queue.submit([encoder.finish()]);
        ctx.check()?;
        copy.n_past = self.n_past;
        copy.history = self.history.clone();
        copy.auto_keep = self.auto_keep;
        Ok(copy)
    }

    /// Forgets the conversation (the cache is overwritten from position 0).
    pub fn reset(&mut self) {
        self.n_past = 0;
        self.history.clear();
        self.auto_keep = 0;
    }

    /// Makes room for `n` more tokens: nothing when they fit; with [`ContextOverflow::Slide`],
    /// drops the oldest tokens after the kept prefix (at least half of them, more if `n` needs
    /// it) and evaluates the rest again from position 0. Returns whether it shifted.
    fn make_room(&mut self, n: usize) -> Result<bool> {
        let (n_past, capacity) = (self.n_past as usize, self.bufs.ctx_size as usize);
        let ContextOverflow::Slide { keep } = self.overflow else {
            self.check_room(n)?;
            return Ok(false);
        };
        if n_past + n <= capacity {
            return Ok(false);
        }
        let keep = (keep.unwrap_or(self.auto_keep) as usize).min(n_past);
        let movable = n_past - keep;
        let drop = (movable / 2).max(n_past + n - capacity);
        if drop > movable || keep + (movable - drop) + n > capacity || drop == 0 {
            return Err(Error::ContextFull { needed: keep + n, capacity });
        }
        let mut kept = std::mem::take(&mut self.history);
        kept.drain(keep..keep + drop);
        self.n_past = 0;
        self.feed(&kept, &mut |_, _, _, _| Ok(()))?;
        Ok(true)
    }

    fn check_room(&self, n: usize) -> Result<()> {
        let needed = self.n_past as usize + n;
        if needed > self.bufs.ctx_size as usize {
            return Err(Error::ContextFull { needed, capacity: self.bufs.ctx_size as usize });
        }
        Ok(())
    }

    /// Runs `tokens` through the model at the next positions, in batches of at most
    /// `max_batch`. For each batch, `per_batch(batch, first_token_index, n)` may record more work
    /// (e.g. the LM head on some rows) into the same command buffer. Returns the last batch's
    /// submission.
    pub fn feed(
        &mut self,
        tokens: &[u32],
        per_batch: &mut dyn FnMut(&mut crate::kernels::Batch, &ForwardBuffers, usize, u32) -> Result<()>,
    ) -> Result<Option<wgpu::SubmissionIndex>> {
        self.check_room(tokens.len())?;
        let vocab = self.model.hp.n_vocab;
        if let Some(bad) = tokens.iter().find(|t| **t >= vocab) {
            return Err(Error::InvalidArgument(format!(
                "token id {bad} is outside the vocabulary ({vocab})"
            )));
        }
        let mut submission = None;
        for (i, chunk) in tokens.chunks(self.bufs.max_tokens as usize).enumerate() {
            let n = chunk.len() as u32;
            let ctx = &self.engine.ctx;
            ctx.queue.write_buffer(&self.bufs.tokens, 0, bytemuck::cast_slice(chunk));
            let mut b = self.engine.kernels.batch(ctx).reuse_bind_groups(&mut self.bind_groups);
            self.bufs.encode_layers(&mut b, &self.model, n, self.n_past);
            per_batch(&mut b, &self.bufs, i * self.bufs.max_tokens as usize, n)?;
            submission = b.submit()?.index;
            self.n_past += n;
            self.history.extend_from_slice(chunk);
        }
        Ok(submission)
    }

    /// Logits of every position of `tokens` (fed at the next positions), read back to the host.
    /// For tests and inspection: generation never reads logits back.
    pub async fn logits(&mut self, tokens: &[u32]) -> Result<Vec<Vec<f32>>> {
        let n_vocab = self.model.hp.n_vocab as u64;
        let mut out = Vec::with_capacity(tokens.len());
        let step = self.bufs.max_logit_rows as usize;
        for chunk in tokens.chunks(self.bufs.max_tokens as usize) {
            self.feed(chunk, &mut |_, _, _, _| Ok(()))?;
            for first in (0..chunk.len()).step_by(step) {
                let count = step.min(chunk.len() - first) as u32;
                let mut b = self.engine.kernels.batch(&self.engine.ctx);
                self.bufs.encode_logits(&mut b, &self.model, LogitRows { first: first as u32, count });
                b.submit()?;
                let flat = self.engine.ctx.read_f32(&self.bufs.logits, 0, count as u64 * n_vocab).await?;
                out.extend(flat.chunks(n_vocab as usize).map(|r| r.to_vec()));
            }
        }
        Ok(out)
    }

    /// Generates a continuation of `prompt` (tokenized with BOS when the session is empty),
    /// calling `on_text` with each new piece of text; `on_text` returns false to stop.
    pub async fn generate(
        &mut self,
        prompt: &str,
        params: &GenParams,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<GenStats> {
        self.generate_streamed(prompt, params, &mut |text, _| on_text(text)).await
    }

    /// As [`Self::generate`], handing each piece its tokens' log-probabilities too ([`OnPiece`]).
    pub async fn generate_streamed(
        &mut self,
        prompt: &str,
        params: &GenParams,
        on_piece: &mut OnPiece<'_>,
    ) -> Result<GenStats> {
        let t0 = Instant::now();
        let tok = &self.model.tokenizer;
        let (prompt_ids, _) = encode_prompt(tok, prompt, self.n_past == 0);
        if self.n_past == 0 {
            // A context shift keeps BOS at least.
            self.auto_keep = u32::from(tok.bos().is_some_and(|b| prompt_ids.first() == Some(&b)));
        }
        self.generate_from(&prompt_ids, 0, params, t0, on_piece).await
    }

    /// As [`Self::generate`] for a prompt already tokenized (BOS included when wanted), e.g. the
    /// same token ids fed to every runtime by a benchmark.
    pub async fn generate_ids(
        &mut self,
        prompt_ids: &[u32],
        params: &GenParams,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<GenStats> {
        self.generate_from(prompt_ids, 0, params, Instant::now(), &mut |text, _| on_text(text)).await
    }

    /// Keeps the cache's longest prefix that `ids` starts with (all but `ids`' last token at
    /// most: the last one must be fed to get its logits) and returns its length.
    fn reuse_prefix(&mut self, ids: &[u32]) -> usize {
        let same = self.history.iter().zip(ids).take_while(|(a, b)| a == b).count();
        let same = same.min(ids.len().saturating_sub(1));
        self.history.truncate(same);
        self.n_past = same as u32;
        same
    }

    /// Bind groups reused instead of created since the session began.
    pub fn bind_groups_reused(&self) -> u64 {
        self.bind_groups.hits()
    }
}

/// Bytes of a readback slot: the sampled token, then its log-probabilities (at most).
pub(crate) const READBACK_BYTES: u64 = 4 + LOGPROBS_BYTES;
/// Bytes of the logprobs kernel's output.
pub(crate) const LOGPROBS_BYTES: u64 = logprob_words(MAX_TOP_LOGPROBS) as u64 * 4;

/// `prompt`'s token ids, with BOS first when the model adds one, the prompt goes `at_start` of
/// the context and does not already start with BOS's text (chat templates often print it);
/// also whether BOS was added.
fn encode_prompt(tok: &crate::tokenizer::Tokenizer, prompt: &str, at_start: bool) -> (Vec<u32>, bool) {
    let bos_text = tok.bos().and_then(|b| tok.vocab().text(b)).filter(|t| !t.is_empty());
    let add_bos = tok.add_bos() && at_start && !bos_text.is_some_and(|b| prompt.starts_with(b));
    (tok.encode(prompt, add_bos, true), add_bos)
}
