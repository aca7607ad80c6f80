// out[t, :] = dequant(W row tokens[t]) * scale, for the tokens whose row lies in this weight
// part (one dispatch per part). Composed after one block-format include (quant/*.wgsl).
// Grid: x = groups of 64 * 8 columns, y = token.

struct EmbedParams {
    cols: u32, // elements per row
    row_words: u32, // u32 words per W row in GPU layout
    part_row0: u32, // first row of W held by this part
    part_rows: u32, // rows held by this part
    total_rows: u32, // rows of the whole W (vocabulary size)
    zero_invalid: u32, // 1: write zeros for token ids >= total_rows (done by one dispatch only)
    scale: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: EmbedParams;
// One part of the weight: [part_rows, row_words] u32 words of GPU blocks.
@group(0) @binding(1) var<storage, read> w: array<u32>;
// Token ids: [n_tokens] u32.
@group(0) @binding(2) var<storage, read> tokens: array<u32>;
// Output: [n_tokens, cols] f32.
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let t = wid.y;
    let g = wid.x * 64u + lid;
    let cols = params.cols;
    if (g * 8u >= cols) {
        return;
    }
    let tok = tokens[t];
    let ob = t * cols + g * 8u;
    let n = min(8u, cols - g * 8u);
    if (tok >= params.part_row0 && tok - params.part_row0 < params.part_rows) {
        var v = dequant8((tok - params.part_row0) * params.row_words, g);
        for (var i = 0u; i < n; i++) {
            out[ob + i] = v[i] * params.scale;
        }
    } else if (params.zero_invalid != 0u && tok >= params.total_rows) {
        for (var i = 0u; i < n; i++) {
            out[ob + i] = 0.0;
        }
    }
}
