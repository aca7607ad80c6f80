//! `Engine` in JS: owns the GPU device. Create one per page with `await Engine.create()`.

use wasm_bindgen::prelude::*;

use super::js_error;
use crate::Error;

/// The GPU side of brasa: one WebGPU adapter and device.
#[wasm_bindgen]
pub struct Engine {
    // Read by the loader once weights go to the GPU; kept alive for the page's lifetime.
    #[allow(dead_code)]
    pub(crate) device: wgpu::Device,
    #[allow(dead_code)]
    pub(crate) queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
}

#[wasm_bindgen]
impl Engine {
    /// Requests a WebGPU adapter and device. Rejects with code `gpu_unavailable` when the browser
    /// has no WebGPU or no adapter.
    pub async fn create() -> Result<Engine, JsValue> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions::default())
            .await
            .map_err(|e| js_error(Error::GpuUnavailable(e.to_string())))?;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor::default())
            .await
            .map_err(|e| js_error(Error::GpuUnavailable(e.to_string())))?;
        Ok(Engine {
            device,
            queue,
            info: adapter.get_info(),
        })
    }

    /// A one-line description of the adapter (name, vendor, backend, driver).
    #[wasm_bindgen(js_name = gpuInfo)]
    pub fn gpu_info(&self) -> String {
        let i = &self.info;
        format!(
            "{} (vendor {:#x}, {:?}, {:?}{}{})",
            if i.name.is_empty() {
                "unnamed adapter"
            } else {
                &i.name
            },
            i.vendor,
            i.device_type,
            i.backend,
            if i.driver.is_empty() {
                String::new()
            } else {
                format!(", driver {}", i.driver)
            },
            if i.driver_info.is_empty() {
                String::new()
            } else {
                format!(" {}", i.driver_info)
            },
        )
    }
}
