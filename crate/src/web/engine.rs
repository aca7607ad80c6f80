//! `Engine` in JS: the GPU device and compiled kernels. Create one per page with
//! `await Engine.create()`.

use wasm_bindgen::prelude::*;

use super::{js_error, set};
use crate::generate;
use crate::gpu::{GpuOptions, VariantRequest};

/// The GPU side of brasa (wraps [`generate::Engine`]).
#[wasm_bindgen]
pub struct Engine {
    pub(crate) inner: generate::Engine,
}

#[wasm_bindgen]
impl Engine {
    /// Requests a WebGPU adapter and device and compiles the kernels. Rejects with code
    /// `gpu_unavailable` when the browser has no WebGPU or no adapter. `variants` (optional)
    /// restricts the kernel variants, e.g. `"nosubgroups,nof16"` forces the baseline kernels;
    /// `gpuInfo()` says which were chosen.
    pub async fn create(variants: Option<String>) -> Result<Engine, JsValue> {
        let variants = VariantRequest::parse(variants.as_deref().unwrap_or("")).map_err(js_error)?;
        let opts = GpuOptions { variants, ..Default::default() };
        let inner = generate::Engine::new(opts).await.map_err(js_error)?;
        Ok(Engine { inner })
    }

    /// The adapter, backend, limits and kernel variants in one line.
    #[wasm_bindgen(js_name = gpuInfo)]
    pub fn gpu_info(&self) -> String {
        self.inner.gpu_info()
    }

    /// The GPU work and allocation counters since the engine was created (monotonic; subtract
    /// two readings): `{buffersCreated, bufferBytesCreated, bindGroupsCreated, dispatches,
    /// weightBytesRead, submits}`.
    pub fn stats(&self) -> js_sys::Object {
        let c = self.inner.ctx.counters();
        let o = js_sys::Object::new();
        // Counts stay exact as f64 up to 2^53.
        set(&o, "buffersCreated", (c.buffers_created as f64).into());
        set(&o, "bufferBytesCreated", (c.buffer_bytes_created as f64).into());
        set(&o, "bindGroupsCreated", (c.bind_groups_created as f64).into());
        set(&o, "dispatches", (c.dispatches as f64).into());
        set(&o, "weightBytesRead", (c.weight_bytes_read as f64).into());
        set(&o, "submits", (c.submits as f64).into());
        o
    }
}
