// Causal attention with grouped KV heads, an optional sliding window and optional logit
// soft-capping, for query tokens at positions pos0 .. pos0 + n_tokens.
//
// One workgroup per (query token, head). Keys are visited in chunks of 64 with an online
// softmax (running max m, running sum l, rescaled accumulator), so no scratch memory grows with
// the context length: any number of keys works with a fixed 1.3 KiB of workgroup memory, in a
// single pass over K and V.
// Key j is visible to the query at position p iff j <= p and (window == 0 or p - j < window).
// Grid: (x, y) = (token, head) pairs, t * n_head + h (2D because of the 65535 limit).

struct AttentionParams {
    n_tokens: u32,
    n_head: u32,
    n_kv_head: u32,
    head_dim: u32, // <= 256
    pos0: u32,
    window: u32, // 0 = unlimited
    scale: f32, // applied to q.k
    softcap: f32, // 0 = off; else score = softcap * tanh(score / softcap)
}

@group(0) @binding(0) var<uniform> params: AttentionParams;
// Queries: [n_tokens, n_head, head_dim] f32.
@group(0) @binding(1) var<storage, read> q: array<f32>;
// Key cache: [capacity, n_kv_head, head_dim] f32, positions 0 .. pos0 + n_tokens filled.
@group(0) @binding(2) var<storage, read> k_cache: array<f32>;
// Value cache: [capacity, n_kv_head, head_dim] f32.
@group(0) @binding(3) var<storage, read> v_cache: array<f32>;
// Output: [n_tokens, n_head, head_dim] f32.
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const WG: u32 = 64u;
const MAX_DIM: u32 = 256u;
const DIMS_PER_INV: u32 = 4u; // MAX_DIM / WG

var<workgroup> q_s: array<f32, 256>; // this query row
var<workgroup> score_s: array<f32, 64>; // scores of the current chunk of keys

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let idx = wid.x + wid.y * nwg.x;
    if (idx >= params.n_tokens * params.n_head) {
        return;
    }
    let hd = params.head_dim;
    let t = idx / params.n_head;
    let h = idx % params.n_head;
    let kvh = h / (params.n_head / params.n_kv_head);
    let kv_stride = params.n_kv_head * hd;
    let p = params.pos0 + t;
    var j_lo = 0u;
    if (params.window > 0u && p + 1u > params.window) {
        j_lo = p + 1u - params.window;
    }
    let q_base = idx * hd;
    for (var d = lid; d < hd; d += WG) {
        q_s[d] = q[q_base + d];
    }
    workgroupBarrier();

    var m = -3.0e38;
    var l = 0.0;
    var acc: array<f32, 4>;
    for (var c = j_lo; c <= p; c += WG) {
        let j = c + lid;
        var s = -3.0e38;
        if (j <= p) {
            let kb = j * kv_stride + kvh * hd;
            var qk = 0.0;
            for (var d = 0u; d < hd; d++) {
                qk = fma(q_s[d], k_cache[kb + d], qk);
            }
            s = qk * params.scale;
            if (params.softcap > 0.0) {
                s = params.softcap * tanh(clamp(s / params.softcap, -15.0, 15.0));
            }
        }
        score_s[lid] = s;
        workgroupBarrier();

        let n = min(WG, p + 1u - c);
        var cmax = m;
        for (var jj = 0u; jj < n; jj++) {
            cmax = max(cmax, score_s[jj]);
        }
        // Each invocation turns its own score into a weight, so every exp is computed once
        // (not once per invocation: on emulated GPUs that was most of the prefill time).
        workgroupBarrier();
        score_s[lid] = select(0.0, exp(s - cmax), lid < n);
        workgroupBarrier();
        let corr = exp(m - cmax);
        l *= corr;
        for (var k = 0u; k < DIMS_PER_INV; k++) {
            acc[k] *= corr;
        }
        for (var jj = 0u; jj < n; jj++) {
            let pj = score_s[jj];
            l += pj;
            let vb = (c + jj) * kv_stride + kvh * hd;
            for (var k = 0u; k < DIMS_PER_INV; k++) {
                let d = lid + k * WG;
                if (d < hd) {
                    acc[k] = fma(pj, v_cache[vb + d], acc[k]);
                }
            }
        }
        m = cmax;
        workgroupBarrier();
    }
    let inv_l = 1.0 / l;
    for (var k = 0u; k < DIMS_PER_INV; k++) {
        let d = lid + k * WG;
        if (d < hd) {
            out[q_base + d] = acc[k] * inv_l;
        }
    }
}
