// y[t, y_col0 + r] = sum_k W[w_row0 + r, k] * x[t, k]   for r < rows, t < n_tokens.
//
// Composed after one block-format include (quant/*.wgsl) that provides dequant8().
// A workgroup of 64 invocations computes RPW = 8 rows for a tile of TT = 8 tokens: each row gets
// TPR = 8 invocations that split its groups of 8 elements; every dequantized group is used for
// all tokens of the tile, so a weight block is decoded once per 8 tokens (prefill) and the same
// kernel is a plain mat-vec when n_tokens = 1 (decode).
// Grid: (x, y) = row blocks of RPW rows (2D because of the 65535 per-dimension limit),
//       z = token tiles.

struct MatmulParams {
    rows: u32, // rows of W computed by this dispatch
    cols: u32, // elements per row (the reduction length)
    row_words: u32, // u32 words per W row in GPU layout
    w_row0: u32, // first row to compute, relative to this weight part
    n_tokens: u32,
    y_stride: u32, // floats per row of y
    y_col0: u32, // column of y that receives row 0 of this dispatch
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: MatmulParams;
// One part of the weight: [part rows, row_words] u32 words of GPU blocks.
@group(0) @binding(1) var<storage, read> w: array<u32>;
// Activations: [n_tokens, cols] f32.
@group(0) @binding(2) var<storage, read> x: array<f32>;
// Output: [n_tokens, y_stride] f32.
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

const TPR: u32 = 8u; // invocations per row
const RPW: u32 = 8u; // rows per workgroup
const TT: u32 = 8u; // tokens per tile

// Partial sums: [RPW * TPR invocations, TT tokens].
var<workgroup> partial: array<f32, 512>;

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let row_block = wid.x + wid.y * nwg.x;
    let lr = lid / TPR;
    let lane = lid % TPR;
    let r = row_block * RPW + lr;
    let t0 = wid.z * TT;
    let nt = min(TT, params.n_tokens - t0);
    let live = r < params.rows;
    let cols = params.cols;

    var acc: array<f32, 8>;
    if (live) {
        let row_word = (params.w_row0 + r) * params.row_words;
        let full_groups = cols / 8u;
        for (var g = lane; g < full_groups; g += TPR) {
            var wv = dequant8(row_word, g);
            for (var t = 0u; t < nt; t++) {
                let xb = (t0 + t) * cols + g * 8u;
                var s = 0.0;
                for (var i = 0u; i < 8u; i++) {
                    s = fma(wv[i], x[xb + i], s);
                }
                acc[t] += s;
            }
        }
        // Rows of F32/F16 may end inside a group: the last lane takes the remainder.
        let tail = cols % 8u;
        if (tail != 0u && lane == TPR - 1u) {
            var wv = dequant8(row_word, full_groups);
            for (var t = 0u; t < nt; t++) {
                let xb = (t0 + t) * cols + full_groups * 8u;
                for (var i = 0u; i < tail; i++) {
                    acc[t] = fma(wv[i], x[xb + i], acc[t]);
                }
            }
        }
    }
    for (var t = 0u; t < TT; t++) {
        partial[lid * TT + t] = acc[t];
    }
    workgroupBarrier();
    // Lane l of each row reduces token l (TPR == TT).
    if (live && lane < nt) {
        var s = 0.0;
        for (var j = 0u; j < TPR; j++) {
            s += partial[(lr * TPR + j) * TT + lane];
        }
        y[(t0 + lane) * params.y_stride + params.y_col0 + r] = s;
    }
}
