//! Every composed shader (every kernel × every block format × every variant) parses and
//! validates with naga — the baseline variants under baseline capabilities (no f16, no
//! subgroups), the subgroup variants with subgroups, the f16 mat-mul tiles with f16 —, stays within WebGPU's default
//! compute limits, and its uniform struct has the size of its Rust twin. No GPU needed.
#![cfg(feature = "gpu")]

use brasa::kernels::{MatmulOut, MatmulTiling, PipelineKey, Reduction};

/// WebGPU default limits every kernel must fit.
const MAX_INVOCATIONS: u32 = 256;
const MAX_WORKGROUP_BYTES: u32 = 16 * 1024;
const MAX_STORAGE_BINDINGS: usize = 8;

fn parse_and_validate(key: PipelineKey) -> (naga::Module, naga::valid::ModuleInfo) {
    let src = key.source();
    let module = naga::front::wgsl::parse_str(&src)
        .unwrap_or_else(|e| panic!("{}: WGSL parse error:\n{}", key.label(), e.emit_to_string(&src)));
    // SHADER_FLOAT16_IN_FLOAT32 is naga's name for pack/unpack2x16float, core WGSL builtins
    // (not the `shader-f16` feature); wgpu grants it on every WebGPU-capable device.
    let mut caps = naga::valid::Capabilities::SHADER_FLOAT16_IN_FLOAT32;
    assert_eq!(
        src.starts_with("enable f16;"),
        key.uses_f16(),
        "{}: f16 only where the key says",
        key.label()
    );
    if key.uses_f16() {
        caps |= naga::valid::Capabilities::SHADER_FLOAT16;
    }
    let mut validator = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps);
    if key.reduction() == Some(Reduction::Subgroup) {
        // What WebGPU's `subgroups` feature offers: no subgroup barriers, compute stage.
        caps |= naga::valid::Capabilities::SUBGROUP;
        validator = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps);
        validator.subgroup_stages(naga::valid::ShaderStages::COMPUTE).subgroup_operations(
            naga::valid::SubgroupOperationSet::BASIC
                | naga::valid::SubgroupOperationSet::VOTE
                | naga::valid::SubgroupOperationSet::ARITHMETIC
                | naga::valid::SubgroupOperationSet::BALLOT
                | naga::valid::SubgroupOperationSet::SHUFFLE
                | naga::valid::SubgroupOperationSet::SHUFFLE_RELATIVE,
        );
    }
    let info = validator
        .validate(&module)
        .unwrap_or_else(|e| panic!("{}: validation error:\n{}", key.label(), e.emit_to_string(&src)));
    (module, info)
}

#[test]
fn all_shaders_validate_within_limits() {
    let keys = PipelineKey::all();
    assert!(keys.len() >= 16 + 9, "every kernel × format is listed");
    for r in [Reduction::Workgroup, Reduction::Subgroup] {
        assert!(
            keys.iter().any(|k| matches!(k, PipelineKey::Matvec(_, x, ..) if *x == r)),
            "matvec {r:?} is listed"
        );
        assert!(keys.iter().any(|k| matches!(k, PipelineKey::RmsNorm { reduction, .. } if *reduction == r)));
    }
    for key in keys {
        let (module, _info) = parse_and_validate(key);
        let ep = module
            .entry_points
            .iter()
            .find(|e| e.name == key.entry_point())
            .unwrap_or_else(|| panic!("{}: no entry point {}", key.label(), key.entry_point()));
        let [x, y, z] = ep.workgroup_size;
        assert!(x * y * z <= MAX_INVOCATIONS, "{}: workgroup {x}x{y}x{z}", key.label());

        let mut layouter = naga::proc::Layouter::default();
        layouter.update(module.to_ctx()).expect("layout");
        let mut wg_bytes = 0;
        let mut storage = 0;
        for (_, var) in module.global_variables.iter() {
            match var.space {
                naga::AddressSpace::WorkGroup => wg_bytes += layouter[var.ty].size,
                naga::AddressSpace::Storage { .. } => storage += 1,
                _ => {}
            }
        }
        assert!(wg_bytes <= MAX_WORKGROUP_BYTES, "{}: {wg_bytes} bytes of workgroup memory", key.label());
        assert!(storage <= MAX_STORAGE_BINDINGS, "{}: {storage} storage bindings", key.label());

        // The uniform struct matches its #[repr(C)] Rust twin, and is what binding 0 holds.
        let (name, rust_size) = key.uniform_struct();
        let (handle, ty) = module
            .types
            .iter()
            .find(|(_, t)| t.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{}: no struct {name}", key.label()));
        assert_eq!(layouter[handle].size as usize, rust_size, "{}: {name} size", key.label());
        assert_eq!(rust_size % 16, 0, "{name}: uniform structs are padded to 16 bytes");
        if let naga::TypeInner::Struct { members, .. } = &ty.inner {
            // All members are 4-byte scalars or arrays of them, packed in order.
            assert_eq!(
                members.iter().map(|m| layouter[m.ty].size).sum::<u32>() as usize,
                rust_size,
                "{name}: padding"
            );
        }
        let uniform = module
            .global_variables
            .iter()
            .find(|(_, v)| v.space == naga::AddressSpace::Uniform)
            .map(|(_, v)| (v.ty, v.binding));
        assert_eq!(
            uniform,
            Some((handle, Some(naga::ResourceBinding { group: 0, binding: 0 }))),
            "{}: binding 0 is the {name} uniform",
            key.label()
        );
    }
}

/// BRASA_DUMP_WGSL writes what the pipelines are built from; the dump is the composed source.
#[test]
fn composed_source_starts_with_the_format_include() {
    for ty in brasa::quant::QuantType::ALL {
        for tiling in [MatmulTiling::Registers, MatmulTiling::Workgroup, MatmulTiling::WorkgroupF16] {
            let src = PipelineKey::Matmul(ty, MatmulOut::Plain, tiling).source();
            assert!(src.contains("fn dequant8("), "{ty:?}");
            assert_eq!(src.matches("fn dequant8(").count(), 1, "{ty:?}: exactly one format include");
            assert!(src.contains("struct MatmulParams"));
            assert_eq!(src.contains("var<workgroup>"), tiling.in_workgroup_memory(), "{ty:?} {tiling:?}");
        }
    }
    assert!(!PipelineKey::Rope.source().contains("dequant8"));
}

/// The baseline variants use no subgroup builtin; each subgroup variant does (so the
/// variant really differs), and its label says so.
#[test]
fn variants_differ_where_they_should() {
    for key in PipelineKey::all() {
        let src = key.source();
        match key.reduction() {
            Some(Reduction::Subgroup) => {
                assert!(src.contains("subgroupAdd("), "{}", key.label());
                assert!(key.label().ends_with("_sg"), "{}", key.label());
            }
            _ => assert!(
                !src.contains("subgroupAdd(") && !src.contains("@builtin(subgroup"),
                "{}: baseline uses subgroups",
                key.label()
            ),
        }
    }
}
