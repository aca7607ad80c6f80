//! Models: hyper-parameters from metadata, the weights on the GPU, and the forward pass.
//!
//! `hparams` is plain data (also used by the CPU reference); everything else needs the GPU.

pub mod hparams;
pub mod split;

#[cfg(feature = "gpu")]
mod forward;
#[cfg(feature = "gpu")]
mod fused;
#[cfg(feature = "gpu")]
mod load;
#[cfg(feature = "gpu")]
pub mod plan;
#[cfg(feature = "gpu")]
pub mod qkv;
#[cfg(feature = "gpu")]
pub mod stacked;
#[cfg(feature = "gpu")]
mod weights;

#[cfg(feature = "gpu")]
pub use forward::{ForwardBuffers, LogitRows};
#[cfg(feature = "gpu")]
pub use load::ModelLoader;
#[cfg(feature = "gpu")]
pub use weights::{FfnIn, LayerWeights, Model, ModelWeights};
