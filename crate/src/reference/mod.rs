//! Plain-Rust CPU implementations: the oracles the GPU kernels and the GPU forward pass are
//! tested against. Written for clarity, with f64 accumulation; never used on a hot path.

pub mod forward;
pub mod kernels;
