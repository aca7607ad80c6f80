//! Will it fit? The GPU memory a model needs, from its GGUF header alone: the weights in their
//! GPU layout, the K/V cache at a context length, and the scratch buffers of the forward pass —
//! the same buffers `ModelLoader` and `Session` create (a test holds them to the byte counts
//! the GPU counters record). Checked against a device's limits before anything is downloaded.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::gguf::GgufFile;
use crate::kernels::KvType;
use crate::model::hparams::HParams;
use crate::model::qkv;
use crate::model::weights::{expected_tensors, matrix_shape, ROPE_FACTORS};
use crate::quant::QuantType;

const F32: u64 = 4;

/// What a model needs, in bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryPlan {
    pub hp: HParams,
    /// Elements of every tensor in the file (the parameter count).
    pub parameters: u64,
    /// Tensors by ggml type name.
    pub tensor_types: BTreeMap<&'static str, u32>,
    /// The tensors the model uses, in their GPU layout.
    pub weight_bytes: u64,
    /// K and V of every layer at `ctx_size` tokens.
    pub kv_cache_bytes: u64,
    /// Activations for `max_batch` tokens, the LM head's rows and the sampler's buffers.
    pub scratch_bytes: u64,
    /// The largest buffer that cannot be split (a layer's K or V cache, the logits).
    pub largest_buffer: u64,
    /// The widest weight row (weights are split into buffers by whole rows).
    pub largest_row: u64,
}

/// How a plan compares with a device.
#[derive(Clone, Debug, PartialEq)]
pub struct FitVerdict {
    pub fits: bool,
    /// Why not, one line each (empty when it fits).
    pub reasons: Vec<String>,
}

impl MemoryPlan {
    /// The plan for a session of `ctx_size` tokens with a K/V cache of `kv_type`, prefilling
    /// `max_batch` at a time, as `Session::new` sizes it (16 LM-head rows).
    pub fn new(file: &GgufFile, ctx_size: u32, kv_type: KvType, max_batch: u32) -> Result<Self> {
        let n_vocab = match file.tensor("token_embd.weight") {
            Some(t) => matrix_shape(t).0 as u32,
            None => file.metadata.get_str_array("tokenizer.ggml.tokens")?.len() as u32,
        };
        let hp = HParams::from_metadata(&file.metadata, n_vocab)?;
        let mut tensor_types = BTreeMap::new();
        let mut parameters = 0;
        for t in &file.tensors {
            *tensor_types.entry(QuantType::ggml_name(t.type_id)).or_default() += 1;
            parameters += t.n_elements();
        }
        let (mut weight_bytes, mut largest_row) = (0, 0);
        let mut has_rope_factors = false;
        for (name, rows, cols, _) in expected_tensors(&hp) {
            // A fused tensor (Phi-3's attn_qkv, gate/up ffn_up) holds its parts' rows.
            let Some(t) = file.tensors.iter().find(|t| t.name == name).or_else(|| fused_holder(file, &name))
            else {
                continue;
            };
            has_rope_factors |= name == ROPE_FACTORS;
            let ty = match t.name == name {
                true => stored_type(file, &name)?.unwrap_or(QuantType::for_tensor(&name, t.type_id)?),
                false => QuantType::for_tensor(&name, t.type_id)?,
            };
            let row = ty.gpu_row_bytes(cols);
            weight_bytes += row * rows;
            largest_row = largest_row.max(row);
        }
        if !has_rope_factors {
            weight_bytes += hp.head_dim as u64 / 2 * F32; // the loader's ones
        }
        let kv_layer = (ctx_size as u64 * hp.kv_dim() as u64 * kv_type.bytes()).max(F32);
        let batch = max_batch.min(ctx_size);
        let logit_rows = 16;
        let logits = logit_rows * hp.n_vocab as u64 * F32;
        Ok(MemoryPlan {
            parameters,
            tensor_types,
            weight_bytes,
            kv_cache_bytes: 2 * hp.n_layer as u64 * kv_layer,
            scratch_bytes: activation_bytes(&hp, batch as u64, logit_rows) + session_extra_bytes(),
            largest_buffer: kv_layer.max(logits),
            largest_row,
            hp,
        })
    }

