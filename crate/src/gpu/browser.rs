//! What wgpu's WebGPU backend cannot see. wgpu 30 maps only some WebGPU features to its own
//! flags, and requests and reports only those: `subgroups`, which Chromium offers, is neither.
//! The page asks for it (pkg/core.js adds it to brasa's device requests when the adapter offers
//! it); this reads it back from the device itself, so the kernels use subgroups only on a
//! device that has them. (The shaders then need `enable subgroups;`, see `kernels::shaders`.)

/// The WebGPU features of `device` that wgpu does not report, as wgpu flags.
pub(super) fn unmapped_features(device: &wgpu::Device) -> wgpu::Features {
    let Some(d) = device.as_webgpu() else { return wgpu::Features::empty() };
    let has = d.features();
    let mut f = wgpu::Features::empty();
    if has.has("subgroups") {
        f |= wgpu::Features::SUBGROUP;
    }
    f
}
