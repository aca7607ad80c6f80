// Causal attention with grouped KV heads, an optional sliding window and optional logit
// soft-capping, for query tokens at positions pos0 .. pos0 + n_tokens.
//
// The query rows of one kv head are (token t, head h of its group), taken token-major. One
// workgroup handles `rows` (1 ..= MAX_ROWS) consecutive such rows of one kv head: every K and
// V value it loads serves all of them (the heads of a GQA group, and neighbouring tokens).
// Keys are visited in chunks of 64, one key per invocation, with an online softmax per row
// (running max m, running sum l, rescaled accumulator), so no scratch memory grows with the
// context length: any number of keys works with a fixed (1.28 * MAX_ROWS) KiB of workgroup
// memory, in one pass over K and V. The queries are held as vec4s (a score is head_dim / 4
// loads and dot products), and a chunk's maxima are found in two steps (each invocation scans
// MAX_ROWS scores of one row, then each reads the WG / MAX_ROWS partial maxima of every row)
// rather than by every invocation scanning all 64 scores of every row. The cache comes from a
// kv/*.wgsl include (f32 or f16, composed before this file), read in dimension pairs; K is
// position-fastest, so for a fixed dimension the invocations read consecutive addresses.
// Key j is visible to the query at position p iff j <= p and (window == 0 or p - j < window).
// Grid: x = blocks of `rows` query rows, y = kv head.

