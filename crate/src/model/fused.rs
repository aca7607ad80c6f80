//! Fused projection tensors, split at upload: Phi-3 stores q, k and v as one `attn_qkv` matrix
//! and gate and up as one `ffn_up` of twice the rows. Their rows are consecutive row ranges of
//! the parts, so the loader writes each range of the incoming (repacked) bytes into the part's
//! own GPU weight, and the forward pass sees ordinary `ffn_gate`/`ffn_up` weights (or the
//! stacked gate/up weight, `model::stacked`). `attn_qkv` is already the stacked q/k/v weight the
//! forward pass wants (`model::qkv`): it is uploaded whole.

use crate::error::{Error, Result};
use crate::gpu::{GpuContext, GpuWeight};
use crate::model::hparams::{Arch, HParams};

/// A fused tensor and the tensors (name, rows) it holds, in row order.
pub struct FusedTensor {
    pub name: String,
    pub parts: Vec<(String, u64)>,
    /// For a gate/up tensor: its layer, whose stacked weight (`model::stacked`) it may fill
    /// instead of the two parts.
    pub gate_up_of: Option<u32>,
    /// For a q/k/v tensor: its layer, whose stacked q/k/v weight (`model::qkv`) it is.
    pub qkv_of: Option<u32>,
}

/// The fused tensors an architecture may store (each only when the file has it).
pub fn fused_tensors(hp: &HParams) -> Vec<FusedTensor> {
    if hp.arch != Arch::Phi3 {
        return Vec::new();
    }
    let (q, kv, ff) = (hp.q_dim() as u64, hp.kv_dim() as u64, hp.n_ff as u64);
    let mut out = Vec::new();
    for il in 0..hp.n_layer {
        let n = |s: &str| format!("blk.{il}.{s}.weight");
        out.push(FusedTensor {
            name: n("attn_qkv"),
            parts: vec![(n("attn_q"), q), (n("attn_k"), kv), (n("attn_v"), kv)],
            gate_up_of: None,
            qkv_of: Some(il),
        });
        // SwiGLU's halves: the first is the gate, the second the up projection.
        out.push(FusedTensor {
            name: n("ffn_up"),
            parts: vec![(n("ffn_gate"), ff), (n("ffn_up"), ff)],
            gate_up_of: Some(il),
            qkv_of: None,
        });
    }
    out
}

/// Writes `data`, which starts at byte `offset` of the fused tensor's GPU layout, into the
/// parts (`targets`, consecutive row ranges in order, all of one block type and width).
pub fn write_split(ctx: &GpuContext, targets: &[GpuWeight], mut offset: u64, mut data: &[u8]) -> Result<()> {
    let mut start = 0u64; // first byte of the current target in the fused layout
    for t in targets {
        let end = start + t.gpu_bytes();
        if offset < end && !data.is_empty() {
            let n = ((end - offset) as usize).min(data.len());
            ctx.write_weight(t, offset - start, &data[..n])?;
            data = &data[n..];
            offset += n as u64;
        }
        start = end;
    }
    if !data.is_empty() {
        return Err(Error::InvalidModel(format!("{} bytes past the end of a fused tensor", data.len())));
    }
    Ok(())
}
