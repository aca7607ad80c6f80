//! Sampling parameters and the host side of sampling: the seeded random stream whose numbers
//! the GPU sampler consumes (one uniform number per token; logits never leave the GPU).

use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::error::{Error, Result};
use crate::kernels::{Penalties, SampleArgs};

/// The longest window of recent tokens the repetition penalties can look at (the GPU kernel
/// compares every pair of the window's entries once per token).
pub const MAX_PENALTY_WINDOW: u32 = 1024;

/// What to generate and how to pick tokens.
#[derive(Clone, Debug)]
pub struct GenParams {
    pub max_tokens: u32,
    /// 0: greedy.
    pub temperature: f32,
    /// Candidates kept before sampling (0: the whole vocabulary; 1: greedy).
    pub top_k: u32,
    /// Nucleus sampling: the smallest set of candidates whose probability reaches `top_p`
    /// (1: off).
    pub top_p: f32,
    /// Drop candidates less likely than `min_p` × the most likely one (0: off).
    pub min_p: f32,
    /// llama.cpp's `--repeat-penalty` (1: off): recent tokens' positive logits are divided by
    /// it, negative ones multiplied.
    pub repeat_penalty: f32,
    /// Subtracted from a recent token's logit once per occurrence (OpenAI's
    /// `frequency_penalty`; 0: off).
    pub frequency_penalty: f32,
    /// Subtracted once from the logit of every recent token (OpenAI's `presence_penalty`).
    pub presence_penalty: f32,
    /// How many recent tokens (the prompt's last ones, then the generated ones) the penalties
    /// look at (llama.cpp's `--repeat-last-n`; at most [`MAX_PENALTY_WINDOW`]).
    pub penalty_last_n: u32,
    /// Added to the logits of these token ids before anything else (OpenAI's `logit_bias`;
    /// repeated ids add up).
    pub logit_bias: Vec<(u32, f32)>,
    pub seed: u64,
    /// Generation stops when the text contains any of these (they are not emitted).
    pub stop: Vec<String>,
    /// End-of-generation tokens do not stop generation: exactly `max_tokens` tokens are
    /// generated (unless a stop string or the context size ends it first). For benchmarks.
    pub ignore_eos: bool,
    /// Report each generated token's log-probability ([`super::GenStats::logprobs`]).
    pub logprobs: bool,
    /// With `logprobs`, also the this many most likely tokens at each step (at most 20).
    pub top_logprobs: u32,
}

impl Default for GenParams {
    fn default() -> Self {
        GenParams {
            max_tokens: 256,
            temperature: 0.0,
            top_k: 40,
            top_p: 1.0,
            min_p: 0.0,
            repeat_penalty: 1.0,
            frequency_penalty: 0.0,
            presence_penalty: 0.0,
            penalty_last_n: 64,
            logit_bias: Vec::new(),
            seed: 0,
            stop: Vec::new(),
            ignore_eos: false,
            logprobs: false,
            top_logprobs: 0,
        }
    }
}

impl GenParams {
    pub fn validate(&self) -> Result<()> {
        if !(self.temperature >= 0.0 && self.temperature.is_finite()) {
            return Err(Error::InvalidArgument(format!("temperature {}", self.temperature)));
        }
        if self.top_logprobs > crate::kernels::MAX_TOP_LOGPROBS {
            return Err(Error::InvalidArgument(format!("top_logprobs {} (at most 20)", self.top_logprobs)));
        }
        if self.top_k > 256 {
            return Err(Error::InvalidArgument(format!("top_k {} (at most 256)", self.top_k)));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(Error::InvalidArgument(format!("top_p {} (must be in (0, 1])", self.top_p)));
        }
        if !(0.0..=1.0).contains(&self.min_p) {
            return Err(Error::InvalidArgument(format!("min_p {} (must be in [0, 1])", self.min_p)));
        }
        if !(self.repeat_penalty > 0.0 && self.repeat_penalty.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "repeat_penalty {} (must be > 0)",
                self.repeat_penalty
            )));
        }
        for (name, v) in
            [("frequency_penalty", self.frequency_penalty), ("presence_penalty", self.presence_penalty)]
        {
            if !v.is_finite() {
                return Err(Error::InvalidArgument(format!("{name} {v}")));
            }
        }
        if self.penalty_last_n > MAX_PENALTY_WINDOW {
            return Err(Error::InvalidArgument(format!(
                "penalty_last_n {} (at most {MAX_PENALTY_WINDOW})",
                self.penalty_last_n
            )));
        }
        if let Some((id, b)) = self.logit_bias.iter().find(|(_, b)| !b.is_finite() && *b != f32::NEG_INFINITY)
        {
            return Err(Error::InvalidArgument(format!("logit_bias {b} for token {id}")));
        }
        Ok(())
    }

    /// The repetition penalties, or `None` when they are off.
    pub fn penalties(&self) -> Option<Penalties> {
        let p = Penalties {
            repeat: self.repeat_penalty,
            frequency: self.frequency_penalty,
            presence: self.presence_penalty,
        };
        (self.penalty_last_n > 0 && !p.is_off()).then_some(p)
    }

    /// `logit_bias` with repeated ids summed, sorted by id.
    pub fn merged_logit_bias(&self) -> Vec<(u32, f32)> {
        let mut m = std::collections::BTreeMap::new();
        for &(id, b) in &self.logit_bias {
            *m.entry(id).or_insert(0.0f32) += b;
        }
        m.into_iter().collect()
    }
}

/// Turns [`GenParams`] into per-token [`SampleArgs`].
pub struct Sampler {
    params: GenParams,
    rng: Pcg64Mcg,
}

impl Sampler {
    /// `Some(top_logprobs)` when each step's log-probabilities are wanted.
    pub fn logprobs(&self) -> Option<u32> {
        self.params.logprobs.then_some(self.params.top_logprobs)
    }

    pub fn new(params: &GenParams) -> Self {
        Sampler { params: params.clone(), rng: Pcg64Mcg::seed_from_u64(params.seed) }
    }

    /// Arguments for the next token's sampling dispatch.
    pub fn next_args(&mut self) -> SampleArgs {
        // 53 random bits → a uniform number in [0, 1).
        let u = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        // f32 rounding could reach 1.0; keep it below.
        let u = (u as f32).min(1.0 - f32::EPSILON);
        SampleArgs {
            temperature: self.params.temperature,
            top_k: self.params.top_k,
            top_p: self.params.top_p,
            min_p: self.params.min_p,
            u,
        }
    }
}
