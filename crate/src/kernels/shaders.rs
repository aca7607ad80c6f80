//! WGSL sources and their composition.
//!
//! Each kernel family is one file under `shaders/`; kernels that read weights are composed with
//! exactly one block-format include (`shaders/quant/*.wgsl`), which provides
//! `fn dequant8(row_word: u32, g: u32) -> mat2x4<f32>` over the kernel's `w: array<u32>`
//! binding. Kernels with a [`Reduction`] variant are composed with one reduction include
//! (`shaders/reduce/`): `sum_*.wgsl` (workgroup-wide sums, the norms) or `team_*.wgsl` (teams
//! splitting a dot product, the mat-vec), each in a `workgroup` (baseline) and a `subgroup`
//! form with the same interface. The mat-mul kernels take an output include (`shaders/store/`):
//! plain, or the gated activation of a stacked gate/up weight; the mat-vec also an input
//! include (`shaders/input/`): the vector as it is, or with a residual update and norm applied;
//! the two prefill mat-mul kernels (register and workgroup-memory tiles) follow
//! `shaders/matmul_tile.wgsl`, their shared parameters, bindings and tile store. Composition is plain
//! concatenation keyed by [`PipelineKey`]: no text is spliced (the composer only adds constant
//! lines such as `MAX_ROWS`, `XS_LEN` and the GLU's activation name). Set `BRASA_DUMP_WGSL=dir` to write every composed shader to
//! `dir/<key>.wgsl`.

use super::{Activation, KvType, MatmulOut, MatmulTiling, MatvecIn, PipelineKey, Reduction};
use crate::quant::QuantType;

/// The kernel-family files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Family {
    Matmul,
    MatmulWorkgroup,
    Matvec,
    Embed,
    Norm,
    AddNorm,
    QkRope,
    Rope,
    Attention,
    AttentionDecode,
    AttentionCombine,
    Elementwise,
    Penalty,
    Sample,
    Nll,
    Logprobs,
    Copy,
    Transpose,
}

impl Family {
    fn text(self) -> &'static str {
        match self {
            Family::Matmul => include_str!("../../../shaders/matmul.wgsl"),
            Family::MatmulWorkgroup => include_str!("../../../shaders/matmul_workgroup.wgsl"),
            Family::Matvec => include_str!("../../../shaders/matvec.wgsl"),
            Family::Embed => include_str!("../../../shaders/embed.wgsl"),
            Family::Norm => include_str!("../../../shaders/norm.wgsl"),
            Family::AddNorm => include_str!("../../../shaders/add_norm.wgsl"),
            Family::QkRope => include_str!("../../../shaders/qk_rope.wgsl"),
            Family::Rope => include_str!("../../../shaders/rope.wgsl"),
            Family::Attention => include_str!("../../../shaders/attention.wgsl"),
            Family::AttentionDecode => include_str!("../../../shaders/attention_decode.wgsl"),
            Family::AttentionCombine => include_str!("../../../shaders/attention_combine.wgsl"),
            Family::Elementwise => include_str!("../../../shaders/elementwise.wgsl"),
            Family::Penalty => include_str!("../../../shaders/penalty.wgsl"),
            Family::Sample => include_str!("../../../shaders/sample.wgsl"),
            Family::Nll => include_str!("../../../shaders/nll.wgsl"),
            Family::Logprobs => include_str!("../../../shaders/logprobs.wgsl"),
            Family::Copy => include_str!("../../../shaders/copy.wgsl"),
            Family::Transpose => include_str!("../../../shaders/transpose.wgsl"),
        }
    }
}

/// The kinds of reduction include.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReduceInclude {
    /// `reduce_sum()`: a sum over the whole workgroup.
    Sum,
    /// `team_of()`, `team_sum4()`: teams of invocations sharing a dot product.
    Team,
}

fn reduce_include(kind: ReduceInclude, r: Reduction) -> &'static str {
    match (kind, r) {
        (ReduceInclude::Sum, Reduction::Workgroup) => {
            include_str!("../../../shaders/reduce/sum_workgroup.wgsl")
        }
        (ReduceInclude::Sum, Reduction::Subgroup) => {
            include_str!("../../../shaders/reduce/sum_subgroup.wgsl")
        }
        (ReduceInclude::Team, Reduction::Workgroup) => {
            include_str!("../../../shaders/reduce/team_workgroup.wgsl")
        }
        (ReduceInclude::Team, Reduction::Subgroup) => {
            include_str!("../../../shaders/reduce/team_subgroup.wgsl")
        }
    }
}

