//! Driving a model: the engine (GPU + kernels), loading, sessions that generate text, and
//! perplexity. The same API natively and on wasm32; everything that waits on the GPU is async.

mod engine;
mod penalties;
mod perplexity;
mod sampler;
mod session;
mod stats;

pub use engine::Engine;
pub(crate) use penalties::RING_BYTES as PENALTY_RING_BYTES;
pub use perplexity::{perplexity, perplexity_of_tokens, PerplexityOptions, PerplexityResult};
pub use sampler::{GenParams, Sampler};
pub use session::{ContextOverflow, FinishReason, Session, SessionOptions};
pub use stats::GenStats;
