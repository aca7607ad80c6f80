// y[t, y_col0 + r] = sum_k W[w_row0 + r, k] * x[t, k]   for r < rows, t < n_tokens (prefill),
// the workgroup-memory form of matmul.wgsl: the same includes (matmul_tile.wgsl: parameters,
// bindings, grid, store()), the same tile per invocation.
//
// A workgroup covers RPW = 64 rows × TPW = 64 tokens and walks the reduction in steps of
// KC = 32 elements. Per step, invocation i decodes elements k .. k + 32 of row i of its block
// into `ws` and copies the same elements of token i into `xs`; after a barrier every invocation
// multiplies its 8 rows × 8 tokens from workgroup memory. So each weight element is decoded once
// per workgroup (matmul.wgsl decodes it once per tile of 8 tokens, 8 times per workgroup) and
// each x element is read from storage once per workgroup (there: once per octet of rows).
// That is what a GPU with fast workgroup memory and expensive decode wants; CPU emulators
// (lavapipe, SwiftShader), which gain nothing from it, get matmul.wgsl (gpu::MatmulTiling).
//
// Layout in workgroup memory: slot-major by vec4 of k, `ws[q * 64 + slot]` holds elements
// 4q .. 4q + 4 of the step for row slot; row 8o + j of the block sits in slot j * 8 + o (x:
// token 8p + j in slot j * 8 + p). The 8 octets (o) of a SIMD group read rows j * 8 + 0..7
// together, 8 neighbouring vec4s: no bank conflicts. 2 × 8 × 64 vec4 = 16 KiB, WebGPU's default
// workgroup storage limit (8 KiB in f16).
//
// The composer puts `alias tile4 = vec4<f32>;` (or `vec4<f16>` after `enable f16;`: the f16
// variant, gpu::MatmulTiling::WorkgroupF16) before this file. In f16, the decoded weights and
// the activations are rounded to f16 as they enter the tiles, each dot of 4 products is taken
// in f16, and the dots are summed in f32.

const KC: u32 = 32u; // reduction elements per step
const QPS: u32 = KC / 4u; // vec4s per row and step

var<workgroup> ws: array<tile4, 512>; // QPS × RPW
var<workgroup> xs: array<tile4, 512>; // QPS × TPW

// The slot of row (or token) i of the block: i = 8a + b goes to b * 8 + a (and back).
fn slot(i: u32) -> u32 {
    return (i % 8u) * 8u + i / 8u;
}

// Step k0 of the weight row whose first word is `row_word` into slot s: 4 groups of 8, those
// past the row's end zeroed (rows of F32/F16 may end inside a group or a step; the words read
// there belong to the next row).
fn load_w(row_word: u32, k0: u32, s: u32) {
    let cols = params.cols;
    for (var h = 0u; h < KC / 8u; h++) {
        let k = k0 + h * 8u;
        var v = mat2x4<f32>(vec4<f32>(0.0), vec4<f32>(0.0));
        if (k < cols) {
            v = dequant8(row_word, k / 8u);
        }
        ws[(2u * h) * RPW + s] = tile4(select4(v[0], k, cols));
        ws[(2u * h + 1u) * RPW + s] = tile4(select4(v[1], k + 4u, cols));
    }
}

// Step k0 of x row `base` (a token's first element) into slot s, zero past the row's end.
fn load_x(base: u32, k0: u32, s: u32) {
    let cols = params.cols;
    for (var q = 0u; q < QPS; q++) {
        let k = k0 + q * 4u;
        let i = base + k;
        let v = vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
        xs[q * TPW + s] = tile4(select4(v, k, cols));
    }
}