/// What a subgroup variant needs in front of it in the browser. WebGPU wants the extension
/// enabled. And Chromium's uniformity analysis sees the mat-vec's `subgroupAdd` in non-uniform
/// control flow: the loop's trip count, ceil(QUADS / num_subgroups), comes from the `Inv`
/// parameter, which it counts as non-uniform as a whole (it also holds
/// `local_invocation_index`), though `num_subgroups` is the same in every invocation of a
/// workgroup; so that diagnostic is turned off (every `subgroupAdd` is reached by whole
/// subgroups: see shaders/reduce/team_subgroup.wgsl).
pub const BROWSER_SUBGROUP_DIRECTIVES: &str = "enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n";

/// The rotation of a RoPE pair (shaders/rope/angle.wgsl), for the kernels that rotate.
const ROPE_ANGLE: &str = include_str!("../../../shaders/rope/angle.wgsl");

/// The K/V cache include of the attention kernels: its bindings and pair accessors.
fn kv_include(kv: KvType) -> &'static str {
    match kv {
        KvType::F32 => include_str!("../../../shaders/kv/f32.wgsl"),
        KvType::F16 => include_str!("../../../shaders/kv/f16.wgsl"),
    }
}

/// What both prefill mat-mul kernels share (shaders/matmul_tile.wgsl).
const MATMUL_TILE: &str = include_str!("../../../shaders/matmul_tile.wgsl");

/// The activations (shaders/act.wgsl), for the gated elementwise ops and the GLU output.
const ACT: &str = include_str!("../../../shaders/act.wgsl");

/// The output include of a mat-mul; the GLU's is preceded by the activations and the line that
/// names the one it applies.
fn store_include(out: MatmulOut) -> String {
    match out {
        MatmulOut::Plain => include_str!("../../../shaders/store/plain.wgsl").to_string(),
        MatmulOut::Glu(act) => {
            let name = match act {
                Activation::GeluTanh => "gelu_tanh",
                Activation::Silu => "silu",
            };
            format!(
                "{ACT}\nfn glu_act(v: f32) -> f32 {{ return {name}(v); }}\n{}",
                include_str!("../../../shaders/store/glu.wgsl")
            )
        }
    }
}

/// The input include of a mat-vec; the normed one is preceded by its workgroup array's size.
fn input_include(input: MatvecIn) -> String {
    match input {
        MatvecIn::Plain => include_str!("../../../shaders/input/plain.wgsl").to_string(),
        MatvecIn::AddNorm { len } => {
            format!("const XS_LEN: u32 = {len}u;\n{}", include_str!("../../../shaders/input/add_norm.wgsl"))
        }
    }
}

/// Label suffix of a mat-mul output: empty for the plain one.
fn out_label(out: MatmulOut) -> String {
    match out {
        MatmulOut::Plain => String::new(),
        MatmulOut::Glu(act) => format!("_glu_{act:?}").to_lowercase(),
    }
}

/// The block-format include for a weight type.
fn quant_include(ty: QuantType) -> &'static str {
    match ty {
        QuantType::F32 => include_str!("../../../shaders/quant/f32.wgsl"),
        QuantType::F16 => include_str!("../../../shaders/quant/f16.wgsl"),
        QuantType::BF16 => include_str!("../../../shaders/quant/bf16.wgsl"),
        QuantType::Q4_0 => include_str!("../../../shaders/quant/q4_0.wgsl"),
        QuantType::Q4_1 => include_str!("../../../shaders/quant/q4_1.wgsl"),
        QuantType::Q5_0 => include_str!("../../../shaders/quant/q5_0.wgsl"),
        QuantType::Q5_1 => include_str!("../../../shaders/quant/q5_1.wgsl"),
        QuantType::Q8_0 => include_str!("../../../shaders/quant/q8_0.wgsl"),
        QuantType::Q2_K => include_str!("../../../shaders/quant/q2_k.wgsl"),
        QuantType::Q3_K => include_str!("../../../shaders/quant/q3_k.wgsl"),
        QuantType::Q4_K => include_str!("../../../shaders/quant/q4_k.wgsl"),
        QuantType::Q5_K => include_str!("../../../shaders/quant/q5_k.wgsl"),
        QuantType::Q6_K => include_str!("../../../shaders/quant/q6_k.wgsl"),
    }
}

