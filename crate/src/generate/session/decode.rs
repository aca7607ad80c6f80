//! The generation loop: prefill, then decode until a stop condition.
//!
//! Decode keeps tokens on the GPU: the sampler writes the chosen id into `tokens[0]`, which the
//! next step's embedding lookup reads, so the host only reads back 4 bytes per token.
//!
//! Decode is pipelined: step t + 1 (which feeds token t straight from `tokens[0]`) is encoded
//! and submitted *before* token t is read back, so the GPU computes while the host waits for
//! the readback, detokenizes and checks stop conditions. When token t ends the generation, the
//! step already in flight is simply not counted: it wrote the K/V of position `n_past`, which
//! the next call overwrites. Two readback slots alternate between the step being read and the
//! step in flight. Bind groups are cached per session (`kernels::BindGroupCache`), so a steady
//! decode creates neither buffers nor bind groups.

use web_time::Instant;

use super::{ContextOverflow, FinishReason, OnPiece, Session};
use crate::error::{Error, Result};
use crate::generate::penalties::PenaltyState;
use crate::generate::sampler::{GenParams, Sampler};
use crate::generate::stats::{DecodeMeter, GenStats, TokenLogprobs};
use crate::kernels::{logprob_words, NON_FINITE_TOKEN};
use crate::model::{ForwardBuffers, LogitRows};
use crate::tokenizer::Detokenizer;

/// A step submitted but not read back yet: its sampled token is being copied into
/// `readback[slot]` by submission `submission`.
struct Pending {
    slot: usize,
    submission: Option<wgpu::SubmissionIndex>,
}

impl Session {
    /// The generation loop; times count from `t0` (the call, before any tokenizing). The cache
    /// already holds `prompt_ids[..cached]`; the penalties see the whole prompt.
    pub(super) async fn generate_from(
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
        if id == NON_FINITE_TOKEN {
            return Err(Error::Numerical(format!(
                "the logits of token {} hold NaN or +inf: the model's weights hold them, or its \
                 activations overflowed (with the f16 mat-mul tiles, run without `f16`)",
                self.n_past + 1
            )));
        }
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
}

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
