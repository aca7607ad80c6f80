//! GPU kernels: one Rust module per WGSL file under `shaders/`, each adding its typed op to
//! [`Batch`].
//!
//! Activations are f32 storage buffers, row-major. Ops are recorded into a [`Batch`] (one
//! command encoder, one compute pass between copies, one uniform arena), so a whole forward
//! pass is a single submit. Pipelines are built lazily on first use and cached by a typed
//! [`PipelineKey`]; [`Kernels::prepare`] builds a set ahead of time.
//!
//! Ops do not return errors one by one: the first problem (a bad argument, a pipeline that failed
//! to build) is kept in the batch and returned by [`Batch::submit`], and nothing is submitted.

mod add_norm;
mod attention;
mod attention_decode;
mod batch;
mod bind_cache;
mod copy;
mod elementwise;
mod embed;
mod logprobs;
mod matmul;
mod nll;
mod norm;
mod penalty;
mod profile;
mod qk_rope;
mod rope;
mod sample;
pub mod shaders;
mod transpose;

pub use attention::AttentionArgs;
pub use attention_decode::{decode_partials_len, decode_splits, DecodeAttentionArgs, MAX_DECODE_SPLITS};
pub use batch::{Batch, Submitted};
pub use bind_cache::BindGroupCache;
pub use logprobs::{logprob_words, MAX_TOP_LOGPROBS};
pub use matmul::{NormedInput, OutCols, MAX_NORMED_INPUT};
pub use penalty::Penalties;
pub use profile::{DispatchTime, Profiler};
pub use qk_rope::{QkNorms, QkRopeArgs};
pub use sample::{SampleArgs, NON_FINITE_TOKEN};

pub use crate::gpu::{MatmulTiling, Reduction};

use crate::error::{Error, Result};
use crate::gpu::{GpuContext, OwnedBuffer};
use crate::quant::QuantType;
use std::collections::HashMap;
use std::sync::Mutex;

/// Rotary embedding variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RopeMode {
    /// Rotate pairs (i, i + n_rot/2): GPT-NeoX, Gemma, Qwen, Phi-3.
    Neox,
    /// Rotate adjacent pairs (2i, 2i + 1): Llama, Mistral.
    Normal,
}

/// How the K/V cache stores its values (the `kv/*.wgsl` include of the attention kernels).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KvType {
    /// f32: exact, as the activations.
    F32,
    /// f16 pairs packed in u32 words (no `shader-f16` needed): half the memory and half the
    /// attention's cache reads; llama.cpp's default cache type.
    #[default]
    F16,
}

impl KvType {
    /// Bytes one cached value takes.
    pub fn bytes(self) -> u64 {
        match self {
            KvType::F32 => 4,
            KvType::F16 => 2,
        }
    }

    /// `f32` or `f16`.
    pub fn name(self) -> &'static str {
        match self {
            KvType::F32 => "f32",
            KvType::F16 => "f16",
        }
    }

    /// Parses `f32` or `f16` (the CLI's and the JS options' spelling).
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" => Ok(KvType::F32),
            "f16" => Ok(KvType::F16),
            _ => Err(Error::InvalidArgument(format!("unknown K/V cache type {s:?} (expected f16 or f32)"))),
        }
    }
}

/// Activation of a gated feed-forward layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    /// GELU with the tanh approximation (Gemma).
    GeluTanh,
    /// SiLU / swish (Llama family).
    Silu,
}

/// What a mat-mul kernel writes (the output include, `shaders/store/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatmulOut {
    /// Each dot product: `y = W·x`.
    Plain,
    /// The gated activation over a stacked gate/up weight (`model::stacked`): `y = act(gate·x)
    /// · (up·x)`, half as many outputs as the weight has rows.
    Glu(Activation),
}

/// What the mat-vec reads as its vector (the input include, `shaders/input/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatvecIn {
    /// A buffer as it is.
    Plain,
    /// A vector of `len` floats (≥ the columns) with the previous block's residual update and
    /// this block's norm still to apply ([`NormedInput`]).
    AddNorm { len: u32 },
}

