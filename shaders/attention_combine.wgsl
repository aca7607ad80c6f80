// Merges the partials of a split decode attention (attention_decode.wgsl with splits > 1): per
// query head, the splits' running maxima m_s, sums l_s and accumulators acc_s give
//   out = sum_s exp(m_s - M) acc_s / sum_s exp(m_s - M) l_s,   M = max_s m_s,
// the softmax-weighted sum over all keys. A split without keys has m_s = -3e38 and weighs 0.
// Grid: x = query head.

struct CombineParams {
    n_head: u32,
    head_dim: u32, // <= 256
    splits: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: CombineParams;
// The accumulators [n_head, splits, head_dim], then (m, l) [n_head, splits, 2], f32.
@group(0) @binding(1) var<storage, read> partials: array<f32>;
// The attention output: [n_head, head_dim] f32.
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const WG: u32 = 64u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let h = wid.x;
    let hd = params.head_dim;
    let ns = params.splits;
    let ml = params.n_head * ns * hd + 2u * h * ns; // this head's (m, l) pairs
    var big_m = -3.0e38;
    for (var s = 0u; s < ns; s++) {
        big_m = max(big_m, partials[ml + 2u * s]);
    }
    var total = 0.0;
    for (var s = 0u; s < ns; s++) {
        total += exp(partials[ml + 2u * s] - big_m) * partials[ml + 2u * s + 1u];
    }
    let inv_total = 1.0 / total;
    for (var d = lid; d < hd; d += WG) {
        var acc = 0.0;
        for (var s = 0u; s < ns; s++) {
            acc = fma(exp(partials[ml + 2u * s] - big_m), partials[(h * ns + s) * hd + d], acc);
        }
        out[h * hd + d] = acc * inv_total;
    }
}
