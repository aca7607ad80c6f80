//! A session: one conversation's K/V cache and the generation loop.
//!
//! Decode keeps tokens on the GPU: the sampler writes the chosen id into `tokens[0]`, which the
//! next step's embedding lookup reads, so the host only reads back 4 bytes per token.
//!
//! Decode is pipelined: step t + 1 (which feeds token t straight from `tokens[0]`) is encoded
//! and submitted *before* token t is read back, so the GPU computes while the host waits for
//! the readback, detokenizes and checks stop conditions. When token t ends the generation, the
//! step already in flight is simply not counted: it wrote the K/V of position `n_past`, which
//! the next call overwrites. Two readback slots alternate between the step being read and the
//! step in flight. Bind groups are cached per session ([`BindGroupCache`]), so a steady decode
//! creates neither buffers nor bind groups.
//!
//! When the context is full, a session stops (`FinishReason::ContextFull`, or
//! `Error::ContextFull` for a prompt that does not fit) unless its options opt in to sliding
//! ([`ContextOverflow::Slide`]): then the first `keep` tokens (BOS and the system prompt) stay,
//! the oldest half of the rest is dropped, and the kept tokens are evaluated again from
//! position 0 (one prefill per shift: exact attention over the new window, unlike shifting
//! cached keys by re-rotating them).

use std::sync::Arc;

use web_time::Instant;

use crate::error::{Error, Result};
use crate::generate::engine::Engine;
use crate::generate::penalties::{self, PenaltyState};
use crate::generate::sampler::{GenParams, Sampler};
use crate::generate::stats::TokenLogprobs;
use crate::generate::stats::{DecodeMeter, GenStats};
use crate::gpu::OwnedBuffer;
use crate::kernels::{logprob_words, BindGroupCache, KvType, MAX_TOP_LOGPROBS};
use crate::model::{ForwardBuffers, LogitRows, Model};
use crate::tokenizer::Detokenizer;

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

/// A step submitted but not read back yet: its sampled token is being copied into
/// `readback[slot]` by submission `submission`.
struct Pending {
    slot: usize,
    submission: Option<wgpu::SubmissionIndex>,
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