/// Identifies one compute pipeline: a kernel family and its variant. Kernels with a
/// [`Reduction`] take it from the context's [`crate::gpu::KernelVariants`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PipelineKey {
    /// Matrix × a batch of token vectors (prefill): shaders/matmul.wgsl, or
    /// shaders/matmul_workgroup.wgsl for the workgroup-memory tiles.
    Matmul(QuantType, MatmulOut, MatmulTiling),
    /// Matrix × one vector (decode, LM head): shaders/matvec.wgsl.
    Matvec(QuantType, Reduction, MatmulOut, MatvecIn),
    Embed(QuantType),
    RmsNorm {
        in_place: bool,
        reduction: Reduction,
    },
    Rope,
    /// shaders/attention.wgsl with `rows` query rows per workgroup at most (1 or 8), over a
    /// cache of `kv`.
    Attention {
        rows: u32,
        kv: KvType,
    },
    /// One decoded token's attention with its q/k norms (when `norm`), RoPE and cache writes:
    /// shaders/attention_decode.wgsl.
    AttentionDecode {
        norm: bool,
        reduction: Reduction,
        kv: KvType,
    },
    /// Merges a split decode attention's partials: shaders/attention_combine.wgsl.
    AttentionCombine,
    GatedAct(Activation),
    AddInplace,
    /// A bias vector added to every row: shaders/elementwise.wgsl.
    AddBias,
    /// `cap · tanh(y / cap)` in place: shaders/elementwise.wgsl.
    Softcap,
    /// q/k norms + RoPE + K/V cache writes: shaders/qk_rope.wgsl.
    QkRope {
        norm: bool,
        reduction: Reduction,
        kv: KvType,
    },
    /// Residual add fused with the norms around it: shaders/add_norm.wgsl.
    AddNorm {
        post_norm: bool,
        reduction: Reduction,
    },
    /// Logit bias and repetition penalties before sampling: shaders/penalty.wgsl.
    Penalty,
    Sample,
    Nll,
    /// Log-probabilities of a sampled token and its top alternatives: shaders/logprobs.wgsl.
    Logprobs,
    /// The benchmark's plain copy kernel: shaders/copy.wgsl.
    Copy,
    /// Transposing row copy (K cache writes): shaders/transpose.wgsl.
    Transpose,
}

/// The pipeline cache and the pool of uniform-arena buffers, for one [`GpuContext`].
pub struct Kernels {
    pipelines: Mutex<HashMap<PipelineKey, wgpu::ComputePipeline>>,
    /// Uniform-arena chunks returned by finished batches (queue writes are ordered with
    /// submits, so a chunk can be rewritten for the next batch at once).
    arena_pool: Mutex<Vec<OwnedBuffer>>,
}

impl Kernels {
    /// An empty cache; pipelines are built on first use (or by [`Self::prepare`]).
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        ctx.check()?;
        Ok(Self { pipelines: Mutex::new(HashMap::new()), arena_pool: Mutex::new(Vec::new()) })
    }

    /// Build the pipelines for `keys` now (e.g. every kernel a model will use, at load time).
    pub fn prepare(&self, ctx: &GpuContext, keys: &[PipelineKey]) -> Result<()> {
        for &k in keys {
            self.pipeline(ctx, k)?;
        }
        ctx.check()
    }

    /// Start recording a batch of ops.
    pub fn batch<'a>(&'a self, ctx: &'a GpuContext) -> Batch<'a> {
        Batch::new(self, ctx)
    }

    /// The pipeline for `key`, built and cached on first use.
    pub(crate) fn pipeline(&self, ctx: &GpuContext, key: PipelineKey) -> Result<wgpu::ComputePipeline> {
        let mut cache = self.pipelines.lock().map_err(|_| Error::Gpu("pipeline cache poisoned".into()))?;
        if let Some(p) = cache.get(&key) {
            return Ok(p.clone());
        }
        let source = key.source();
        shaders::dump(key, &source);
        let label = key.label();
        let module = ctx.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(&label),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let pipeline = ctx.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&label),
            layout: None,
            module: &module,
            entry_point: Some(key.entry_point()),
            compilation_options: Default::default(),
            cache: None,
        });
        // A WGSL or pipeline error lands in the context's error slot.
        ctx.check()?;
        cache.insert(key, pipeline.clone());
        Ok(pipeline)
    }

    /// The keys of the pipelines built so far.
    pub fn pipeline_keys(&self) -> Vec<PipelineKey> {
        self.pipelines.lock().map(|c| c.keys().copied().collect()).unwrap_or_default()
    }

    fn take_arena_chunk(&self) -> Option<OwnedBuffer> {
        self.arena_pool.lock().ok()?.pop()
    }

    fn return_arena_chunks(&self, chunks: impl IntoIterator<Item = OwnedBuffer>) {
        if let Ok(mut pool) = self.arena_pool.lock() {
            pool.extend(chunks);
        }
    }
}
