//! Kernel variants, chosen once per device from the adapter's features.
//!
//! Every kernel has a baseline form (workgroup-memory reductions, f32 arithmetic) that runs on
//! any WebGPU device within the spec's default compute limits (256 invocations and 16 KiB of
//! workgroup storage per workgroup). Faster forms are used when the adapter offers the feature
//! they need:
//!
//! - `subgroups` → [`Reduction::Subgroup`]: reductions with `subgroupAdd` plus one
//!   workgroup-memory step across subgroups (correct for any subgroup size, 4–128).
//! - `shader-f16` → requested and reported ([`KernelVariants::f16`]). Only when asked for
//!   ([`Use::On`]) does a kernel compute in f16: the prefill mat-mul's workgroup tiles
//!   ([`MatmulTiling::WorkgroupF16`]), as llama.cpp's Vulkan mat-mul and WebLLM's f16 models do.
//!   It is not the default yet: its speed is unmeasured on a real GPU, its products carry f16
//!   rounding (about 1e-3 of the output scale instead of 1e-6), and activations beyond f16's
//!   range (65504) would overflow.
//!
//! One choice depends on the kind of device rather than a feature: the prefill mat-mul's
//! [`MatmulTiling`]. GPUs get the workgroup-memory tiles, which decode each weight once per
//! workgroup instead of 8 times. CPU emulators of a GPU (lavapipe, SwiftShader, WARP) get the
//! register tiles: on lavapipe both prefill gemma-3 at the same speed (35.5 and 35.8 tok/s at
//! 128 tokens), and SwiftShader, which turns every barrier into a coroutine switch, takes about
//! a second longer to compile each workgroup-tile pipeline.
//!
//! [`VariantRequest`] overrides the choice (tests force each variant; natively the environment
//! variable `BRASA_VARIANTS`, e.g. `nosubgroups,nof16,nowgmatmul`, does the same for the CLI).

use crate::error::{Error, Result};

/// How a kernel sums values across the invocations of a workgroup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reduction {
    /// A tree in workgroup memory with a barrier per level: works everywhere.
    Workgroup,
    /// `subgroupAdd` within each subgroup, then one workgroup-memory step across subgroups
    /// (needs the `subgroups` feature).
    Subgroup,
}

/// How the prefill mat-mul (a batch of tokens) shares work within a workgroup of 64 rows × 64
/// tokens. Both run on any WebGPU device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatmulTiling {
    /// shaders/matmul.wgsl: each invocation decodes the weights of its 8 rows itself (so each
    /// weight is decoded 8 times per workgroup) and needs no barrier.
    Registers,
    /// shaders/matmul_workgroup.wgsl: the workgroup decodes each step of its weights once into
    /// workgroup memory and reads them from there, with two barriers per 32 elements.
    Workgroup,
    /// The same with the tiles in f16 (half the workgroup memory and its traffic) and f16
    /// products, summed four at a time in f16 and then in f32 (needs `shader-f16`).
    WorkgroupF16,
}

impl MatmulTiling {
    /// `registers`, `workgroup` or `workgroup-f16` (for logs and `gpuInfo`).
    pub fn name(self) -> &'static str {
        match self {
            MatmulTiling::Registers => "registers",
            MatmulTiling::Workgroup => "workgroup",
            MatmulTiling::WorkgroupF16 => "workgroup-f16",
        }
    }

    /// Whether the tiles live in workgroup memory (either precision).
    pub fn in_workgroup_memory(self) -> bool {
        self != MatmulTiling::Registers
    }
}

/// The variants the kernels of one device use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KernelVariants {
    pub reduction: Reduction,
    /// `shader-f16` was requested (the device has it); only [`MatmulTiling::WorkgroupF16`]
    /// uses it.
    pub f16: bool,
    pub matmul: MatmulTiling,
}