impl PipelineKey {
    /// Every pipeline brasa can build (for validation and warm-up).
    pub fn all() -> Vec<PipelineKey> {
        const REDUCTIONS: [Reduction; 2] = [Reduction::Workgroup, Reduction::Subgroup];
        const TILINGS: [MatmulTiling; 3] =
            [MatmulTiling::Registers, MatmulTiling::Workgroup, MatmulTiling::WorkgroupF16];
        let mut v = Vec::new();
        const OUTS: [MatmulOut; 3] =
            [MatmulOut::Plain, MatmulOut::Glu(Activation::GeluTanh), MatmulOut::Glu(Activation::Silu)];
        for ty in QuantType::ALL {
            for out in OUTS {
                v.extend(TILINGS.map(|tiling| PipelineKey::Matmul(ty, out, tiling)));
                for input in [MatvecIn::Plain, MatvecIn::AddNorm { len: 640 }] {
                    v.extend(REDUCTIONS.map(|r| PipelineKey::Matvec(ty, r, out, input)));
                }
            }
            v.push(PipelineKey::Embed(ty));
        }
        for reduction in REDUCTIONS {
            v.extend([
                PipelineKey::RmsNorm { in_place: false, reduction },
                PipelineKey::RmsNorm { in_place: true, reduction },
                PipelineKey::AddNorm { post_norm: true, reduction },
                PipelineKey::AddNorm { post_norm: false, reduction },
            ]);
            for kv in [KvType::F32, KvType::F16] {
                for norm in [true, false] {
                    v.push(PipelineKey::QkRope { norm, reduction, kv });
                    v.push(PipelineKey::AttentionDecode { norm, reduction, kv });
                }
            }
        }
        for kv in [KvType::F32, KvType::F16] {
            v.push(PipelineKey::Attention { rows: 1, kv });
            v.push(PipelineKey::Attention { rows: super::attention::PREFILL_ROWS, kv });
        }
        v.extend([
            PipelineKey::Rope,
            PipelineKey::AttentionCombine,
            PipelineKey::GatedAct(Activation::GeluTanh),
            PipelineKey::GatedAct(Activation::Silu),
            PipelineKey::AddInplace,
            PipelineKey::AddBias,
            PipelineKey::Softcap,
            PipelineKey::Penalty,
            PipelineKey::Sample,
            PipelineKey::Nll,
            PipelineKey::Logprobs,
            PipelineKey::Copy,
            PipelineKey::Transpose,
        ]);
        v
    }

    /// The reduction variant of this pipeline and the include kind it takes, if any.
    pub fn reduction(self) -> Option<Reduction> {
        self.reduce_include().map(|(_, r)| r)
    }

    fn reduce_include(self) -> Option<(ReduceInclude, Reduction)> {
        match self {
            PipelineKey::Matvec(_, r, ..) => Some((ReduceInclude::Team, r)),
            PipelineKey::RmsNorm { reduction, .. }
            | PipelineKey::AddNorm { reduction, .. }
            | PipelineKey::QkRope { reduction, .. }
            | PipelineKey::AttentionDecode { reduction, .. } => Some((ReduceInclude::Sum, reduction)),
            _ => None,
        }
    }

    fn parts(self) -> (Option<QuantType>, Family) {
        match self {
            PipelineKey::Matmul(ty, _, MatmulTiling::Registers) => (Some(ty), Family::Matmul),
            PipelineKey::Matmul(ty, _, MatmulTiling::Workgroup | MatmulTiling::WorkgroupF16) => {
                (Some(ty), Family::MatmulWorkgroup)
            }
            PipelineKey::Matvec(ty, ..) => (Some(ty), Family::Matvec),
            PipelineKey::Embed(ty) => (Some(ty), Family::Embed),
            PipelineKey::RmsNorm { .. } => (None, Family::Norm),
            PipelineKey::AddNorm { .. } => (None, Family::AddNorm),
            PipelineKey::QkRope { .. } => (None, Family::QkRope),
            PipelineKey::Rope => (None, Family::Rope),
            PipelineKey::Attention { .. } => (None, Family::Attention),
            PipelineKey::AttentionDecode { .. } => (None, Family::AttentionDecode),
            PipelineKey::AttentionCombine => (None, Family::AttentionCombine),
            PipelineKey::GatedAct(_)
            | PipelineKey::AddInplace
            | PipelineKey::AddBias
            | PipelineKey::Softcap => (None, Family::Elementwise),
            PipelineKey::Penalty => (None, Family::Penalty),
            PipelineKey::Sample => (None, Family::Sample),
            PipelineKey::Nll => (None, Family::Nll),
            PipelineKey::Logprobs => (None, Family::Logprobs),
            PipelineKey::Copy => (None, Family::Copy),
            PipelineKey::Transpose => (None, Family::Transpose),
        }
    }

