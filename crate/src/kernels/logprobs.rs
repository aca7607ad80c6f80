//! Log-probabilities of sampled tokens and their top alternatives (shaders/logprobs.wgsl), so
//! that OpenAI's `logprobs`/`top_logprobs` cost a few hundred bytes of readback, not the logits.

use super::{Batch, PipelineKey};

/// Most alternatives per token (OpenAI's limit for `top_logprobs`).
pub const MAX_TOP_LOGPROBS: u32 = 20;

/// u32 words one token's log-probabilities take in the output: the chosen (id, logprob) and
/// `n_top` pairs.
pub const fn logprob_words(n_top: u32) -> u32 {
    2 + 2 * n_top
}

/// Uniforms of shaders/logprobs.wgsl (`LogprobParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct LogprobParams {
    pub n_vocab: u32,
    pub row: u32,
    pub slot: u32,
    pub n_top: u32,
    pub offset: u32,
    pub _pad: [u32; 3],
}

impl Batch<'_> {
    /// Writes, at u32 `offset` of `out`: the token `tokens[slot]` and its log-probability under
    /// logits row `row`, then the `n_top` (≤ [`MAX_TOP_LOGPROBS`]) most likely tokens with theirs
    /// (logit descending, ties by lower id), logprobs as f32 bits.
    #[allow(clippy::too_many_arguments)]
    pub fn logprobs(
        &mut self,
        logits: &wgpu::Buffer,
        row: u32,
        n_vocab: u32,
        tokens: &wgpu::Buffer,
        slot: u32,
        n_top: u32,
        out: &wgpu::Buffer,
        offset: u32,
    ) {
        let n_top = n_top.min(MAX_TOP_LOGPROBS);
        let end = (offset + logprob_words(n_top)) as u64 * 4;
        if n_vocab == 0
            || !self.need("logprobs logits", logits, (row as u64 + 1) * n_vocab as u64 * 4)
            || !self.need("logprobs tokens", tokens, (slot as u64 + 1) * 4)
            || !self.need("logprobs out", out, end)
        {
            return;
        }
        let params = LogprobParams { n_vocab, row, slot, n_top, offset, _pad: [0; 3] };
        self.dispatch(PipelineKey::Logprobs, &params, &[(1, logits), (2, tokens), (3, out)], (1, 1, 1));
    }
}
