//! The GPU device: adapter/limits negotiation, buffers, weight upload and readback.
//!
//! One [`GpuContext`] per loaded model. It owns the wgpu device and queue, the limits it asked
//! for, and the errors wgpu reports through callbacks (uncaptured errors, device loss, failed
//! allocations: [`errors`]) that every fallible call checks first, so a GPU problem becomes a
//! [`crate::Error`] instead of a panic.
//!
//! Works the same natively and on wasm32 WebGPU: nothing here blocks on the web (readback
//! awaits `map_async`; native code polls the device instead).

#[cfg(target_arch = "wasm32")]
mod browser;
mod buffer;
mod counters;
mod errors;
mod readback;
mod variants;
mod weight;

pub use buffer::OwnedBuffer;
pub use counters::GpuCounters;
pub use variants::{cpu_emulated, KernelVariants, MatmulTiling, Reduction, Use, VariantRequest};
pub use weight::{GpuWeight, WeightPart};

use crate::error::{Error, Result};
use errors::ErrorSlots;
use std::sync::{Arc, Mutex};

/// Largest buffer/binding brasa asks for by default. Chromium's SwiftShader offers a 1 GiB limit
/// but then fails to allocate a 1 GiB buffer (out of memory); 1 MiB less works (see TOOLING.md).
pub const MAX_BINDING_CAP: u64 = (1 << 30) - (1 << 20);

/// Options for [`GpuContext::new`].
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// Lower the storage-binding limit below the device's (tests use this to force tensors to be
    /// split into several buffers). Rounded down to a multiple of 4.
    pub max_binding_bytes: Option<u64>,
    /// Which kernel variants may be used (default: every one the adapter supports). Natively,
    /// `BRASA_VARIANTS` (e.g. `nosubgroups,nof16,nowgmatmul`) fills in the entries left at [`Use::Auto`].
    pub variants: VariantRequest,
    /// The largest buffer (and storage binding) to ask the device for, instead of
    /// [`MAX_BINDING_CAP`]; never more than the adapter offers. Larger allows longer contexts
    /// and fewer weight parts, where the GPU can really allocate such buffers.
    pub max_buffer_bytes: Option<u64>,
    /// Ask for timestamp queries inside compute passes where the adapter has them, for
    /// per-dispatch timings (`kernels::Profiler`, `brasa bench --profile`).
    pub timestamps: bool,
}

/// The features per-dispatch timings need (`kernels::Profiler`).
pub const TIMESTAMP_FEATURES: wgpu::Features =
    wgpu::Features::TIMESTAMP_QUERY.union(wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES);

/// What every kernel needs from the device: WebGPU's default compute limits.
const KERNEL_INVOCATIONS: u32 = 256;
const KERNEL_WORKGROUP_BYTES: u32 = 16 * 1024;

/// A wgpu device with the limits brasa negotiated for it.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter_info: wgpu::AdapterInfo,
    /// The limits granted to the device (what was requested).
    pub limits: wgpu::Limits,
    pub features: wgpu::Features,
    /// The kernel variants chosen for this device (see [`KernelVariants`]).
    pub variants: KernelVariants,
    /// Largest weight part: the device's binding limit, or lower with
    /// [`GpuOptions::max_binding_bytes`]. Weight tensors are split by rows into parts below this.
    pub max_binding_bytes: u64,
    errors: Arc<ErrorSlots>,
    pub(crate) counters: counters::Counters,
    /// Idle MAP_READ staging buffers for small reads (see `readback`).
    staging_pool: Mutex<Vec<OwnedBuffer>>,
    /// Set in the context [`Self::new`] made, not in its views: destroys the device when that
    /// context is dropped (after the fields above), for the reason [`OwnedBuffer`] gives.
    _device_owner: Option<DeviceOwner>,
}

/// Destroys its device when dropped: wgpu's WebGPU backend leaves a dropped device to the
/// garbage collector, with what it still holds (pipelines, the buffers of views).
struct DeviceOwner(wgpu::Device);

impl Drop for DeviceOwner {
    fn drop(&mut self) {
        self.0.destroy();
    }
}