    /// The complete WGSL module for this pipeline: the block-format include (if any), the
    /// reduction include (if any), then the kernel family file. In the browser the subgroup
    /// variants start with [`BROWSER_SUBGROUP_DIRECTIVES`], which naga (natively) rejects;
    /// naga validates the rest.
    pub fn source(self) -> String {
        let (quant, family) = self.parts();
        let mut s = String::new();
        // Directives come before any declaration.
        if self.uses_f16() {
            s.push_str("enable f16;\n");
        }
        #[cfg(target_arch = "wasm32")]
        if self.reduction() == Some(Reduction::Subgroup) {
            s.push_str(BROWSER_SUBGROUP_DIRECTIVES);
        }
        if family == Family::MatmulWorkgroup {
            // The element type of the workgroup tiles.
            let t = if self.uses_f16() { "f16" } else { "f32" };
            s.push_str(&format!("alias tile4 = vec4<{t}>;\n"));
        }
        if let PipelineKey::Attention { rows, .. } = self {
            // The one constant the attention file leaves to its composer: register arrays
            // must have constant sizes.
            s.push_str(&format!("const MAX_ROWS: u32 = {rows}u;\n"));
        }
        if matches!(family, Family::Rope | Family::QkRope | Family::AttentionDecode) {
            s.push_str(ROPE_ANGLE);
            s.push('\n');
        }
        if let Some(kv) = self.kv() {
            s.push_str(kv_include(kv));
            s.push('\n');
        }
        if let Some(ty) = quant {
            s.push_str(quant_include(ty));
            s.push('\n');
        }
        if let Some((kind, r)) = self.reduce_include() {
            s.push_str(reduce_include(kind, r));
            s.push('\n');
        }
        if let PipelineKey::Matvec(.., input) = self {
            s.push_str(&input_include(input));
            s.push('\n');
        }
        if let Some(out) = self.matmul_out() {
            s.push_str(&store_include(out));
            s.push('\n');
        }
        if matches!(family, Family::Elementwise) {
            s.push_str(ACT);
            s.push('\n');
        }
        if matches!(family, Family::Matmul | Family::MatmulWorkgroup) {
            s.push_str(MATMUL_TILE);
            s.push('\n');
        }
        s.push_str(family.text());
        s
    }

    /// The K/V cache type of an attention pipeline.
    /// Whether the kernel computes in f16 (and so needs the `shader-f16` feature).
    pub fn uses_f16(self) -> bool {
        matches!(self, PipelineKey::Matmul(_, _, MatmulTiling::WorkgroupF16))
    }

    pub fn kv(self) -> Option<KvType> {
        match self {
            PipelineKey::Attention { kv, .. }
            | PipelineKey::QkRope { kv, .. }
            | PipelineKey::AttentionDecode { kv, .. } => Some(kv),
            _ => None,
        }
    }

    /// The output of a mat-mul pipeline.
    fn matmul_out(self) -> Option<MatmulOut> {
        match self {
            PipelineKey::Matmul(_, out, _) | PipelineKey::Matvec(_, _, out, _) => Some(out),
            _ => None,
        }
    }

