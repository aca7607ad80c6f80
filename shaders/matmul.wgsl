// y[t, y_col0 + r] = sum_k W[w_row0 + r, k] * x[t, k]   for r < rows, t < n_tokens (prefill;
// matvec.wgsl handles n_tokens = 1).
//
// Composed after one block-format include (quant/*.wgsl) that provides dequant8(), one output
// include (store/*.wgsl) that provides store4(): plain, or GLU over stacked gate/up rows, and
// matmul_tile.wgsl (the parameters, bindings, tile size and store() both mat-mul kernels share).
// Register tiling: each invocation owns a tile of 8 rows × 8 tokens, kept in sixteen vec4
// accumulators (per token, one over rows 0..3 and one over rows 4..7). Per group of 8 elements
// it decodes one group of each of its 8 rows and loads the 8 x values of each token once:
// 8 weight groups and 16 x vec4s feed 512 multiply-adds. Loads are what CPU emulators such as
// lavapipe pay most for (they run them lane by lane), and GPUs like the reuse too.
// The token loop is unrolled by hand with a fixed count: reads of tokens past n_tokens are
// clamped to the last token and their results are not stored, so there is no private array and
// no runtime trip count that would make a compiler keep the accumulators in memory.
// A workgroup of 64 invocations covers RPW = 64 rows (8 octets) × TPW = 64 tokens (8 tiles of
// 8); the invocations of one octet read the same weights, those of one tile the same x.

fn x4(i: u32) -> vec4<f32> {
    return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
}

// One decoded group of 8 elements from each of 4 rows.
struct Quad {
    r0: mat2x4<f32>,
    r1: mat2x4<f32>,
    r2: mat2x4<f32>,
    r3: mat2x4<f32>,
}

// Group g of the 4 rows whose first words are `rw`; elements at or past `end` are zeroed (rows
// of F32/F16 may end inside a group: the words read past the row belong to the next row).
fn quad(rw: vec4<u32>, g: u32, end: u32) -> Quad {
    let k = g * 8u;
    let m0 = select4(vec4<f32>(1.0), k, end);
    let m1 = select4(vec4<f32>(1.0), k + 4u, end);
    let mask = mat2x4<f32>(m0, m1);
    return Quad(
        mask_group(dequant8(rw.x, g), mask),
        mask_group(dequant8(rw.y, g), mask),
        mask_group(dequant8(rw.z, g), mask),
        mask_group(dequant8(rw.w, g), mask),
    );
}

fn mask_group(v: mat2x4<f32>, mask: mat2x4<f32>) -> mat2x4<f32> {
    return mat2x4<f32>(select(vec4<f32>(0.0), v[0], mask[0] != vec4<f32>(0.0)),
                       select(vec4<f32>(0.0), v[1], mask[1] != vec4<f32>(0.0)));
}

fn dot8(wv: mat2x4<f32>, xl: vec4<f32>, xh: vec4<f32>) -> f32 {
    return dot(wv[0], xl) + dot(wv[1], xh);
}

// x[i .. i + 8] as two vec4s.
fn x8(i: u32) -> mat2x4<f32> {
    return mat2x4<f32>(x4(i), x4(i + 4u));
}

// The quad's dot products with 8 x values.
fn quad_dot(q: Quad, xv: mat2x4<f32>) -> vec4<f32> {
    let xl = xv[0];
    let xh = xv[1];
    return vec4<f32>(dot8(q.r0, xl, xh), dot8(q.r1, xl, xh), dot8(q.r2, xl, xh), dot8(q.r3, xl, xh));
}

// Start of the x rows of tokens t .. t + 4, clamped to the last token.
fn x_rows(t: u32) -> vec4<u32> {
    let tc = min(vec4<u32>(t) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.n_tokens - 1u));
    return tc * params.cols;
}

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r = (wid.x + wid.y * nwg.x) * RPW + (lid % 8u) * 8u; // first row of the octet
    let t = wid.z * TPW + (lid / 8u) * 8u; // first token of the tile
    // Small batches (e.g. LM-head slices of 16 tokens) leave whole tiles empty: skip them. The 8
    // invocations of a tile are neighbours, so SIMD lanes leave together.
    if (t >= params.n_tokens) {
        return;
    }
    let cols = params.cols;
    // Rows past the end read the last row (so every invocation runs the same code) and store
    // nothing.
    let last = vec4<u32>(params.rows - 1u);
    let row0 = vec4<u32>(params.w_row0);
    let ra = (row0 + min(vec4<u32>(r) + vec4<u32>(0u, 1u, 2u, 3u), last)) * params.row_words;
    let rb = (row0 + min(vec4<u32>(r) + vec4<u32>(4u, 5u, 6u, 7u), last)) * params.row_words;
    let xa = x_rows(t);
    let xb = x_rows(t + 4u);

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
    // The last group of an F32/F16 row may be partial: it runs once more, masked.
    let groups = (cols + 7u) / 8u;
    for (var g = 0u; g < groups; g++) {
        let qa = quad(ra, g, cols);
        let qb = quad(rb, g, cols);
        let k = g * 8u;
        let v0 = x8(xa.x + k);
        a0 += quad_dot(qa, v0);
        b0 += quad_dot(qb, v0);
        let v1 = x8(xa.y + k);
        a1 += quad_dot(qa, v1);
        b1 += quad_dot(qb, v1);
        let v2 = x8(xa.z + k);
        a2 += quad_dot(qa, v2);
        b2 += quad_dot(qb, v2);
        let v3 = x8(xa.w + k);
        a3 += quad_dot(qa, v3);
        b3 += quad_dot(qb, v3);
        let v4 = x8(xb.x + k);
        a4 += quad_dot(qa, v4);
        b4 += quad_dot(qb, v4);
        let v5 = x8(xb.y + k);
        a5 += quad_dot(qa, v5);
        b5 += quad_dot(qb, v5);
        let v6 = x8(xb.z + k);
        a6 += quad_dot(qa, v6);
        b6 += quad_dot(qb, v6);
        let v7 = x8(xb.w + k);
        a7 += quad_dot(qa, v7);
        b7 += quad_dot(qb, v7);
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
