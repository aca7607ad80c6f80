//! Driving a model: the engine (GPU + kernels), loading, sessions that generate text, and
//! perplexity. The same API natively and on wasm32; everything that waits on the GPU is async.

mod engine;
mod penalties;
mod perplexity;
mod sampler;
mod session;
mod stats;

pub use engine::Engine;
/// Bytes of a session's small buffers (readback slots, logprobs output, penalty ring), for
/// `model::plan`.
pub(crate) const SESSION_SMALL_BUFFER_BYTES: u64 =
    2 * session::READBACK_BYTES + session::LOGPROBS_BYTES + penalties::RING_BYTES;
pub use perplexity::{perplexity, perplexity_of_tokens, PerplexityOptions, PerplexityResult};
pub use sampler::{GenParams, Sampler};
pub use session::{ContextOverflow, FinishReason, OnPiece, Session, SessionOptions};
pub use stats::{GenStats, TokenLogprobs};