struct AttentionParams {
    n_tokens: u32,
    n_head: u32,
    n_kv_head: u32,
    head_dim: u32, // even, <= 256
    pos0: u32,
    window: u32, // 0 = unlimited
    scale: f32, // applied to q.k
    softcap: f32, // 0 = off; else score = softcap * tanh(score / softcap)
    k_capacity: u32, // stride of k_cache's position axis
    rows: u32, // query rows per workgroup, 1 ..= MAX_ROWS
    q_stride: u32, // floats from one token's queries to the next's
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: AttentionParams;
// Queries: token t's [n_head, head_dim] f32 start at t * q_stride (q_stride ≥ n_head * head_dim:
// the projections' qkv rows hold the keys and values after the queries).
@group(0) @binding(1) var<storage, read> q: array<f32>;
// The K and V caches (bindings 5 and 6) come with the kv include, positions
// 0 .. pos0 + n_tokens filled.
// Output: [n_tokens, n_head, head_dim] f32.
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const WG: u32 = 64u;
const MAX_DIM: u32 = 256u;
const PAIRS_PER_INV: u32 = 2u; // MAX_DIM / 2 / WG: an invocation's dimension pairs of V
// MAX_ROWS (query rows per workgroup at most: 1 for decode, 8 for prefill) is declared by the
// composer, ahead of this file (kernels/shaders.rs).

const QUADS: u32 = MAX_DIM / 4u;
const SEGS: u32 = WG / MAX_ROWS; // segments of MAX_ROWS keys, each one invocation's partial max

var<workgroup> q_s: array<array<vec4<f32>, QUADS>, MAX_ROWS>; // the query rows, zero past head_dim
var<workgroup> score_s: array<array<f32, 64>, MAX_ROWS>; // their scores for the current chunk
var<workgroup> part_s: array<array<f32, SEGS>, MAX_ROWS>; // each segment's maximum score

// Dimensions 4i .. 4i + 4 of the key of kv head `kvh` at position `j`; the last two are 0 when
// they are past the head (head_dim is even but may not be a multiple of 4).
fn k_quad(kv: KvShape, kvh: u32, i: u32, j: u32) -> vec4<f32> {
    let pairs = kv.head_dim / 2u;
    let hi = select(vec2<f32>(0.0), k_pair(kv, kvh, min(2u * i + 1u, pairs - 1u), j), 2u * i + 1u < pairs);
    return vec4<f32>(k_pair(kv, kvh, 2u * i, j), hi);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let group = params.n_head / params.n_kv_head;
    let n_rows = params.n_tokens * group; // query rows of this kv head
    let row0 = wid.x * params.rows;
    if (row0 >= n_rows) {
        return;
    }
    let nr = min(params.rows, n_rows - row0); // rows of this workgroup (uniform)
    let kvh = wid.y;
    let hd = params.head_dim;
    let pairs = hd / 2u;
    let kv = KvShape(params.n_kv_head, hd, params.k_capacity);

    // Per row: its query position and first visible key; the chunk loop covers their union.
    var p: array<u32, MAX_ROWS>;
    var lo: array<u32, MAX_ROWS>;
    var q_off: array<u32, MAX_ROWS>;
    var out_off: array<u32, MAX_ROWS>; // the output is packed: [n_tokens, n_head, head_dim]
    for (var r = 0u; r < MAX_ROWS; r++) {
        let gr = row0 + min(r, nr - 1u);
        let t = gr / group;
        p[r] = params.pos0 + t;
        lo[r] = 0u;
        if (params.window > 0u && p[r] + 1u > params.window) {
            lo[r] = p[r] + 1u - params.window;
        }
        let head = kvh * group + gr % group;
        q_off[r] = t * params.q_stride + head * hd;
        out_off[r] = (t * params.n_head + head) * hd;
        if (r < nr) {
            for (var i = lid; i < (hd + 3u) / 4u; i += WG) {
                let d = 4u * i;
                let v = vec4<f32>(q[q_off[r] + d], q[q_off[r] + d + 1u], q[q_off[r] + d + 2u], q[q_off[r] + d + 3u]);
                q_s[r][i] = select(vec4<f32>(0.0), v, vec4<u32>(d) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(hd));
            }
        }
    }
    let j_lo = lo[0]; // rows are in position order: row 0 has the lowest bounds
    let j_hi = p[nr - 1u];
    workgroupBarrier();

    var m: array<f32, MAX_ROWS>;
    var l: array<f32, MAX_ROWS>;
    var acc: array<array<vec2<f32>, PAIRS_PER_INV>, MAX_ROWS>;
    for (var r = 0u; r < MAX_ROWS; r++) {
        m[r] = -3.0e38;
    }
    for (var c = j_lo; c <= j_hi; c += WG) {
        let j = c + lid;
        // Scores of key j against every row (all share each K load).
        // Zeroed explicitly on every pass. WGSL zero-initializes a loop-local `var` on each
        // iteration, but Chromium (Dawn/Tint on SwiftShader) computed wrong scores from the
        // second 64-key chunk on when relying on that (garbage text past 64 tokens, while
        // naga/lavapipe was right); the explicit loop fixes it, hence the likely cause is the
        // implicit zero being stored once, at the function's entry.
        var qk: array<f32, MAX_ROWS>;
        for (var r = 0u; r < MAX_ROWS; r++) {
            qk[r] = 0.0;
        }
        if (j <= j_hi) {
            for (var i = 0u; i < (hd + 3u) / 4u; i++) {
                let kq = k_quad(kv, kvh, i, j);
                for (var r = 0u; r < MAX_ROWS; r++) {
                    if (r < nr) {
                        qk[r] += dot(q_s[r][i], kq);
                    }
                }
            }
        }
        var s: array<f32, MAX_ROWS>;
        for (var r = 0u; r < MAX_ROWS; r++) {
            s[r] = -3.0e38;
            if (r < nr && j >= lo[r] && j <= p[r]) {
                s[r] = qk[r] * params.scale;
                if (params.softcap > 0.0) {
                    s[r] = params.softcap * tanh(clamp(s[r] / params.softcap, -15.0, 15.0));
                }
            }
            score_s[r][lid] = s[r];
        }
        workgroupBarrier();

        let n = min(WG, j_hi + 1u - c);
        // The chunk's maximum per row, in two steps: invocation lid scans keys seg * MAX_ROWS ..
        // + MAX_ROWS of row lid % MAX_ROWS (masked keys and those past j_hi hold -3e38), then
        // every invocation reads the row's SEGS partial maxima.
        let pr = lid % MAX_ROWS;
        let seg = lid / MAX_ROWS;
        var part = -3.0e38;
        for (var k = 0u; k < MAX_ROWS; k++) {
            part = max(part, score_s[pr][seg * MAX_ROWS + k]);
        }
        part_s[pr][seg] = part;
        workgroupBarrier();
        var cmax: array<f32, MAX_ROWS>;
        for (var r = 0u; r < MAX_ROWS; r++) {
            cmax[r] = m[r];
            if (r < nr) {
                for (var g = 0u; g < SEGS; g++) {
                    cmax[r] = max(cmax[r], part_s[r][g]);
                }
            }
        }
        // Each invocation turns its own scores into weights, so every exp is computed once
        // per workgroup. Masked keys get weight 0 (also when a whole chunk is masked for a row:
        // then cmax is the row's old m or -3e38, and exp(-3e38 - cmax) would not be 0). Nobody
        // reads the scores after the barrier above, so they can be overwritten now.
        for (var r = 0u; r < MAX_ROWS; r++) {
            let visible = r < nr && j >= lo[r] && j <= p[r];
            score_s[r][lid] = select(0.0, exp(s[r] - cmax[r]), visible);
        }
        workgroupBarrier();
        for (var r = 0u; r < MAX_ROWS; r++) {
            let corr = exp(m[r] - cmax[r]);
            l[r] *= corr;
            for (var k = 0u; k < PAIRS_PER_INV; k++) {
                acc[r][k] *= corr;
            }
            m[r] = cmax[r];
        }
        for (var jj = 0u; jj < n; jj++) {
            var vv: array<vec2<f32>, PAIRS_PER_INV>;
            for (var k = 0u; k < PAIRS_PER_INV; k++) {
                let i = lid + k * WG;
                vv[k] = select(vec2<f32>(0.0), v_pair(kv, kvh, min(i, pairs - 1u), c + jj), i < pairs);
            }
            for (var r = 0u; r < MAX_ROWS; r++) {
                if (r < nr) {
                    let pj = score_s[r][jj];
                    l[r] += pj;
                    for (var k = 0u; k < PAIRS_PER_INV; k++) {
                        acc[r][k] = fma(vec2<f32>(pj), vv[k], acc[r][k]);
                    }
                }
            }
        }
        workgroupBarrier();
    }
    for (var r = 0u; r < MAX_ROWS; r++) {
        if (r < nr) {
            let inv_l = 1.0 / l[r];
            for (var k = 0u; k < PAIRS_PER_INV; k++) {
                let i = lid + k * WG;
                if (i < pairs) {
                    out[out_off[r] + 2u * i] = acc[r][k].x * inv_l;
                    out[out_off[r] + 2u * i + 1u] = acc[r][k].y * inv_l;
                }
            }
        }
    }
}