    pub fn total_bytes(&self) -> u64 {
        self.weight_bytes + self.kv_cache_bytes + self.scratch_bytes
    }

    /// Compares with a device's largest buffer binding (`maxStorageBufferBindingSize` capped by
    /// `maxBufferSize`) and, when known, the memory the model may use.
    pub fn verdict(&self, max_binding: u64, memory_budget: Option<u64>) -> FitVerdict {
        let mut reasons = Vec::new();
        if self.largest_buffer > max_binding {
            reasons.push(format!(
                "a {} MiB buffer (K/V cache of one layer, or the logits) exceeds the device's {} MiB binding limit: use a shorter context",
                self.largest_buffer >> 20,
                max_binding >> 20
            ));
        }
        if self.largest_row > max_binding {
            reasons.push(format!(
                "a weight row of {} bytes exceeds the device's binding limit of {max_binding} bytes",
                self.largest_row
            ));
        }
        if let Some(budget) = memory_budget.filter(|&b| self.total_bytes() > b) {
            reasons.push(format!(
                "the model needs {} MiB of GPU memory, more than the {} MiB available",
                self.total_bytes() >> 20,
                budget >> 20
            ));
        }
        FitVerdict { fits: reasons.is_empty(), reasons }
    }
}

/// The block type a layer's q, k or v projection `name` is stored in when its layer's three
/// projections stack into a wider type than its own (`model::qkv::stacks`); `None` otherwise.
fn stored_type(file: &GgufFile, name: &str) -> Result<Option<QuantType>> {
    let Some((il, p)) = (0..3).find_map(|p| {
        let rest =
            name.strip_prefix("blk.")?.strip_suffix(&format!(".attn_{}.weight", qkv::PROJECTIONS[p]))?;
        Some((rest.parse::<u32>().ok()?, p))
    }) else {
        return Ok(None);
    };
    let mut types = [QuantType::F32; 3];
    for (i, proj) in qkv::PROJECTIONS.iter().enumerate() {
        let tensor = qkv::tensor_name(il, proj);
        let Some(t) = file.tensor(&tensor) else { return Ok(None) };
        types[i] = QuantType::for_tensor(&tensor, t.type_id)?;
    }
    Ok(Some(qkv::stored_types(types)[p]))
}

/// The fused tensor of `file` that holds tensor `part` (see `model::fused`), if any.
fn fused_holder<'f>(file: &'f GgufFile, part: &str) -> Option<&'f crate::gguf::TensorInfo> {
    let (layer, what) = part.strip_prefix("blk.")?.split_once('.')?;
    let fused = match what {
        "attn_q.weight" | "attn_k.weight" | "attn_v.weight" => "attn_qkv.weight",
        // Phi-3's gate/up tensor is named ffn_up: ffn_up itself is found by name.
        "ffn_gate.weight" => "ffn_up.weight",
        _ => return None,
    };
    file.tensor(&format!("blk.{layer}.{fused}"))
}

/// Bytes of the forward pass's scratch buffers (`ForwardBuffers`) for `t` tokens per call and
/// `logit_rows` LM-head rows: tokens, x, x2, xn, qkv, attn, o, gate, up, act, head_in, logits,
/// and the split decode attention's partials.
fn activation_bytes(hp: &HParams, t: u64, logit_rows: u64) -> u64 {
    let (e, q, kv, ff) = (hp.n_embd as u64, hp.q_dim() as u64, hp.kv_dim() as u64, hp.n_ff as u64);
    let partials = crate::kernels::decode_partials_len(hp.n_head, hp.head_dim);
    // (+ e: the decoded token's second residual buffer, x2)
    let elems =
        t * (1 + 3 * e + 2 * q + 2 * kv + 3 * ff) + e + logit_rows * (e + hp.n_vocab as u64) + partials;
    elems * F32
}

/// A session's own small buffers: two readback slots, the logprobs output and the penalty ring.
fn session_extra_bytes() -> u64 {
    crate::generate::SESSION_SMALL_BUFFER_BYTES
}