/// Whether the adapter is a CPU emulating a GPU: the adapter says so (natively; in the browser
/// only a fallback adapter does), or its name is one of the emulators' (a browser need not
/// mark the software adapter it uses as its fallback). Headless Chromium on SwiftShader and
/// Firefox on lavapipe are both recognised (tests/engine.test.mjs, tests/kernels.test.mjs).
pub fn cpu_emulated(info: &wgpu::AdapterInfo) -> bool {
    let name = info.name.to_ascii_lowercase();
    info.device_type == wgpu::DeviceType::Cpu
        || ["llvmpipe", "lavapipe", "swiftshader", "warp"].iter().any(|e| name.contains(e))
}

impl KernelVariants {
    /// What every WebGPU device runs: workgroup-memory reductions, f32 only.
    /// (Its mat-mul tiling is the register one, which needs nothing either.)
    pub const BASELINE: KernelVariants =
        KernelVariants { reduction: Reduction::Workgroup, f16: false, matmul: MatmulTiling::Registers };

    /// Decide from the adapter's features, whether it is a CPU emulator ([`cpu_emulated`]) and
    /// the caller's request. A variant the request marks [`Use::On`] that the adapter lacks is
    /// an [`Error::GpuUnavailable`].
    pub fn choose(offered: wgpu::Features, emulated: bool, request: VariantRequest) -> Result<Self> {
        let pick = |want: Use, feature: wgpu::Features, name: &str| match want {
            Use::Off => Ok(false),
            Use::Auto => Ok(offered.contains(feature)),
            Use::On if offered.contains(feature) => Ok(true),
            Use::On => Err(Error::GpuUnavailable(format!("the adapter lacks the {name:?} feature"))),
        };
        let subgroups = pick(request.subgroups, wgpu::Features::SUBGROUP, "subgroups")?;
        let f16 = pick(request.f16, wgpu::Features::SHADER_F16, "shader-f16")?;
        let workgroup_tiles = match request.matmul_workgroup {
            Use::Auto => !emulated,
            want => want == Use::On,
        };
        // f16 arithmetic only when asked for (see the module's notes).
        let matmul = match (workgroup_tiles, f16 && request.f16 == Use::On) {
            (false, _) => MatmulTiling::Registers,
            (true, false) => MatmulTiling::Workgroup,
            (true, true) => MatmulTiling::WorkgroupF16,
        };
        Ok(KernelVariants {
            reduction: if subgroups { Reduction::Subgroup } else { Reduction::Workgroup },
            f16,
            matmul,
        })
    }

    /// The device features these variants need.
    pub fn features(self) -> wgpu::Features {
        let mut f = wgpu::Features::empty();
        if self.reduction == Reduction::Subgroup {
            f |= wgpu::Features::SUBGROUP;
        }
        if self.f16 || self.matmul == MatmulTiling::WorkgroupF16 {
            f |= wgpu::Features::SHADER_F16;
        }
        f
    }

    /// For logs and `gpuInfo`, e.g. `subgroup reductions (size 8..8), f32 only, workgroup
    /// mat-mul tiles`.
    pub fn describe(self, info: &wgpu::AdapterInfo) -> String {
        let reduction = match self.reduction {
            Reduction::Subgroup => {
                format!("subgroup reductions (size {}..{})", info.subgroup_min_size, info.subgroup_max_size)
            }
            Reduction::Workgroup => "workgroup-memory reductions".to_string(),
        };
        let f16 = match (self.f16, self.matmul) {
            (true, MatmulTiling::WorkgroupF16) => "shader-f16 (prefill mat-mul tiles)",
            (true, _) => "shader-f16 (requested, unused)",
            (false, _) => "f32 only",
        };
        format!("{reduction}, {f16}, {} mat-mul tiles", self.matmul.name())
    }
}

/// Whether one variant may be used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Use {
    /// When the adapter offers it (the default).
    #[default]
    Auto,
    /// Never: the baseline form runs instead.
    Off,
    /// Always: creating the context fails if the adapter lacks it.
    On,
}

