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

    /// Streams a model from disk into GPU buffers (native only). A split file name
    /// (`…-00001-of-00003.gguf`, any of the parts) loads all the parts as one model.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_file(&self, path: &std::path::Path) -> Result<crate::model::Model> {
        use std::io::Read;
        let paths = crate::model::split::split_paths(path).unwrap_or_else(|| vec![path.to_path_buf()]);
        let io = |p: &std::path::Path, e: std::io::Error| crate::Error::Io(format!("{}: {e}", p.display()));
        let mut loader: Option<ModelLoader> = None;
        let mut buf = vec![0u8; 4 << 20];
        for p in &paths {
            let mut file = std::fs::File::open(p).map_err(|e| io(p, e))?;
            let len = file.metadata().map_err(|e| io(p, e))?.len();
            match loader.as_mut() {
                None => loader = Some(self.loader(len)),
                Some(l) => l.next_file(len)?,
            }
            let l = loader.as_mut().expect("set above");
            loop {
                let n = match file.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(io(p, e)),
                };
                l.push(&buf[..n])?;
            }
        }
        loader.expect("at least one path").finish()
    }
}