    /// The entry point in [`Self::source`].
    pub fn entry_point(self) -> &'static str {
        match self {
            PipelineKey::RmsNorm { in_place: true, .. } => "main_inplace",
            PipelineKey::GatedAct(Activation::GeluTanh) => "gated_gelu",
            PipelineKey::GatedAct(Activation::Silu) => "gated_silu",
            PipelineKey::AddInplace => "add_inplace",
            PipelineKey::AddBias => "add_bias",
            PipelineKey::Softcap => "softcap",
            PipelineKey::AddNorm { post_norm: false, .. } => "main_plain",
            PipelineKey::QkRope { norm: false, .. } => "main_plain",
            PipelineKey::AttentionDecode { norm: false, .. } => "main_plain",
            _ => "main",
        }
    }

    /// A file-name-safe label, e.g. `matmul_Q4_K`, `matvec_Q8_0_sg` (subgroup variant).
    pub fn label(self) -> String {
        let mut label = self.family_label();
        if self.kv() == Some(KvType::F16) {
            label.push_str("_kv16");
        }
        if self.reduction() == Some(Reduction::Subgroup) {
            label.push_str("_sg");
        }
        label
    }

    fn family_label(self) -> String {
        match self {
            PipelineKey::Matmul(ty, out, tiling) => {
                let wg = match tiling {
                    MatmulTiling::Registers => "",
                    MatmulTiling::Workgroup => "_wg",
                    MatmulTiling::WorkgroupF16 => "_wg16",
                };
                format!("matmul{wg}_{}{}", ty.name(), out_label(out))
            }
            PipelineKey::Matvec(ty, _, out, input) => {
                let input = match input {
                    MatvecIn::Plain => String::new(),
                    MatvecIn::AddNorm { len } => format!("_addnorm{len}"),
                };
                format!("matvec_{}{}{input}", ty.name(), out_label(out))
            }
            PipelineKey::Embed(ty) => format!("embed_{}", ty.name()),
            PipelineKey::RmsNorm { in_place, .. } => {
                format!("rms_norm{}", if in_place { "_inplace" } else { "" })
            }
            PipelineKey::AddNorm { post_norm, .. } => {
                format!("add_norm{}", if post_norm { "_post" } else { "" })
            }
            PipelineKey::QkRope { norm, .. } => format!("qk_rope{}", if norm { "_norm" } else { "" }),
            PipelineKey::Rope => "rope".into(),
            PipelineKey::Attention { rows, .. } => format!("attention_{rows}rows"),
            PipelineKey::AttentionDecode { norm, .. } => {
                format!("attention_decode{}", if norm { "_norm" } else { "" })
            }
            PipelineKey::AttentionCombine => "attention_combine".into(),
            PipelineKey::GatedAct(a) => format!("gated_{a:?}").to_lowercase(),
            PipelineKey::AddInplace => "add_inplace".into(),
            PipelineKey::AddBias => "add_bias".into(),
            PipelineKey::Softcap => "softcap".into(),
            PipelineKey::Penalty => "penalty".into(),
            PipelineKey::Sample => "sample".into(),
            PipelineKey::Nll => "nll".into(),
            PipelineKey::Logprobs => "logprobs".into(),
            PipelineKey::Copy => "copy".into(),
            PipelineKey::Transpose => "transpose".into(),
        }
    }

    /// The WGSL uniform struct of this pipeline and the size of its Rust twin, for the layout
    /// test.
    pub fn uniform_struct(self) -> (&'static str, usize) {
        use std::mem::size_of;
        match self {
            PipelineKey::Matmul(..) | PipelineKey::Matvec(..) => {
                ("MatmulParams", size_of::<super::matmul::MatmulParams>())
            }
            PipelineKey::Embed(_) => ("EmbedParams", size_of::<super::embed::EmbedParams>()),
            PipelineKey::RmsNorm { .. } => ("NormParams", size_of::<super::norm::NormParams>()),
            PipelineKey::AddNorm { .. } => ("AddNormParams", size_of::<super::add_norm::AddNormParams>()),
            PipelineKey::QkRope { .. } => ("QkRopeParams", size_of::<super::qk_rope::QkRopeParams>()),
            PipelineKey::Rope => ("RopeParams", size_of::<super::rope::RopeParams>()),
            PipelineKey::Attention { .. } => {
                ("AttentionParams", size_of::<super::attention::AttentionParams>())
            }
            PipelineKey::AttentionDecode { .. } => {
                ("DecodeAttentionParams", size_of::<super::attention_decode::DecodeAttentionParams>())
            }
            PipelineKey::AttentionCombine => {
                ("CombineParams", size_of::<super::attention_decode::CombineParams>())
            }
            PipelineKey::GatedAct(_)
            | PipelineKey::AddInplace
            | PipelineKey::AddBias
            | PipelineKey::Softcap => {
                ("ElementwiseParams", size_of::<super::elementwise::ElementwiseParams>())
            }
            PipelineKey::Penalty => ("PenaltyParams", size_of::<super::penalty::PenaltyParams>()),
            PipelineKey::Sample => ("SampleParams", size_of::<super::sample::SampleParams>()),
            PipelineKey::Nll => ("NllParams", size_of::<super::nll::NllParams>()),
            PipelineKey::Logprobs => ("LogprobParams", size_of::<super::logprobs::LogprobParams>()),
            PipelineKey::Copy => ("CopyParams", size_of::<super::copy::CopyParams>()),
            PipelineKey::Transpose => ("TransposeParams", size_of::<super::transpose::TransposeParams>()),
        }
    }
}

/// Write the composed shader to `$BRASA_DUMP_WGSL/<label>.wgsl` when that variable is set.
pub(crate) fn dump(key: PipelineKey, source: &str) {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(dir) = std::env::var_os("BRASA_DUMP_WGSL") {
        let dir = std::path::PathBuf::from(dir);
        let path = dir.join(format!("{}.wgsl", key.label()));
        if let Err(e) = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, source)) {
            log::warn!("BRASA_DUMP_WGSL: cannot write {}: {e}", path.display());
        }
    }
    #[cfg(target_arch = "wasm32")]
    let _ = (key, source);
}
