// Attention of one decoded token together with its prologue, in one dispatch (a batch of tokens
// runs qk_rope.wgsl, then attention.wgsl, which this matches):
//   q head h:      optional RMS norm (q_norm_w), RoPE;
//   its kv head:   the token's key (optional RMS norm with k_norm_w, RoPE) and value, kept in
//                  workgroup memory and written to the caches by one workgroup per kv head
//                  (the others never read position `pos` from the caches, so none waits);
//   attention:     online softmax over keys key0 ..= pos, as attention.wgsl: earlier keys from
//                  the caches, the token's own from workgroup memory.
// Flash-decoding: the keys may be cut into `splits` ranges of `split_len`, one workgroup each,
// so that a long context keeps many workgroups busy; each then writes its unnormalized partial
// (running max m, sum l, accumulator) and attention_combine.wgsl merges them. With one split,
// the output is written directly.
// Entry points: `main` (with the q/k norms, Gemma 3 / Qwen 3) and `main_plain` (without).
// Composed after the rotation include (rope/angle.wgsl), a kv include (kv/*.wgsl: the caches,
// f32 or f16, read and written in dimension pairs) and a sum include (reduce/sum_*.wgsl).
// Grid: x = query head, y = split.

struct DecodeAttentionParams {
    n_head: u32,
    n_kv_head: u32,
    head_dim: u32, // even, <= 256
    pos: u32, // the token's position; keys before it are in the caches
    key0: u32, // first visible key (sliding window), <= pos
    splits: u32, // key ranges, one workgroup each
    split_len: u32, // keys per range
    capacity: u32, // positions the caches hold
    scale: f32, // applied to q.k
    softcap: f32, // 0 = off; else score = softcap * tanh(score / softcap)
    eps: f32, // the q/k norms' epsilon
    n_rot: u32, // rotated dimensions (even, <= head_dim)
    mode: u32, // RoPE: 0 = NeoX, 1 = normal
    log2_base: f32,
    freq_scale: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: DecodeAttentionParams;
// The token's projections: queries [n_head, head_dim], then keys and values [n_kv_head,
// head_dim] each, f32, before norms and RoPE.
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
// Per-head norm weights: [head_dim] f32 (main only).
@group(0) @binding(2) var<storage, read> q_norm_w: array<f32>;
@group(0) @binding(3) var<storage, read> k_norm_w: array<f32>;
// Per-pair frequency divisors: [n_rot / 2] f32.
@group(0) @binding(4) var<storage, read> freq_factors: array<f32>;
// The K and V caches (bindings 5 and 6, positions < pos filled) come with the kv include.
// With one split: the attention output [n_head, head_dim] f32. With more: the partials, the
// accumulators [n_head, splits, head_dim], then (m, l) [n_head, splits, 2].
@group(0) @binding(7) var<storage, read_write> out: array<f32>;

const WG: u32 = 64u;
const PAIRS_PER_INV: u32 = 2u; // 256 / 2 / WG: an invocation's dimension pairs of V

var<workgroup> q_s: array<f32, 256>; // the query, normed and rotated
var<workgroup> k_s: array<f32, 256>; // the token's key, normed and rotated
var<workgroup> v_s: array<f32, 256>; // the token's value
var<workgroup> score_s: array<f32, WG>; // scores, then weights, of the current chunk of keys

// Loads the query of head h and the key and value of kv head kvh; returns this invocation's
// partial sums of squares of the query and the key.
fn load_heads(lid: u32, h: u32, kvh: u32) -> vec2<f32> {
    let hd = params.head_dim;
    let k_off = params.n_head * hd + kvh * hd;
    let v_off = k_off + params.n_kv_head * hd;
    var ss = vec2<f32>(0.0);
    for (var d = lid; d < hd; d += WG) {
        let q = qkv[h * hd + d];
        let k = qkv[k_off + d];
        q_s[d] = q;
        k_s[d] = k;
        v_s[d] = qkv[v_off + d];
        ss = fma(vec2<f32>(q, k), vec2<f32>(q, k), ss);
    }
    return ss;
}

// RMS-norms the query and the key with their weights (the same arithmetic as qk_rope.wgsl).
fn norm_heads(inv: Inv, ss: vec2<f32>) {
    let hd = params.head_dim;
    let inv_q = inverseSqrt(reduce_sum(inv, ss.x) / f32(hd) + params.eps);
    let inv_k = inverseSqrt(reduce_sum(inv, ss.y) / f32(hd) + params.eps);
    for (var d = inv.lid; d < hd; d += WG) {
        q_s[d] = q_s[d] * inv_q * q_norm_w[d];
        k_s[d] = k_s[d] * inv_k * k_norm_w[d];
    }
    workgroupBarrier();
}

// Rotates the query and the key in place (each pair by one invocation).
fn rotate_heads(lid: u32) {
    let spec = RopeSpec(params.n_rot, params.mode, params.log2_base, params.freq_scale);
    for (var i = lid; i < params.n_rot / 2u; i += WG) {
        let cs = rope_cos_sin(spec, params.pos, i, freq_factors[i]);
        let dims = rope_dims(spec, i);
        let q = rope_rotate(q_s[dims.x], q_s[dims.y], cs);
        let k = rope_rotate(k_s[dims.x], k_s[dims.y], cs);
        q_s[dims.x] = q.x;
        q_s[dims.y] = q.y;
        k_s[dims.x] = k.x;
        k_s[dims.y] = k.y;
    }
    workgroupBarrier();
}

// The token's key and value as the cache holds them (rounded to f16 with an f16 cache), so that
// its own key weighs as it will for the tokens after it.
fn round_to_cache(lid: u32) {
    for (var i = lid; i < params.head_dim / 2u; i += WG) {
        let k = kv_round(vec2<f32>(k_s[2u * i], k_s[2u * i + 1u]));
        let v = kv_round(vec2<f32>(v_s[2u * i], v_s[2u * i + 1u]));
        k_s[2u * i] = k.x;
        k_s[2u * i + 1u] = k.y;
        v_s[2u * i] = v.x;
        v_s[2u * i + 1u] = v.y;
    }
    workgroupBarrier();
}

// The first query head of each kv head, on its first split, appends the key and the value.
fn write_cache(lid: u32, h: u32, kvh: u32, split: u32) {
    let group = params.n_head / params.n_kv_head;
    if (h % group != 0u || split != 0u) {
        return;
    }
    let kv = kv_shape();
    for (var i = lid; i < params.head_dim / 2u; i += WG) {
        store_k_pair(kv, kvh, i, params.pos, vec2<f32>(k_s[2u * i], k_s[2u * i + 1u]));
        store_v_pair(kv, kvh, i, params.pos, vec2<f32>(v_s[2u * i], v_s[2u * i + 1u]));
    }
}

fn kv_shape() -> KvShape {
    return KvShape(params.n_kv_head, params.head_dim, params.capacity);
}

// Online softmax over this split's keys, then its output or partial.
fn attend(lid: u32, h: u32, kvh: u32, split: u32) {
    let hd = params.head_dim;
    let pairs = hd / 2u;
    let kv = kv_shape();
    let pos = params.pos;
    let j0 = params.key0 + split * params.split_len;
    let j1 = min(j0 + params.split_len, pos + 1u); // this split's keys: j0 .. j1
    var m = -3.0e38;
    var l = 0.0;
    var acc = array<vec2<f32>, PAIRS_PER_INV>(vec2<f32>(0.0), vec2<f32>(0.0));
    for (var c = j0; c < j1; c += WG) {
        let j = c + lid;
        let visible = j < j1;
        var qk = 0.0;
        if (j == pos) {
            for (var d = 0u; d < hd; d++) {
                qk = fma(q_s[d], k_s[d], qk);
            }
        } else if (visible) {
            for (var i = 0u; i < pairs; i++) {
                let kp = k_pair(kv, kvh, i, j);
                qk = fma(q_s[2u * i + 1u], kp.y, fma(q_s[2u * i], kp.x, qk));
            }
        }
        var s = -3.0e38;
        if (visible) {
            s = qk * params.scale;
            if (params.softcap > 0.0) {
                s = params.softcap * tanh(clamp(s / params.softcap, -15.0, 15.0));
            }
        }
        score_s[lid] = s;
        workgroupBarrier();
        let n = min(WG, j1 - c);
        var cmax = m;
        for (var jj = 0u; jj < n; jj++) {
            cmax = max(cmax, score_s[jj]);
        }
        workgroupBarrier();
        // Each invocation turns its own score into a weight; masked keys weigh 0.
        score_s[lid] = select(0.0, exp(s - cmax), visible);
        workgroupBarrier();
        let corr = exp(m - cmax);
        l *= corr;
        for (var k = 0u; k < PAIRS_PER_INV; k++) {
            acc[k] *= corr;
        }
        m = cmax;
        for (var jj = 0u; jj < n; jj++) {
            let key = c + jj;
            let pj = score_s[jj];
            l += pj;
            for (var k = 0u; k < PAIRS_PER_INV; k++) {
                let i = min(lid + k * WG, pairs - 1u);
                // The token's own value is not read from the cache, where it is being written.
                var vv: vec2<f32>;
                if (key == pos) {
                    vv = vec2<f32>(v_s[2u * i], v_s[2u * i + 1u]);
                } else {
                    vv = v_pair(kv, kvh, i, key);
                }
                acc[k] = fma(vec2<f32>(pj), vv, acc[k]);
            }
        }
        workgroupBarrier();
    }
    var scale = 1.0; // the output, or an unnormalized partial
    var at = h * hd;
    if (params.splits > 1u) {
        at = (h * params.splits + split) * hd;
        if (lid == 0u) {
            let ml = params.n_head * params.splits * hd + 2u * (h * params.splits + split);
            out[ml] = m;
            out[ml + 1u] = l;
        }
    } else {
        scale = 1.0 / l;
    }
    for (var k = 0u; k < PAIRS_PER_INV; k++) {
        let i = lid + k * WG;
        if (i < pairs) {
            out[at + 2u * i] = acc[k].x * scale;
            out[at + 2u * i + 1u] = acc[k].y * scale;
        }
    }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, inv: Inv) {
    let h = wid.x;
    let kvh = h / (params.n_head / params.n_kv_head);
    let ss = load_heads(inv.lid, h, kvh);
    norm_heads(inv, ss);
    rotate_heads(inv.lid);
    round_to_cache(inv.lid);
    write_cache(inv.lid, h, kvh, wid.y);
    attend(inv.lid, h, kvh, wid.y);
}

@compute @workgroup_size(64)
fn main_plain(@builtin(workgroup_id) wid: vec3<u32>, inv: Inv) {
    let h = wid.x;
    let kvh = h / (params.n_head / params.n_kv_head);
    load_heads(inv.lid, h, kvh);
    workgroupBarrier();
    rotate_heads(inv.lid);
    round_to_cache(inv.lid);
    write_cache(inv.lid, h, kvh, wid.y);
    attend(inv.lid, h, kvh, wid.y);
}