// The dot products of 4 weight vec4s with one x vec4, in the tiles' precision; returned in f32.
fn dot4(w0: tile4, w1: tile4, w2: tile4, w3: tile4, v: tile4) -> vec4<f32> {
    return vec4<f32>(tile4(dot(w0, v), dot(w1, v), dot(w2, v), dot(w3, v)));
}

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r_block = (wid.x + wid.y * nwg.x) * RPW;
    let t_block = wid.z * TPW;
    // What this invocation loads: slot lid, i.e. row slot(lid) and token slot(lid) of the block
    // (the mapping is its own inverse; neighbours write neighbouring slots), clamped to the last
    // row and token (their values are computed and never stored).
    let i = slot(lid);
    let load_row = params.w_row0 + min(r_block + i, params.rows - 1u);
    let row_word = load_row * params.row_words;
    let x_base = min(t_block + i, params.n_tokens - 1u) * params.cols;
    // What it computes: rows r_block + 8o .. + 8, tokens t_block + 8p .. + 8.
    let o = lid % 8u;
    let p = lid / 8u;
    let r = r_block + o * 8u;
    let t = t_block + p * 8u;
    // Tiles past the last token compute nothing, but still reach every barrier.
    let computes = t < params.n_tokens;

    // a_j: token t + j, rows r .. r + 4; b_j: token t + j, rows r + 4 .. r + 8.
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    var a4 = vec4<f32>(0.0);
    var a5 = vec4<f32>(0.0);
    var a6 = vec4<f32>(0.0);
    var a7 = vec4<f32>(0.0);
    var b0 = vec4<f32>(0.0);
    var b1 = vec4<f32>(0.0);
    var b2 = vec4<f32>(0.0);
    var b3 = vec4<f32>(0.0);
    var b4 = vec4<f32>(0.0);
    var b5 = vec4<f32>(0.0);
    var b6 = vec4<f32>(0.0);
    var b7 = vec4<f32>(0.0);
    let steps = (params.cols + KC - 1u) / KC;
    for (var step = 0u; step < steps; step++) {
        let k0 = step * KC;
        load_w(row_word, k0, lid);
        load_x(x_base, k0, lid);
        workgroupBarrier();
        if (computes) {
            for (var q = 0u; q < QPS; q++) {
                let wq = q * RPW + o; // row 8o + j is in slot j * 8 + o
                let w0 = ws[wq];
                let w1 = ws[wq + 8u];
                let w2 = ws[wq + 16u];
                let w3 = ws[wq + 24u];
                let w4 = ws[wq + 32u];
                let w5 = ws[wq + 40u];
                let w6 = ws[wq + 48u];
                let w7 = ws[wq + 56u];
                let xq = q * TPW + p;
                let v0 = xs[xq];
                a0 += dot4(w0, w1, w2, w3, v0);
                b0 += dot4(w4, w5, w6, w7, v0);
                let v1 = xs[xq + 8u];
                a1 += dot4(w0, w1, w2, w3, v1);
                b1 += dot4(w4, w5, w6, w7, v1);
                let v2 = xs[xq + 16u];
                a2 += dot4(w0, w1, w2, w3, v2);
                b2 += dot4(w4, w5, w6, w7, v2);
                let v3 = xs[xq + 24u];
                a3 += dot4(w0, w1, w2, w3, v3);
                b3 += dot4(w4, w5, w6, w7, v3);
                let v4 = xs[xq + 32u];
                a4 += dot4(w0, w1, w2, w3, v4);
                b4 += dot4(w4, w5, w6, w7, v4);
                let v5 = xs[xq + 40u];
                a5 += dot4(w0, w1, w2, w3, v5);
                b5 += dot4(w4, w5, w6, w7, v5);
                let v6 = xs[xq + 48u];
                a6 += dot4(w0, w1, w2, w3, v6);
                b6 += dot4(w4, w5, w6, w7, v6);
                let v7 = xs[xq + 56u];
                a7 += dot4(w0, w1, w2, w3, v7);
                b7 += dot4(w4, w5, w6, w7, v7);
            }
        }
        // The next step overwrites ws and xs.
        workgroupBarrier();
    }
    store(t, r, a0, b0);
    store(t + 1u, r, a1, b1);
    store(t + 2u, r, a2, b2);
    store(t + 3u, r, a3, b3);
    store(t + 4u, r, a4, b4);
    store(t + 5u, r, a5, b5);
    store(t + 6u, r, a6, b6);
    store(t + 7u, r, a7, b7);
}