impl GpuContext {
    /// Pick the default (high-performance) adapter and create a device with the largest storage
    /// binding and buffer sizes it offers (capped at [`GpuOptions::max_buffer_bytes`], by default
    /// 1 GiB − 1 MiB) and the optional features the kernel variants may use (`subgroups`,
    /// `shader-f16`) where the adapter offers them and `opts.variants` allows them; then choose
    /// the variants from the device's features.
    pub async fn new(opts: GpuOptions) -> Result<Self> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::GpuUnavailable(format!("no GPU adapter: {e}")))?;
        let adapter_info = adapter.get_info();
        let offered = adapter.limits();
        let request = opts.variants.with_env()?;

        // WebGPU defaults (every WebGPU adapter supports them) with the two size limits raised.
        let cap = opts.max_buffer_bytes.unwrap_or(MAX_BINDING_CAP);
        let limits = wgpu::Limits {
            max_storage_buffer_binding_size: offered.max_storage_buffer_binding_size.min(cap),
            max_buffer_size: offered.max_buffer_size.min(cap),
            ..wgpu::Limits::default()
        };
        // Native adapters below the WebGPU defaults (old GL/DX11 parts) get what they offer.
        let limits = limits.or_worse_values_from(&offered);
        for (what, needed, limit) in [
            ("invocations per workgroup", KERNEL_INVOCATIONS, limits.max_compute_invocations_per_workgroup),
            ("workgroup size x", KERNEL_INVOCATIONS, limits.max_compute_workgroup_size_x),
            ("workgroup storage bytes", KERNEL_WORKGROUP_BYTES, limits.max_compute_workgroup_storage_size),
        ] {
            if limit < needed {
                return Err(Error::DeviceLimit {
                    what: what.into(),
                    needed: needed.into(),
                    limit: limit.into(),
                });
            }
        }

        let timestamps = match opts.timestamps && adapter.features().contains(TIMESTAMP_FEATURES) {
            true => TIMESTAMP_FEATURES,
            false => wgpu::Features::empty(),
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                // pkg/core.js recognises brasa's device requests by this label (see `browser`).
                label: Some("brasa"),
                required_features: request.features_to_request(adapter.features()) | timestamps,
                required_limits: limits.clone(),
                experimental_features: wgpu::ExperimentalFeatures::disabled(),
                memory_hints: wgpu::MemoryHints::Performance,
                trace: wgpu::Trace::Off,
            })
            .await
            .map_err(|e| Error::GpuUnavailable(format!("device request failed: {e}")))?;

        let errors = Arc::new(ErrorSlots::default());
        let slots = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| slots.record(uncaptured(&e))));
        let slots = errors.clone();
        device.set_device_lost_callback(move |reason, msg| slots.lose(format!("{reason:?}: {msg}")));

        let device_binding = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
        let max_binding_bytes = match opts.max_binding_bytes {
            Some(b) => b.min(device_binding),
            None => device_binding,
        } / 4
            * 4;
        // The variants are chosen from what the device has: in the browser that includes what
        // wgpu cannot request there (`subgroups`, which the page adds, see `browser`).
        let features = device.features();
        #[cfg(target_arch = "wasm32")]
        let features = features | browser::unmapped_features(&device);
        let variants = KernelVariants::choose(features, cpu_emulated(&adapter_info), request)?;
        let device_handle = device.clone();
        Ok(Self {
            device,
            queue,
            adapter_info,
            limits,
            features,
            variants,
            max_binding_bytes,
            errors,
            counters: counters::Counters::default(),
            staging_pool: Mutex::new(Vec::new()),
            _device_owner: Some(DeviceOwner(device_handle)),
        })
    }

    /// Another handle on this device whose weights are split into parts of at most `bytes`
    /// (rounded down to 4; never above this context's): the kernel self-test uses it to run
    /// split weights on any device without a second device. It shares the device, queue and
    /// error slots; its counters start at zero.
    pub fn with_max_binding_bytes(&self, bytes: u64) -> GpuContext {
        GpuContext { max_binding_bytes: bytes.min(self.max_binding_bytes) / 4 * 4, ..self.view() }
    }

    /// Another handle on this device whose kernels use `variants` (the kernel self-test checks
    /// several on one device); [`Error::GpuUnavailable`] if the device lacks a feature they
    /// need. Shares what [`Self::with_max_binding_bytes`] says.
    pub fn with_variants(&self, variants: KernelVariants) -> Result<GpuContext> {
        if !self.features.contains(variants.features()) {
            return Err(Error::GpuUnavailable(format!("the device lacks the features of {variants:?}")));
        }
        Ok(GpuContext { variants, ..self.view() })
    }

    /// Another handle on this device whose prefill mat-mul uses `tiling` (which needs no
    /// feature): the self-test checks both tilings on every device. Shares what
    /// [`Self::with_max_binding_bytes`] says.
    pub fn with_matmul_tiling(&self, tiling: MatmulTiling) -> GpuContext {
        GpuContext { variants: KernelVariants { matmul: tiling, ..self.variants }, ..self.view() }
    }

    /// A handle on the same device, queue and error slots, with fresh counters.
    pub(crate) fn view(&self) -> GpuContext {
        GpuContext {
            device: self.device.clone(),
            queue: self.queue.clone(),
            adapter_info: self.adapter_info.clone(),
            limits: self.limits.clone(),
            features: self.features,
            variants: self.variants,
            max_binding_bytes: self.max_binding_bytes,
            errors: self.errors.clone(),
            counters: counters::Counters::default(),
            staging_pool: Mutex::new(Vec::new()),
            _device_owner: None,
        }
    }

    /// A snapshot of the work and allocation counters (monotonic; subtract two snapshots with
    /// [`GpuCounters::since`]).
    pub fn counters(&self) -> GpuCounters {
        self.counters.snapshot()
    }

    /// One line for logs and the JS `gpuInfo`: adapter, backend, the limits brasa uses and the
    /// kernel variants it chose.
    pub fn describe(&self) -> String {
        let i = &self.adapter_info;
        format!(
            "{} ({:?}, {:?}, driver {} {}); max storage binding {} MiB (using {} MiB), max buffer {} MiB, \
             workgroup storage {} B, invocations/workgroup {}, workgroups/dim {}; kernels: {}",
            i.name,
            i.backend,
            i.device_type,
            i.driver,
            i.driver_info,
            self.limits.max_storage_buffer_binding_size >> 20,
            self.max_binding_bytes >> 20,
            self.limits.max_buffer_size >> 20,
            self.limits.max_compute_workgroup_storage_size,
            self.limits.max_compute_invocations_per_workgroup,
            self.limits.max_compute_workgroups_per_dimension,
            self.variants.describe(i),
        )
    }

    /// Destroys the device, as a lost GPU would (for fault tests): every later call fails with
    /// [`Error::DeviceLost`].
    pub fn lose_device(&self) {
        self.errors.lose("the device was destroyed".to_string());
        self.device.destroy();
    }

    /// Whether the device is lost (for good: a new context is needed).
    pub fn is_lost(&self) -> bool {
        self.errors.is_lost()
    }

    /// Return (and clear) a GPU error recorded since the last check; device loss stays reported.
    pub fn check(&self) -> Result<()> {
        self.errors.check()
    }

    /// Waits until the GPU has answered for every buffer allocated so far, then [`Self::check`]s:
    /// [`Error::OutOfMemory`] naming the first buffer that could not be allocated and its size.
    /// Natively allocations answer at once; on the web, call this before relying on a set of new
    /// buffers (a loaded model, a new session).
    pub async fn confirm_allocations(&self) -> Result<()> {
        self.errors.settled().await;
        self.check()
    }

    /// A storage buffer (STORAGE | COPY_SRC | COPY_DST) of `bytes` bytes (rounded up to 4), for
    /// activations, KV caches and the like. [`Error::DeviceLimit`] if it exceeds the device's
    /// binding limit (not [`GpuOptions::max_binding_bytes`], which only splits weights),
    /// [`Error::OutOfMemory`] if the allocation fails (on the web an OOM may only be reported by
    /// the next call).
    pub fn storage_buffer(&self, label: &str, bytes: u64) -> Result<OwnedBuffer> {
        let size = bytes.max(4).div_ceil(4) * 4;
        let limit = self.limits.max_storage_buffer_binding_size.min(self.limits.max_buffer_size);
        if size > limit {
            return Err(Error::DeviceLimit { what: format!("buffer {label:?}"), needed: size, limit });
        }
        self.create_buffer(
            label,
            size,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        )
    }

    /// Create a buffer inside an out-of-memory error scope.
    pub(crate) fn create_buffer(
        &self,
        label: &str,
        size: u64,
        usage: wgpu::BufferUsages,
    ) -> Result<OwnedBuffer> {
        self.check()?;
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let buffer = OwnedBuffer::new(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage,
            mapped_at_creation: false,
        }));
        // Native: the scope answers at once. Web: the answer comes later and is recorded, so
        // that `confirm_allocations` (or the next call) reports it with this buffer's size.
        let failure = {
            let what = label.to_string();
            move |e: Option<wgpu::Error>| e.map(|_| Error::OutOfMemory { what, bytes: size })
        };
        self.errors.allocation_started();
        let slots = self.errors.clone();
        let failure_later = failure.clone();
        let answer = readback::resolve_now_or_later(scope.pop(), move |e| {
            slots.allocation_confirmed(failure_later(e));
        });
        self.counters.buffer_created(size);
        match answer {
            Some(e) => {
                self.errors.allocation_confirmed(None);
                failure(e).map_or(Ok(buffer), Err)
            }
            None => Ok(buffer),
        }
    }
}

/// An error no scope caught, as a brasa error (out of memory in an operation other than a
/// buffer allocation has no size to report).
fn uncaptured(e: &wgpu::Error) -> Error {
    match e {
        wgpu::Error::OutOfMemory { .. } => {
            Error::OutOfMemory { what: format!("a GPU operation ({e})"), bytes: 0 }
        }
        _ => Error::Gpu(e.to_string()),
    }
}
