//! What a `generate` call did: timings and, for the decode steps, the GPU work counters.

use web_time::{Duration, Instant};

use crate::generate::session::FinishReason;
use crate::gpu::{GpuContext, GpuCounters};

/// What a `generate` call did, with timings.
///
/// The `decode_*` figures cover the decode steps only: every generated token after the first
/// (the first comes out of the prefill). Per-token figures are these divided by `decode_steps`.
#[derive(Clone, Debug)]
pub struct GenStats {
    pub prompt_tokens: usize,
    /// Prompt tokens already in the cache from the previous call (not evaluated again).
    pub cached_tokens: usize,
    pub generated_tokens: usize,
    pub prefill_s: f64,
    pub decode_s: f64,
    /// Time from the call to the first generated token being known on the host.
    pub ttft_s: f64,
    pub text: String,
    /// The generated token ids (including a final end-of-generation token).
    pub tokens: Vec<u32>,
    pub finish: FinishReason,
    /// Decode steps run (one forward pass of one token each).
    pub decode_steps: usize,
    /// Compute dispatches the decode steps submitted.
    pub decode_dispatches: u64,
    /// Bytes of weight buffers the decode steps' kernels read (GPU layout).
    pub decode_weight_bytes: u64,
    pub decode_bind_groups: u64,
    pub decode_buffers_created: u64,
    /// Host time spent recording and encoding the decode steps (up to `queue.submit`),
    /// excluding the wait for each step's 4-byte readback.
    pub decode_host_s: f64,
    /// Times the context was full and shifted ([`super::ContextOverflow::Slide`]).
    pub context_shifts: usize,
    /// Per generated token, when [`super::GenParams::logprobs`] asked for them.
    pub logprobs: Vec<TokenLogprobs>,
}

/// A generated token's log-probability and the most likely tokens at its step (the
/// distribution the sampler saw: after logit bias and penalties, at temperature 1).
#[derive(Clone, Debug, PartialEq)]
pub struct TokenLogprobs {
    pub token: u32,
    pub logprob: f32,
    /// `(token, logprob)`, most likely first.
    pub top: Vec<(u32, f32)>,
}

impl GenStats {
    pub fn prefill_tok_s(&self) -> f64 {
        (self.prompt_tokens - self.cached_tokens) as f64 / self.prefill_s.max(1e-9)
    }
    /// Decode speed over the tokens after the first (the first comes out of prefill).
    pub fn decode_tok_s(&self) -> f64 {
        (self.generated_tokens.saturating_sub(1)) as f64 / self.decode_s.max(1e-9)
    }
    /// `decode_*` per decode step (0 when there was none).
    pub fn per_step(&self, total: f64) -> f64 {
        if self.decode_steps == 0 {
            0.0
        } else {
            total / self.decode_steps as f64
        }
    }
}

/// Measures the decode phase: counters from its start, and the host time of each step's
/// recording and encoding (up to `queue.submit`, see [`crate::kernels::Submitted`]).
pub(crate) struct DecodeMeter {
    start: GpuCounters,
    t0: Instant,
    steps: usize,
    host: Duration,
}

impl DecodeMeter {
    pub(crate) fn start(ctx: &GpuContext) -> Self {
        DecodeMeter { start: ctx.counters(), t0: Instant::now(), steps: 0, host: Duration::ZERO }
    }

    /// One decode step whose recording and encoding took `host`.
    pub(crate) fn step(&mut self, host: Duration) {
        self.steps += 1;
        self.host += host;
    }

    /// The first token came out of prefill: decode time counts from now. (Counters count from
    /// `start`, which comes before the first decode step is submitted, since with pipelining
    /// that step is in flight while the first token is read.)
    pub(crate) fn first_token_read(&mut self) {
        self.t0 = Instant::now();
    }

    /// Fills the decode fields of `stats` (and `decode_s`).
    pub(crate) fn finish(&self, ctx: &GpuContext, stats: &mut GenStats) {
        let d = ctx.counters().since(&self.start);
        stats.decode_s = self.t0.elapsed().as_secs_f64();
        stats.decode_steps = self.steps;
        stats.decode_dispatches = d.dispatches;
        stats.decode_weight_bytes = d.weight_bytes_read;
        stats.decode_bind_groups = d.bind_groups_created;
        stats.decode_buffers_created = d.buffers_created;
        stats.decode_host_s = self.host.as_secs_f64();
    }
}
