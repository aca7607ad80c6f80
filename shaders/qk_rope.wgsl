// Everything between the q/k/v projections and attention, in one dispatch:
//   q heads: optional per-head RMS norm (q_norm_w), then RoPE, in place in q;
//   k heads: optional per-head RMS norm (k_norm_w), then RoPE, written to the K cache;
//   v heads: copied to the V cache.
// The caches come from a kv/*.wgsl include (f32 or f16), written in dimension pairs.
// Token t is at position pos0 + t. RoPE as rope/angle.wgsl rotates (pair i's factor is
// freq_factors[i]: Llama 3.1's rope_freqs, all 1 for other models); dims >= n_rot are only
// normed.
// Entry points: `main` (with the q/k norms, Gemma 3 / Qwen 3) and `main_plain` (without).
// Composed after the rotation include (rope/angle.wgsl), a kv include (kv/*.wgsl) and a sum
// include (reduce/sum_*.wgsl: `Inv`, reduce_sum()).
// One workgroup per (token, slot), slot < n_head: a q head, else a kv head (its k and v).
// Grid: (x, y) = n_tokens * (n_head + n_kv_head) workgroups (2D: 65535 per dimension).

struct QkRopeParams {
    n_tokens: u32,
    n_head: u32,
    n_kv_head: u32,
    head_dim: u32, // even, <= 512
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
@group(0) @binding(2) var<storage, read> q_norm_w: array<f32>;
@group(0) @binding(3) var<storage, read> k_norm_w: array<f32>;
// Per-pair frequency divisors: [n_rot / 2] f32.
@group(0) @binding(4) var<storage, read> freq_factors: array<f32>;
// The K and V caches are bindings 5 and 6 (the kv include).

const WG: u32 = 128u;
var<workgroup> head: array<f32, 512>; // the head vector being transformed

struct Slot {
    t: u32,
    is_q: bool,
    h: u32, // q head or kv head
    src: u32, // first element of the head vector (a q or k head) in qkv
}

fn slot_of(wid: vec3<u32>, nwg: vec3<u32>) -> Slot {
    let idx = wid.x + wid.y * nwg.x;
    let per_token = params.n_head + params.n_kv_head;
    let t = idx / per_token;
    let slot = idx % per_token;
    let is_q = slot < params.n_head;
    let h = select(slot - params.n_head, slot, is_q);
    let row = t * (params.n_head + 2u * params.n_kv_head) * params.head_dim; // this token's q, k, v
    let src = row + select(params.n_head + h, h, is_q) * params.head_dim; // its q head, or its k head
    return Slot(t, is_q, h, src);
}

fn kv_shape() -> KvShape {
    return KvShape(params.n_kv_head, params.head_dim, params.capacity);
}

// Loads the head vector into `head` (and appends v to the V cache for a kv slot); returns this
// invocation's partial sum of squares.
fn load(lid: u32, s: Slot) -> f32 {
    let hd = params.head_dim;
    var ss = 0.0;
    for (var i = lid; i < hd / 2u; i += WG) {
        let x = vec2<f32>(qkv[s.src + 2u * i], qkv[s.src + 2u * i + 1u]);
        head[2u * i] = x.x;
        head[2u * i + 1u] = x.y;
        ss = fma(x.y, x.y, fma(x.x, x.x, ss));
        if (!s.is_q) {
            // The value of kv head h follows the token's n_kv_head keys.
            let v = s.src + params.n_kv_head * hd + 2u * i;
            store_v_pair(kv_shape(), s.h, i, params.pos0 + s.t, vec2<f32>(qkv[v], qkv[v + 1u]));
        }
    }
    return ss;
}

// RoPE of `head` (already normed) for a token at `pos`, in place (each pair by one invocation),
// then the head goes to q in qkv or to the K cache.
fn rotate_and_store(lid: u32, s: Slot) {
    let pos = params.pos0 + s.t;
    let spec = RopeSpec(params.n_rot, params.mode, params.log2_base, params.freq_scale);
    for (var i = lid; i < params.n_rot / 2u; i += WG) {
        let dims = rope_dims(spec, i);
        let r = rope_rotate(head[dims.x], head[dims.y], rope_cos_sin(spec, pos, i, freq_factors[i]));
        head[dims.x] = r.x;
        head[dims.y] = r.y;
    }
    workgroupBarrier();
    for (var i = lid; i < params.head_dim / 2u; i += WG) {
        let x = vec2<f32>(head[2u * i], head[2u * i + 1u]);
        if (s.is_q) {
            qkv[s.src + 2u * i] = x.x;
            qkv[s.src + 2u * i + 1u] = x.y;
        } else {
            store_k_pair(kv_shape(), s.h, i, pos, x);
        }
    }
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
    rotate_and_store(lid, s);
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
    rotate_and_store(lid, s);
}