    /// Generates the assistant's reply to `messages` (the whole conversation), rendered with the
    /// model's chat template; generation stops at the template's end-of-turn token (the
    /// tokenizer's end-of-generation set holds them). The cache keeps the longest token prefix the
    /// new prompt shares with what it holds, so a follow-up turn evaluates only its new tokens
    /// (`GenStats::cached_tokens`).
    pub async fn chat(
        &mut self,
        messages: &[crate::chat::Message],
        params: &GenParams,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<GenStats> {
        self.chat_streamed(messages, params, &mut |text, _| on_text(text)).await
    }

    /// As [`Self::chat`], handing each piece its tokens' log-probabilities too ([`OnPiece`]).
    pub async fn chat_streamed(
        &mut self,
        messages: &[crate::chat::Message],
        params: &GenParams,
        on_piece: &mut OnPiece<'_>,
    ) -> Result<GenStats> {
        let model = self.model.clone();
        let template = model.chat_template.as_ref().ok_or_else(|| {
            Error::Template("this model's chat template could not be parsed (see the load warning)".into())
        })?;
        let t0 = Instant::now();
        let tok = &model.tokenizer;
        let n_system = messages.iter().take_while(|m| m.role == "system").count();
        // With a sliding context, the oldest turns after the system prompt go until the prompt
        // and a reply's first token fit.
        let slide = matches!(self.overflow, ContextOverflow::Slide { .. });
        let mut dropped = 0;
        let (prompt, prompt_ids, add_bos) = loop {
            let kept: Vec<_> =
                messages[..n_system].iter().chain(&messages[n_system + dropped..]).cloned().collect();
            let prompt = template.render(&kept, true)?;
            let (ids, add_bos) = encode_prompt(tok, &prompt, true);
            if !slide || ids.len() < self.bufs.ctx_size as usize || n_system + dropped + 1 >= messages.len() {
                break (prompt, ids, add_bos);
            }
            dropped += 1;
        };
        let kept: Vec<_> =
            messages[..n_system].iter().chain(&messages[n_system + dropped..]).cloned().collect();
        let keep = self.system_prompt_tokens(template, &kept, &prompt)?;
        let cached = self.reuse_prefix(&prompt_ids);
        self.auto_keep = keep + u32::from(add_bos);
        let mut stats = self.generate_from(&prompt_ids, cached, params, t0, on_piece).await?;
        stats.context_shifts += usize::from(dropped > 0);
        Ok(stats)
    }

    /// How many tokens at the start of `prompt` (the rendered `messages`) a context shift
    /// keeps: those of the leading system messages as the template renders them alone, or,
    /// for templates that fold the system prompt into the first user turn (Gemma), up to the
    /// end of that turn. 0 without a system message.
    fn system_prompt_tokens(
        &self,
        template: &crate::chat::ChatTemplate,
        messages: &[crate::chat::Message],
        prompt: &str,
    ) -> Result<u32> {
        let n_system = messages.iter().take_while(|m| m.role == "system").count();
        if n_system == 0 {
            return Ok(0);
        }
        let mut head = template.render(&messages[..n_system], false)?;
        let system_text = &messages[n_system - 1].content;
        if !head.contains(system_text.as_str()) && n_system < messages.len() {
            head = template.render(&messages[..=n_system], false)?;
        }
        // The shared text prefix, tokenized: the kept tokens are exactly the prompt's first ones.
        let shared = head.bytes().zip(prompt.bytes()).take_while(|(a, b)| a == b).count();
        let shared = prompt.floor_char_boundary(shared);
        let tok = &self.model.tokenizer;
        let full = tok.encode(prompt, false, true);
        let part = tok.encode(&prompt[..shared], false, true);
        let same = full.iter().zip(&part).take_while(|(a, b)| a == b).count();
        Ok(same as u32)
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

    /// The generation loop; times count from `t0` (the call, before any tokenizing). The cache
    /// already holds `prompt_ids[..cached]`; the penalties see the whole prompt.
    async fn generate_from(
        &mut self,
        prompt_ids: &[u32],
        cached: usize,
        params: &GenParams,
        t0: Instant,
        on_piece: &mut OnPiece<'_>,
    ) -> Result<GenStats> {
        params.validate()?;
        if prompt_ids.is_empty() {
            return Err(Error::InvalidArgument("empty prompt".into()));
        }
        let model = self.model.clone();
        let tok = &model.tokenizer;
        let mut sampler = Sampler::new(params);
        let n_vocab = model.hp.n_vocab;
        let mut penalty = PenaltyState::new(&self.engine.ctx, &self.recent, params, prompt_ids, n_vocab)?;
        let new_ids = &prompt_ids[cached..];
        if new_ids.is_empty() {
            return Err(Error::InvalidArgument("nothing to evaluate after the cached prefix".into()));
        }
        let last = new_ids.len() - 1;
        let mut context_shifts = usize::from(self.make_room(new_ids.len())?);
        // Prefill; the batch holding the last prompt token also samples the first new token.
        let slot0 = self.readback[0].clone();
        let lp_out = self.logprobs_out.clone();
        let want_logprobs = sampler.logprobs();
        let mut args = Some(sampler.next_args());
        let submission = self.feed(new_ids, &mut |b, bufs, first, n| {
            if first + n as usize > last {
                let row = (last - first) as u32;
                bufs.encode_logits(b, &model, LogitRows { first: row, count: 1 });
                let a = args.take().expect("one batch holds the last prompt token");
                penalty.sample(b, &bufs.logits, 0, n_vocab, &a, &bufs.tokens, 0);
                copy_result(b, bufs, &lp_out, &slot0, n_vocab, want_logprobs);
            }
            Ok(())
        })?;
        let mut pending = Pending { slot: 0, submission };
        let mut prefill_s = None;
        let mut meter = DecodeMeter::start(&self.engine.ctx);

        let mut detok = Detokenizer::new(tok);
        let mut text = String::new();
        let mut emitted = 0; // bytes of `text` already passed to on_text
        let mut generated = 0;
        let mut ids = Vec::new();
        let mut logprobs = Vec::new();
        let mut logprobs_sent = 0; // of `logprobs`, those handed to on_piece
                                   // Hands on_piece `piece` with the log-probabilities not handed over yet.
        let mut emit = |piece: &str, logprobs: &[TokenLogprobs]| {
            let fresh = &logprobs[logprobs_sent..];
            logprobs_sent = logprobs.len();
            on_piece(piece, fresh)
        };
        let hold = params.stop.iter().map(|s| s.len()).max().unwrap_or(0);
        let finish = loop {
            // Keep the GPU one step ahead: feed the token being read back (already in
            // `tokens[0]`) before knowing it, unless no further step can be needed.
            let more = generated + 1 < params.max_tokens as usize && self.n_past < self.bufs.ctx_size;
            let ahead = if more {
                Some(self.submit_decode_step(1 - pending.slot, &mut sampler, &mut penalty, &mut meter)?)
            } else {
                None
            };
            let (token, token_logprobs) = self.read_token(&pending, want_logprobs).await?;
            logprobs.extend(token_logprobs);
            if prefill_s.is_none() {
                prefill_s = Some(t0.elapsed().as_secs_f64());
                meter.first_token_read();
            }
            generated += 1;
            ids.push(token);
            if tok.is_eog(token) && !params.ignore_eos {
                break FinishReason::Stop;
            }
            text.push_str(&detok.push(token));
            if let Some(cut) = params.stop.iter().filter_map(|s| text.find(s.as_str())).min() {
                text.truncate(cut);
                if cut > emitted && !emit(&text[emitted..], &logprobs) {
                    break FinishReason::Cancelled;
                }
                emitted = text.len();
                break FinishReason::Stop;
            }
            // Hold back text that could be the start of a stop string.
            let safe = text.floor_char_boundary(text.len().saturating_sub(hold.saturating_sub(1)));
            if safe > emitted {
                let keep_going = emit(&text[emitted..safe], &logprobs);
                emitted = safe;
                if !keep_going {
                    break FinishReason::Cancelled;
                }
            }
            if generated >= params.max_tokens as usize {
                break FinishReason::Length;
            }
            let next = match ahead {
                Some(next) => next,
                // The context is full: stop, or shift it and feed `token` after the kept part.
                None if self.overflow == ContextOverflow::Stop => break FinishReason::ContextFull,
                None => match self.make_room(1) {
                    Ok(_) => {
                        context_shifts += 1;
                        self.engine.ctx.queue.write_buffer(&self.bufs.tokens, 0, &token.to_le_bytes());
                        self.submit_decode_step(1 - pending.slot, &mut sampler, &mut penalty, &mut meter)?
                    }
                    Err(Error::ContextFull { .. }) => break FinishReason::ContextFull,
                    Err(e) => return Err(e),
                },
            };
            // The step in flight fed `token` at position n_past: it is now part of the context.
            self.n_past += 1;
            self.history.push(token);
            pending = next;
        };
        if finish != FinishReason::Cancelled {
            text.push_str(&detok.flush());
            if params.stop.iter().all(|s| !text.contains(s.as_str())) && text.len() > emitted {
                emit(&text[emitted..], &logprobs);
            }
        }
        let prefill_s = prefill_s.unwrap_or_else(|| t0.elapsed().as_secs_f64());
        let mut stats = GenStats {
            prompt_tokens: prompt_ids.len(),
            cached_tokens: cached,
            generated_tokens: generated,
            prefill_s,
            decode_s: 0.0,
            ttft_s: prefill_s,
            text,
            tokens: ids,
            finish,
            decode_steps: 0,
            decode_dispatches: 0,
            decode_weight_bytes: 0,
            decode_bind_groups: 0,
            decode_buffers_created: 0,
            decode_host_s: 0.0,
            context_shifts,
            logprobs,
        };
        meter.finish(&self.engine.ctx, &mut stats);
        Ok(stats)
    }

    /// Records and submits one decode step: feeds the token already in `tokens[0]` (put there by
    /// the previous sample) at position `n_past`, samples the next one into `tokens[0]` and
    /// copies it into `readback[slot]`. `n_past` is not advanced: the caller does that once it
    /// knows the fed token belongs to the context. The host time goes to `meter`.
    fn submit_decode_step(
        &mut self,
        slot: usize,
        sampler: &mut Sampler,
        penalty: &mut PenaltyState,
        meter: &mut DecodeMeter,
    ) -> Result<Pending> {
        self.check_room(1)?;
        let t0 = Instant::now();
        let ctx = &self.engine.ctx;
        let n_vocab = self.model.hp.n_vocab;
        let mut b = self.engine.kernels.batch(ctx).reuse_bind_groups(&mut self.bind_groups);
        self.bufs.encode_layers(&mut b, &self.model, 1, self.n_past);
        self.bufs.encode_logits(&mut b, &self.model, LogitRows { first: 0, count: 1 });
        penalty.sample(&mut b, &self.bufs.logits, 0, n_vocab, &sampler.next_args(), &self.bufs.tokens, 0);
        copy_result(
            &mut b,
            &self.bufs,
            &self.logprobs_out,
            &self.readback[slot],
            n_vocab,
            sampler.logprobs(),
        );
        let submitted = b.submit()?;
        meter.step(submitted.encoded_at.saturating_duration_since(t0));
        Ok(Pending { slot, submission: submitted.index })
    }

    /// Waits for `pending`'s sampled token and returns it, with its log-probabilities when
    /// `logprobs` is `Some(top_logprobs)`.
    async fn read_token(
        &self,
        pending: &Pending,
        logprobs: Option<u32>,
    ) -> Result<(u32, Option<TokenLogprobs>)> {
        let ctx = &self.engine.ctx;
        let len = 4 + logprobs.map_or(0, |n| logprob_words(n) as u64 * 4);
        let bytes = ctx.map_read(&self.readback[pending.slot], len, pending.submission.clone()).await?;
        let words: Vec<u32> =
            bytes.chunks_exact(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
        let id = words[0];
        if id >= self.model.hp.n_vocab {
            return Err(Error::Gpu(format!("sampler returned token {id}, outside the vocabulary")));
        }
        let logprobs = logprobs.map(|_| {
            let pairs: Vec<(u32, f32)> =
                words[1..].chunks_exact(2).map(|p| (p[0], f32::from_bits(p[1]))).collect();
            TokenLogprobs { token: pairs[0].0, logprob: pairs[0].1, top: pairs[1..].to_vec() }
        });
        Ok((id, logprobs))
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

/// Copies the sampled token (and, when `logprobs` is `Some(top)`, its log-probabilities and the
/// `top` best) into a readback slot.
fn copy_result(
    b: &mut crate::kernels::Batch,
    bufs: &ForwardBuffers,
    lp_out: &wgpu::Buffer,
    slot: &wgpu::Buffer,
    n_vocab: u32,
    logprobs: Option<u32>,
) {
    b.copy_buffer(&bufs.tokens, 0, slot, 0, 4);
    if let Some(top) = logprobs {
        b.logprobs(&bufs.logits, 0, n_vocab, &bufs.tokens, 0, top, lp_out, 0);
        b.copy_buffer(lp_out, 0, slot, 4, logprob_words(top) as u64 * 4);
    }
}

/// `prompt`'s token ids, with BOS first when the model adds one, the prompt goes `at_start` of
/// the context and does not already start with BOS's text (chat templates often print it);
/// also whether BOS was added.
fn encode_prompt(tok: &crate::tokenizer::Tokenizer, prompt: &str, at_start: bool) -> (Vec<u32>, bool) {
    let bos_text = tok.bos().and_then(|b| tok.vocab().text(b)).filter(|t| !t.is_empty());
    let add_bos = tok.add_bos() && at_start && !bos_text.is_some_and(|b| prompt.starts_with(b));
    (tok.encode(prompt, add_bos, true), add_bos)
}
