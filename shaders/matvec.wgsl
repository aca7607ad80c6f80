// y[y_col0 + r] = sum_k W[w_row0 + r, k] * x[k]   for r < rows: matrix × one vector (decode, and
// the LM head of the last token).
//
// Composed after one block-format include (quant/*.wgsl) that provides dequant8(), one team
// include (reduce/team_*.wgsl) that provides `Inv`, `Team`, team_of() and team_sum4(), one
// input include (input/*.wgsl) that provides the x binding(s), x4() and load_input(): x as it
// is, or with the previous block's residual update and this block's norm applied, and one
// output include (store/*.wgsl) that provides store4(): plain, or GLU over stacked gate/up rows.
// A workgroup of 64 invocations computes RPW = 64 rows: QUADS = 16 quads of 4 rows. A team of
// invocations serves a quad at a time, its lanes taking the quad's groups of 8 elements in turn
// (neighbouring lanes read neighbouring words); the team sums its lanes' partial sums.
//   baseline (team_workgroup): 16 teams of 4 invocations, one quad each, summed through
//     workgroup memory;
//   subgroup (team_subgroup): a team per subgroup, taking quads in turn, summed with
//     subgroupAdd; a row's groups are spread over the whole subgroup (wide coalesced loads).
// An invocation decodes one group of each of its 4 rows and loads the 8 matching x values once
// for all 4 rows; its 4 partial sums live in one vec4. No private arrays, so compilers keep
// everything in registers; loads (costly on CPU emulators such as lavapipe, which run them lane
// by lane) are shared by 4 rows.
// Grid: (x, y) = row blocks of RPW rows (2D because of the 65535 per-dimension limit).

struct MatmulParams {
    rows: u32, // rows of W computed by this dispatch
    cols: u32, // elements per row (the reduction length)
    row_words: u32, // u32 words per W row in GPU layout
    w_row0: u32, // first row to compute, relative to this weight part
    n_tokens: u32, // 1 here
    y_stride: u32, // floats per row of y
    y_col0: u32, // column of y that receives row 0 of this dispatch
    write_x: u32, // input/add_norm.wgsl only: store the updated residual stream
    has_post: u32, // input/add_norm.wgsl only: the update has a post-norm
    eps: f32, // input/add_norm.wgsl only: the norms' epsilon
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: MatmulParams;
// One part of the weight: [part rows, row_words] u32 words of GPU blocks.
@group(0) @binding(1) var<storage, read> w: array<u32>;
// Output: [y_stride] f32 (GLU output: [y_stride / 2]).
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

const WG: u32 = 64u; // invocations per workgroup
const QUADS: u32 = 16u; // quads of rows per workgroup
const RPW: u32 = 64u; // rows per workgroup: 4 * QUADS

// v (elements i .. i + 4 of a row) with the elements at or past `end` replaced by 0.
fn select4(v: vec4<f32>, i: u32, end: u32) -> vec4<f32> {
    let keep = (vec4<u32>(i) + vec4<u32>(0u, 1u, 2u, 3u)) < vec4<u32>(end);
    return select(vec4<f32>(0.0), v, keep);
}

fn dot8(wv: mat2x4<f32>, xl: vec4<f32>, xh: vec4<f32>) -> f32 {
    return dot(wv[0], xl) + dot(wv[1], xh);
}

// Group g of the 4 rows whose first words are `rw` against x[8g .. 8g + 8]; elements at or
// past `end` count as zero.
fn quad_dot(rw: vec4<u32>, g: u32, end: u32) -> vec4<f32> {
    let k = g * 8u;
    let xl = select4(x4(k), k, end);
    let xh = select4(x4(k + 4u), k + 4u, end);
    return vec4<f32>(
        dot8(dequant8(rw.x, g), xl, xh),
        dot8(dequant8(rw.y, g), xl, xh),
        dot8(dequant8(rw.z, g), xl, xh),
        dot8(dequant8(rw.w, g), xl, xh),
    );
}

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    inv: Inv,
) {
    let wg = wid.x + wid.y * nwg.x;
    load_input(inv.lid, wg == 0u);
    let t = team_of(inv);
    let block = wg * RPW; // first row of the workgroup
    let cols = params.cols;
    let full_groups = cols / 8u;
    // A uniform trip count (1 for the baseline): every lane reaches team_sum4 each round.
    let rounds = team_rounds(inv);
    for (var k = 0u; k < rounds; k++) {
        let quad = t.index + k * t.count;
        let r = block + min(quad, QUADS - 1u) * 4u; // first row of the quad
        // Rows past the end read the last row (so every invocation runs the same code) and
        // store nothing.
        let rr = min(vec4<u32>(r) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.rows - 1u));
        let rw = (vec4<u32>(params.w_row0) + rr) * params.row_words;

        var acc = vec4<f32>(0.0);
        for (var g = t.lane; g < full_groups; g += t.size) {
            acc += quad_dot(rw, g, cols);
        }
        // Rows of F32/F16 may end inside a group: lane 0 takes the masked remainder (the weight
        // words read past the row belong to the next row, or lie past the buffer: finite
        // values that meet zeros).
        if (cols % 8u != 0u && t.lane == 0u) {
            acc += quad_dot(rw, full_groups, cols);
        }
        let s = team_sum4(inv, t, acc);
        if (t.lane == 0u && quad < QUADS && r < params.rows) {
            store4(params.y_col0 + r, params.rows - r, s);
        }
    }
}
