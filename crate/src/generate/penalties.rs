//! The per-call state of the logit bias and the repetition penalties: a GPU ring of the recent
//! token ids (the prompt's last ones, then every sampled one, appended on the GPU by a 4-byte
//! copy right after sampling), so sampled tokens never need to come back to the host first.

use crate::error::{Error, Result};
use crate::generate::sampler::{GenParams, MAX_PENALTY_WINDOW};
use crate::gpu::{GpuContext, OwnedBuffer};
use crate::kernels::{Batch, Penalties, SampleArgs};

/// Bytes of a session's ring of recent token ids.
pub(crate) const RING_BYTES: u64 = MAX_PENALTY_WINDOW as u64 * 4;

pub(crate) struct PenaltyState {
    penalties: Option<Penalties>,
    /// Ring capacity in tokens (`penalty_last_n`).
    window: u32,
    /// Valid entries of the ring.
    n_recent: u32,
    /// Ring slot of the next sampled token.
    next: u32,
    /// `u32 [MAX_PENALTY_WINDOW]`, owned by the session.
    ring: wgpu::Buffer,
    /// `[id: u32, bias: f32 bits]` pairs, and their count.
    bias: Option<(OwnedBuffer, u32)>,
}

impl PenaltyState {
    /// Loads the ring with the last `penalty_last_n` ids of `prompt` and uploads the logit bias.
    pub(crate) fn new(
        ctx: &GpuContext,
        ring: &wgpu::Buffer,
        params: &GenParams,
        prompt: &[u32],
        n_vocab: u32,
    ) -> Result<Self> {
        let bias = params.merged_logit_bias();
        if let Some((id, _)) = bias.iter().find(|(id, _)| *id >= n_vocab) {
            return Err(Error::InvalidArgument(format!(
                "logit_bias names token {id}, outside the vocabulary ({n_vocab})"
            )));
        }
        let bias = if bias.is_empty() {
            None
        } else {
            let words: Vec<u32> = bias.iter().flat_map(|(id, b)| [*id, b.to_bits()]).collect();
            let buf = ctx.storage_buffer("logit bias", words.len() as u64 * 4)?;
            ctx.write_buffer(&buf, 0, bytemuck::cast_slice(&words))?;
            Some((buf, bias.len() as u32))
        };
        let penalties = params.penalties();
        let window = params.penalty_last_n.min(MAX_PENALTY_WINDOW);
        let mut n_recent = 0;
        if penalties.is_some() {
            let tail = &prompt[prompt.len().saturating_sub(window as usize)..];
            ctx.write_buffer(ring, 0, bytemuck::cast_slice(tail))?;
            n_recent = tail.len() as u32;
        }
        let next = if window == 0 { 0 } else { n_recent % window };
        Ok(PenaltyState { penalties, window, n_recent, next, ring: ring.clone(), bias })
    }

    /// Records the sampling of row `row` of `logits`: the bias and penalties (when on), the
    /// sample into `tokens[slot]`, and the append of that token to the ring.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sample(
        &mut self,
        b: &mut Batch,
        logits: &wgpu::Buffer,
        row: u32,
        n_vocab: u32,
        args: &SampleArgs,
        tokens: &wgpu::Buffer,
        slot: u32,
    ) {
        let (bias_buf, n_bias) = match &self.bias {
            Some((buf, n)) => (&**buf, *n),
            None => (&self.ring, 0),
        };
        let p = self.penalties.unwrap_or_default();
        b.penalize(logits, row, n_vocab, bias_buf, n_bias, &self.ring, self.n_recent, &p);
        b.sample(logits, row, n_vocab, args, tokens, slot);
        if self.penalties.is_some() && self.window > 0 {
            b.copy_buffer(tokens, slot as u64 * 4, &self.ring, self.next as u64 * 4, 4);
            self.next = (self.next + 1) % self.window;
            self.n_recent = (self.n_recent + 1).min(self.window);
        }
    }
}

/// A session's ring of recent token ids (the `ring` of [`PenaltyState::new`]).
pub(crate) fn ring_buffer(ctx: &GpuContext) -> Result<OwnedBuffer> {
    ctx.storage_buffer("recent tokens", RING_BYTES)
}
