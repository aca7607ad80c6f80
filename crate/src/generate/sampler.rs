//! Sampling parameters and the host side of sampling: the seeded random stream whose numbers
//! the GPU sampler consumes (one uniform number per token; logits never leave the GPU).

use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::error::{Error, Result};
use crate::kernels::SampleArgs;

/// What to generate and how to pick tokens.
#[derive(Clone, Debug)]
pub struct GenParams {
    pub max_tokens: u32,
    /// 0: greedy.
    pub temperature: f32,
    /// Candidates kept before sampling (0: the whole vocabulary; 1: greedy).
    pub top_k: u32,
    pub seed: u64,
    /// Generation stops when the text contains any of these (they are not emitted).
    pub stop: Vec<String>,
    /// End-of-generation tokens do not stop generation: exactly `max_tokens` tokens are
    /// generated (unless a stop string or the context size ends it first). For benchmarks.
    pub ignore_eos: bool,
}

impl Default for GenParams {
    fn default() -> Self {
        GenParams {
            max_tokens: 256,
            temperature: 0.0,
            top_k: 40,
            seed: 0,
            stop: Vec::new(),
            ignore_eos: false,
        }
    }
}

impl GenParams {
    pub fn validate(&self) -> Result<()> {
        if !(self.temperature >= 0.0 && self.temperature.is_finite()) {
            return Err(Error::InvalidArgument(format!("temperature {}", self.temperature)));
        }
        if self.top_k > 256 {
            return Err(Error::InvalidArgument(format!("top_k {} (at most 256)", self.top_k)));
        }
        Ok(())
    }
}

/// Turns [`GenParams`] into per-token [`SampleArgs`].
pub struct Sampler {
    params: GenParams,
    rng: Pcg64Mcg,
}

impl Sampler {
    pub fn new(params: &GenParams) -> Self {
        Sampler { params: params.clone(), rng: Pcg64Mcg::seed_from_u64(params.seed) }
    }

    /// Arguments for the next token's sampling dispatch.
    pub fn next_args(&mut self) -> SampleArgs {
        // 53 random bits → a uniform number in [0, 1).
        let u = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        // f32 rounding could reach 1.0; keep it below.
        let u = (u as f32).min(1.0 - f32::EPSILON);
        SampleArgs { temperature: self.params.temperature, top_k: self.params.top_k, u, ..Default::default() }
    }
}
