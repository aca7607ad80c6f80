// Everything between the q/k/v projections and attention, in one dispatch:
//   q heads: optional per-head RMS norm (q_norm_w), then RoPE, in place in q;
//   k heads: optional per-head RMS norm (k_norm_w), then RoPE, written to the K cache
//            (position fastest);
//   v heads: copied to the V cache.
// Token t is at position pos0 + t. RoPE as rope/angle.wgsl rotates (pair i's factor is
// freq_factors[i]: Llama 3.1's rope_freqs, all 1 for other models); dims >= n_rot are only
// normed.
// Entry points: `main` (with the q/k norms, Gemma 3 / Qwen 3) and `main_plain` (without).
// Composed after the rotation include (rope/angle.wgsl) and a sum include (reduce/sum_*.wgsl:
// `Inv`, reduce_sum()).
// One workgroup per (token, slot), slot < n_head: a q head, else a kv head (its k and v).
// Grid: (x, y) = n_tokens * (n_head + n_kv_head) workgroups (2D: 65535 per dimension).

struct QkRopeParams {
    n_tokens: u32,
    n_head: u32,
    n_kv_head: u32,
    head_dim: u32, // <= 512
    n_rot: u32,
    pos0: u32,
    capacity: u32, // positions in the caches
    mode: u32, // 0 = NeoX, 1 = normal
    log2_base: f32, // log2(base), computed on the CPU in f64
    freq_scale: f32,
    eps: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: QkRopeParams;
// The projections of this call, one row per token: [n_tokens, (n_head + 2 n_kv_head) * head_dim]
// f32, each row the queries [n_head, head_dim] (updated in place), then the keys and the values
// [n_kv_head, head_dim] each.
@group(0) @binding(1) var<storage, read_write> qkv: array<f32>;
// Per-head norm weights: [head_dim] f32 (main only).
@group(0) @binding(4) var<storage, read> q_norm_w: array<f32>;
@group(0) @binding(5) var<storage, read> k_norm_w: array<f32>;
// K cache, position fastest: [n_kv_head, head_dim, capacity] f32.
@group(0) @binding(6) var<storage, read_write> k_cache: array<f32>;
// V cache: [capacity, n_kv_head, head_dim] f32.
@group(0) @binding(7) var<storage, read_write> v_cache: array<f32>;
// Per-pair frequency divisors: [n_rot / 2] f32.
@group(0) @binding(8) var<storage, read> freq_factors: array<f32>;

const WG: u32 = 128u;
var<workgroup> head: array<f32, 512>; // the head vector being transformed

// Where a head-vector element goes: into qkv's q in place, or into the K cache.
fn store(is_q: bool, q_base: u32, k_base: u32, d: u32, value: f32) {
    if (is_q) {
        qkv[q_base + d] = value;
    } else {
        k_cache[k_base + d * params.capacity] = value;
    }
}

// RoPE of `head` (already normed) for a token at `pos`, stored with `store`.
fn rotate_and_store(lid: u32, pos: u32, is_q: bool, q_base: u32, k_base: u32) {
    let spec = RopeSpec(params.n_rot, params.mode, params.log2_base, params.freq_scale);
    for (var i = lid; i < params.n_rot / 2u; i += WG) {
        let dims = rope_dims(spec, i);
        let r = rope_rotate(head[dims.x], head[dims.y], rope_cos_sin(spec, pos, i, freq_factors[i]));
        store(is_q, q_base, k_base, dims.x, r.x);
        store(is_q, q_base, k_base, dims.y, r.y);
    }
    for (var d = params.n_rot + lid; d < params.head_dim; d += WG) {
        store(is_q, q_base, k_base, d, head[d]);
    }
}

struct Slot {
    t: u32,
    is_q: bool,
    h: u32, // q head or kv head
    src: u32, // first element of the head vector (a q or k head) in qkv
    k_base: u32, // K cache index of (head, dim 0, position)
}

fn slot_of(wid: vec3<u32>, nwg: vec3<u32>) -> Slot {
    let idx = wid.x + wid.y * nwg.x;
    let per_token = params.n_head + params.n_kv_head;
    let t = idx / per_token;
    let slot = idx % per_token;
    let is_q = slot < params.n_head;
    let h = select(slot - params.n_head, slot, is_q);
    let hd = params.head_dim;
    let row = t * (params.n_head + 2u * params.n_kv_head) * hd; // this token's q, k and v
    let src = row + select(params.n_head + h, h, is_q) * hd; // its q head, or its k head

    let k_base = h * hd * params.capacity + params.pos0 + t;
    return Slot(t, is_q, h, src, k_base);
}

// Loads the head vector into `head` (and copies v for a kv slot); returns this invocation's
// partial sum of squares.
fn load(lid: u32, s: Slot) -> f32 {
    let hd = params.head_dim;
    var ss = 0.0;
    for (var d = lid; d < hd; d += WG) {
        var x: f32;
        if (s.is_q) {
            x = qkv[s.src + d];
        } else {
            x = qkv[s.src + d];
            let pos = params.pos0 + s.t;
            // The value of kv head h follows the token's n_kv_head keys.
            v_cache[(pos * params.n_kv_head + s.h) * hd + d] = qkv[s.src + params.n_kv_head * hd + d];
        }
        head[d] = x;
        ss = fma(x, x, ss);
    }
    return ss;
}

@compute @workgroup_size(128)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    inv: Inv,
) {
    let lid = inv.lid;
    if (wid.x + wid.y * nwg.x >= params.n_tokens * (params.n_head + params.n_kv_head)) {
        return;
    }
    let s = slot_of(wid, nwg);
    let ss = load(lid, s);
    let inv_rms = inverseSqrt(reduce_sum(inv, ss) / f32(params.head_dim) + params.eps);
    for (var d = lid; d < params.head_dim; d += WG) {
        let w = select(k_norm_w[d], q_norm_w[d], s.is_q);
        head[d] = head[d] * inv_rms * w;
    }
    workgroupBarrier();
    rotate_and_store(lid, params.pos0 + s.t, s.is_q, s.src, s.k_base);
}

@compute @workgroup_size(128)
fn main_plain(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    inv: Inv,
) {
    let lid = inv.lid;
    if (wid.x + wid.y * nwg.x >= params.n_tokens * (params.n_head + params.n_kv_head)) {
        return;
    }
    let s = slot_of(wid, nwg);
    load(lid, s);
    workgroupBarrier();
    rotate_and_store(lid, params.pos0 + s.t, s.is_q, s.src, s.k_base);
}
