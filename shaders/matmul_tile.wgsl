// What the two prefill mat-mul kernels (matmul.wgsl: register tiles, matmul_workgroup.wgsl:
// workgroup-memory tiles) share: their parameters and bindings, the tile of a workgroup (RPW rows
// × TPW tokens, 8 × 8 per invocation) and how an invocation stores its tile through the output
// include's store4().
// y[t, y_col0 + r] = sum_k W[w_row0 + r, k] * x[t, k]   for r < rows, t < n_tokens.
// Grid: (x, y) = row blocks of RPW rows (2D because of the 65535 per-dimension limit),
//       z = token blocks of TPW tokens.

struct MatmulParams {
    rows: u32, // rows of W computed by this dispatch
    cols: u32, // elements per row (the reduction length)
    row_words: u32, // u32 words per W row in GPU layout
    w_row0: u32, // first row to compute, relative to this weight part
    n_tokens: u32,
    y_stride: u32, // floats per row of y
    y_col0: u32, // column of y that receives row 0 of this dispatch
    write_x: u32, // the mat-vec's normed input only (input/add_norm.wgsl)
    has_post: u32, // the same
    eps: f32, // the same
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: MatmulParams;
// One part of the weight: [part rows, row_words] u32 words of GPU blocks.
@group(0) @binding(1) var<storage, read> w: array<u32>;
// Activations: [n_tokens, cols] f32.
@group(0) @binding(2) var<storage, read> x: array<f32>;
// Output: [n_tokens, y_stride] f32 (GLU output: [n_tokens, y_stride / 2]).
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

const RPW: u32 = 64u; // rows per workgroup
const TPW: u32 = 64u; // tokens per workgroup

// v (elements i .. i + 4 of a row) with the elements at or past `end` replaced by 0.
fn select4(v: vec4<f32>, i: u32, end: u32) -> vec4<f32> {
    let keep = (vec4<u32>(i) + vec4<u32>(0u, 1u, 2u, 3u)) < vec4<u32>(end);
    return select(vec4<f32>(0.0), v, keep);
}

// y of rows r .. r + 8 (those that exist) for token t, if it exists: a holds rows r .. r + 4,
// b rows r + 4 .. r + 8.
fn store(t: u32, r: u32, a: vec4<f32>, b: vec4<f32>) {
    if (t >= params.n_tokens || r >= params.rows) {
        return;
    }
    let o = t * params.y_stride + params.y_col0 + r;
    let n = params.rows - r;
    store4(o, n, a);
    if (n > 4u) {
        store4(o + 4u, n - 4u, b);
    }
}