/// The caller's say over [`KernelVariants::choose`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VariantRequest {
    pub subgroups: Use,
    pub f16: Use,
    /// [`MatmulTiling::Workgroup`] when on, [`MatmulTiling::Registers`] when off; by default
    /// the workgroup tiles except on CPU emulators.
    pub matmul_workgroup: Use,
}

impl VariantRequest {
    /// Everything off: the baseline kernels.
    pub const BASELINE: VariantRequest =
        VariantRequest { subgroups: Use::Off, f16: Use::Off, matmul_workgroup: Use::Off };

    /// The request furthest from `chosen`: the baseline reductions, no f16 and the other
    /// mat-mul tiling. With `chosen` itself, a test that runs both covers every reduction the
    /// device has and both tilings in two runs.
    pub fn contrast(chosen: KernelVariants) -> VariantRequest {
        let workgroup_tiles = chosen.matmul == MatmulTiling::Registers;
        VariantRequest {
            matmul_workgroup: if workgroup_tiles { Use::On } else { Use::Off },
            ..VariantRequest::BASELINE
        }
    }

    /// The optional features to ask the device for: those of every variant this request does
    /// not rule out that the adapter offers (`offered`). [`KernelVariants::choose`] then decides
    /// from the device's features.
    pub fn features_to_request(self, offered: wgpu::Features) -> wgpu::Features {
        let mut f = wgpu::Features::empty();
        if self.subgroups != Use::Off {
            f |= wgpu::Features::SUBGROUP;
        }
        if self.f16 != Use::Off {
            f |= wgpu::Features::SHADER_F16;
        }
        f & offered
    }

