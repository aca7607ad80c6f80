//! The flags `run` and `chat` share (sampling, the context), with the same defaults and help.

use brasa::generate::{ContextOverflow, GenParams, SessionOptions};
use brasa::kernels::KvType;

use super::parse_kv_type;

#[derive(clap::Args)]
pub struct SamplingArgs {
    /// 0: greedy (always the most likely token).
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    /// Sample among the K most likely tokens only.
    #[arg(long, default_value_t = 40)]
    top_k: u32,
    /// Nucleus sampling (1: off).
    #[arg(long, default_value_t = 1.0)]
    top_p: f32,
    /// Drop tokens less likely than this fraction of the most likely one (0: off).
    #[arg(long, default_value_t = 0.0)]
    min_p: f32,
    /// Penalize recent tokens, as llama.cpp's --repeat-penalty (1: off).
    #[arg(long, default_value_t = 1.0)]
    repeat_penalty: f32,
    /// Seed of the sampler's random numbers (the same seed gives the same text).
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

impl SamplingArgs {
    /// Generation parameters with these flags and `max_tokens`; the rest at their defaults.
    pub fn params(&self, max_tokens: u32) -> GenParams {
        GenParams {
            max_tokens,
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
            min_p: self.min_p,
            repeat_penalty: self.repeat_penalty,
            seed: self.seed,
            ..Default::default()
        }
    }
}

#[derive(clap::Args)]
pub struct ContextArgs {
    /// The context (K/V cache) in tokens.
    #[arg(long, default_value_t = 4096)]
    ctx_size: u32,
    /// When the context is full, drop the oldest half of it and go on instead of stopping. BOS
    /// and the system prompt stay; in `chat`, a conversation that outgrows the context loses its
    /// oldest turns first.
    #[arg(long)]
    context_shift: bool,
    /// K/V cache type: f16 (half the memory, llama.cpp's default) or f32 (exact).
    #[arg(long, default_value = "f16", value_parser = parse_kv_type)]
    kv_cache: KvType,
}

impl ContextArgs {
    /// The session options these flags ask for.
    pub fn session_options(&self) -> SessionOptions {
        let overflow =
            if self.context_shift { ContextOverflow::Slide { keep: None } } else { ContextOverflow::Stop };
        SessionOptions { ctx_size: self.ctx_size, overflow, kv_type: self.kv_cache, ..Default::default() }
    }
}
