//! `Engine` in JS: the GPU device and compiled kernels. Create one per page with
//! `await Engine.create()`.

use wasm_bindgen::prelude::*;

use super::{js_error, set};
use crate::generate;
use crate::gpu::{GpuOptions, VariantRequest};
use crate::Error;

/// The GPU side of brasa (wraps [`generate::Engine`]).
#[wasm_bindgen]
pub struct Engine {
    pub(crate) inner: generate::Engine,
}

#[wasm_bindgen]
impl Engine {
    /// Requests a WebGPU adapter and device and compiles the kernels. Rejects with code
    /// `gpu_unavailable` when the browser has no WebGPU or no adapter. `variants` (optional)
    /// restricts the kernel variants, e.g. `"nosubgroups,nof16,nowgmatmul"` forces the baseline kernels;
    /// `gpuInfo()` says which were chosen. `max_buffer_bytes` (optional) replaces brasa's cap on
    /// one GPU buffer (1 GiB − 1 MiB by default; never more than the adapter allows).
    pub async fn create(variants: Option<String>, max_buffer_bytes: Option<f64>) -> Result<Engine, JsValue> {
        let variants = VariantRequest::parse(variants.as_deref().unwrap_or("")).map_err(js_error)?;
        let max_buffer_bytes = match max_buffer_bytes {
            None => None,
            Some(b) if b >= 4.0 && b.fract() == 0.0 && b <= 2f64.powi(53) => Some(b as u64),
            Some(b) => {
                return Err(js_error(Error::InvalidArgument(format!(
                    "maxBufferBytes must be a whole number of bytes of at least 4, not {b}"
                ))))
            }
        };
        let opts = GpuOptions { variants, max_buffer_bytes, ..Default::default() };
        let inner = generate::Engine::new(opts).await.map_err(js_error)?;
        Ok(Engine { inner })
    }

    /// The adapter, backend, limits and kernel variants in one line.
    #[wasm_bindgen(js_name = gpuInfo)]
    pub fn gpu_info(&self) -> String {
        self.inner.gpu_info()
    }

    /// The device as an object: `{description, backend, adapter: {name, vendor, device,
    /// driver}, features: [name], limits: {maxStorageBufferBindingSize, maxBufferSize,
    /// maxComputeWorkgroupStorageSize, maxComputeInvocationsPerWorkgroup,
    /// maxComputeWorkgroupsPerDimension}, maxWeightPartBytes, variants: {reduction: 'subgroup' |
    /// 'workgroup', f16, matmul: 'registers' | 'workgroup' | 'workgroup-f16'}}`: the kernel
    /// variants chosen for this device.
    #[wasm_bindgen(js_name = gpuDetails)]
    pub fn gpu_details(&self) -> js_sys::Object {
        let ctx = &self.inner.ctx;
        let i = &ctx.adapter_info;
        let o = js_sys::Object::new();
        set(&o, "description", self.inner.gpu_info().into());
        set(&o, "backend", format!("{:?}", i.backend).into());
        let adapter = js_sys::Object::new();
        set(&adapter, "name", i.name.as_str().into());
        set(&adapter, "vendor", i.vendor.into());
        set(&adapter, "device", i.device.into());
        set(&adapter, "driver", i.driver.as_str().into());
        set(&o, "adapter", adapter.into());
        let features: js_sys::Array =
            ctx.features.iter_names().map(|(name, _)| JsValue::from(name.to_lowercase())).collect();
        set(&o, "features", features.into());
        let l = &ctx.limits;
        let limits = js_sys::Object::new();
        for (key, v) in [
            ("maxStorageBufferBindingSize", l.max_storage_buffer_binding_size as f64),
            ("maxBufferSize", l.max_buffer_size as f64),
            ("maxComputeWorkgroupStorageSize", l.max_compute_workgroup_storage_size as f64),
            ("maxComputeInvocationsPerWorkgroup", l.max_compute_invocations_per_workgroup as f64),
            ("maxComputeWorkgroupsPerDimension", l.max_compute_workgroups_per_dimension as f64),
        ] {
            set(&limits, key, v.into());
        }
        set(&o, "limits", limits.into());
        set(&o, "maxWeightPartBytes", (ctx.max_binding_bytes as f64).into());
        let variants = js_sys::Object::new();
        let subgroups = matches!(ctx.variants.reduction, crate::gpu::Reduction::Subgroup);
        set(&variants, "reduction", (if subgroups { "subgroup" } else { "workgroup" }).into());
        set(&variants, "f16", ctx.variants.f16.into());
        set(&variants, "matmul", ctx.variants.matmul.name().into());
        set(&o, "variants", variants.into());
        o
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

    /// Destroys the GPU device as a lost GPU would (`device.destroy()`), for fault tests: every
    /// later call on this engine, its models and sessions rejects with `device_lost`; create a
    /// new engine to go on.
    #[wasm_bindgen(js_name = loseDevice)]
    pub fn lose_device(&self) {
        self.inner.ctx.lose_device();
    }

    /// Whether the device is lost: this engine can do nothing more; create a new one.
    #[wasm_bindgen(getter)]
    pub fn lost(&self) -> bool {
        self.inner.ctx.is_lost()
    }

    /// Resolves once the GPU has answered for every buffer allocated so far (a WebGPU
    /// allocation reports failure later, not when it is made); rejects with `out_of_memory`
    /// naming the first buffer that could not be allocated and its size in bytes, or
    /// `device_lost`. Call it after loading a model or creating a session.
    #[wasm_bindgen(js_name = confirmAllocations)]
    pub async fn confirm_allocations(&self) -> Result<(), JsValue> {
        self.inner.ctx.confirm_allocations().await.map_err(js_error)
    }
}