    /// Parse a comma-separated list: `subgroups` / `nosubgroups`, `f16` / `nof16`,
    /// `wgmatmul` / `nowgmatmul` (`auto` and empty items are ignored). E.g.
    /// `nosubgroups,nof16,nowgmatmul` forces the baseline.
    pub fn parse(s: &str) -> Result<Self> {
        let mut r = VariantRequest::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            match item.to_ascii_lowercase().as_str() {
                "subgroups" => r.subgroups = Use::On,
                "nosubgroups" => r.subgroups = Use::Off,
                "f16" => r.f16 = Use::On,
                "nof16" => r.f16 = Use::Off,
                "wgmatmul" => r.matmul_workgroup = Use::On,
                "nowgmatmul" => r.matmul_workgroup = Use::Off,
                "auto" => {}
                _ => {
                    return Err(Error::InvalidArgument(format!(
                        "unknown kernel variant {item:?} (expected subgroups, nosubgroups, f16, nof16, \
                         wgmatmul, nowgmatmul)"
                    )))
                }
            }
        }
        Ok(r)
    }

    /// This request with its [`Use::Auto`] entries taken from `BRASA_VARIANTS` (native only; on
    /// wasm32 there is no environment).
    pub fn with_env(self) -> Result<Self> {
        #[cfg(not(target_arch = "wasm32"))]
        if let Ok(s) = std::env::var("BRASA_VARIANTS") {
            let env = Self::parse(&s).map_err(|e| Error::InvalidArgument(format!("BRASA_VARIANTS: {e}")))?;
            let or = |mine: Use, theirs: Use| if mine == Use::Auto { theirs } else { mine };
            return Ok(VariantRequest {
                subgroups: or(self.subgroups, env.subgroups),
                f16: or(self.f16, env.f16),
                matmul_workgroup: or(self.matmul_workgroup, env.matmul_workgroup),
            });
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulators_are_recognised() {
        let info = |name: &str, device_type| wgpu::AdapterInfo {
            name: name.into(),
            vendor: 0,
            device: 0,
            device_type,
            device_pci_bus_id: String::new(),
            driver: String::new(),
            driver_info: String::new(),
            backend: wgpu::Backend::Vulkan,
            subgroup_min_size: 4,
            subgroup_max_size: 4,
            transient_saves_memory: None,
            limit_bucket: None,
        };
        assert!(cpu_emulated(&info("llvmpipe (LLVM 19.1.7, 256 bits)", wgpu::DeviceType::Cpu)));
        assert!(cpu_emulated(&info("SwiftShader Device (Subzero)", wgpu::DeviceType::Other)));
        assert!(!cpu_emulated(&info("NVIDIA H100 80GB HBM3", wgpu::DeviceType::DiscreteGpu)));
        assert!(!cpu_emulated(&info("", wgpu::DeviceType::Other)));
    }

    #[test]
    fn parse_and_choose() {
        let all = wgpu::Features::SUBGROUP | wgpu::Features::SHADER_F16;
        let none = wgpu::Features::empty();
        let auto = VariantRequest::default();
        assert_eq!(VariantRequest::parse("").unwrap(), auto);
        assert_eq!(
            VariantRequest::parse(" nosubgroups , NOF16,nowgmatmul ").unwrap(),
            VariantRequest::BASELINE
        );
        assert!(VariantRequest::parse("fast").is_err());

        let v = KernelVariants::choose(all, false, auto).unwrap();
        assert_eq!(
            v,
            KernelVariants { reduction: Reduction::Subgroup, f16: true, matmul: MatmulTiling::Workgroup }
        );
        // An emulator gets the register tiles unless asked; a request decides either way.
        assert_eq!(KernelVariants::choose(all, true, auto).unwrap().matmul, MatmulTiling::Registers);
        let wg = VariantRequest::parse("wgmatmul").unwrap();
        assert_eq!(KernelVariants::choose(none, true, wg).unwrap().matmul, MatmulTiling::Workgroup);
        // f16 tiles only when f16 is asked for, on workgroup tiles, and never without the feature.
        let wg16 = VariantRequest::parse("wgmatmul,f16").unwrap();
        assert_eq!(KernelVariants::choose(all, true, wg16).unwrap().matmul, MatmulTiling::WorkgroupF16);
        let f16 = VariantRequest::parse("f16").unwrap();
        assert_eq!(KernelVariants::choose(all, false, f16).unwrap().matmul, MatmulTiling::WorkgroupF16);
        assert_eq!(KernelVariants::choose(all, true, f16).unwrap().matmul, MatmulTiling::Registers);
        assert!(KernelVariants::choose(none, false, wg16).is_err());
        assert_eq!(v.features(), all);
        assert_eq!(KernelVariants::choose(none, true, auto).unwrap(), KernelVariants::BASELINE);
        assert_eq!(
            KernelVariants::choose(all, false, VariantRequest::BASELINE).unwrap(),
            KernelVariants::BASELINE
        );
        assert_eq!(KernelVariants::BASELINE.features(), none);
        let want = VariantRequest::parse("subgroups").unwrap();
        assert!(matches!(KernelVariants::choose(none, false, want), Err(Error::GpuUnavailable(_))));
        assert_eq!(
            KernelVariants::choose(wgpu::Features::SUBGROUP, false, want).unwrap().reduction,
            Reduction::Subgroup
        );

        // The device is asked for what the request allows and the adapter offers; the variants
        // chosen from that device are those chosen from the adapter.
        for offered in [all, none, wgpu::Features::SUBGROUP, wgpu::Features::SHADER_F16] {
            for request in ["", "nosubgroups", "nof16", "nosubgroups,nof16", "subgroups", "f16"] {
                let r = VariantRequest::parse(request).unwrap();
                let device = r.features_to_request(offered);
                assert!(offered.contains(device), "{request:?} asks only for offered features");
                let from_device = KernelVariants::choose(device, false, r).map(|v| (v, v.features()));
                let from_adapter = KernelVariants::choose(offered, false, r).map(|v| (v, v.features()));
                assert_eq!(from_device, from_adapter, "{request:?} on {offered:?}");
                if let Ok((_, needs)) = from_device {
                    assert_eq!(needs, device, "{request:?}: the device gets exactly what the variants need");
                }
            }
        }
    }
}
