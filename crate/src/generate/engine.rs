//! The engine: one GPU device and its compiled kernels, shared by models and sessions.

use std::sync::Arc;

use crate::error::Result;
use crate::gpu::{GpuContext, GpuOptions};
use crate::kernels::Kernels;
use crate::model::ModelLoader;

/// Cheap to clone; every clone shares the device and kernels.
#[derive(Clone)]
pub struct Engine {
    pub ctx: Arc<GpuContext>,
    pub kernels: Arc<Kernels>,
}

impl Engine {
    pub async fn new(opts: GpuOptions) -> Result<Self> {
        let ctx = GpuContext::new(opts).await?;
        let kernels = Kernels::new(&ctx)?;
        Ok(Engine { ctx: Arc::new(ctx), kernels: Arc::new(kernels) })
    }

    /// The adapter, backend and limits in one line.
    pub fn gpu_info(&self) -> String {
        self.ctx.describe()
    }

    /// A loader for a GGUF file of `file_len` bytes: push its bytes in order, then `finish`.
    pub fn loader(&self, file_len: u64) -> ModelLoader {
        ModelLoader::new(self.ctx.clone(), file_len)
    }
}
