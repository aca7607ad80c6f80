//! brasa: run GGUF language models on the user's own GPU, natively (wgpu on Vulkan/Metal/DX12)
//! and in the browser (wgpu on WebGPU), from the same crate.
//!
//! Dependency direction (see ARCHITECTURE.md): `gguf`, `quant` and `tokenizer` know nothing of the
//! GPU; `kernels` know `gpu`; `model` composes kernels; `generate` drives a model; `web` and the
//! CLI are thin shells over `generate`.

pub mod chat;
pub mod error;
pub mod gguf;
pub mod model;
pub mod quant;
pub mod reference;
pub mod tokenizer;

#[cfg(feature = "gpu")]
pub mod bench;
#[cfg(feature = "gpu")]
pub mod generate;
#[cfg(feature = "gpu")]
pub mod gpu;
#[cfg(feature = "gpu")]
pub mod kernels;
/// Always built natively (the kernel tests run it); in the wasm only with the `selftest`
/// feature, as it adds 8–9% to the module every visitor downloads.
#[cfg(all(feature = "gpu", any(feature = "selftest", not(target_arch = "wasm32"))))]
pub mod selftest;

#[cfg(all(target_arch = "wasm32", feature = "gpu"))]
pub mod web;

pub use error::{Error, Result};
