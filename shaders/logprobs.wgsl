// Log-probabilities of a sampled token and of the `n_top` most likely tokens, in one workgroup:
// logprob(i) = logits[row, i] - logsumexp(logits[row, :]) (the distribution as the sampler saw
// it: after logit bias and penalties, at temperature 1).
// Output at out[offset..]: [chosen id, chosen logprob, then n_top × (id, logprob)], logprobs as
// f32 bits, the top list by logit descending (ties: lower id first).

struct LogprobParams {
    n_vocab: u32,
    row: u32, // logits row
    slot: u32, // index of the chosen token in `tokens`
    n_top: u32, // 0..=20
    offset: u32, // first u32 of the output
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: LogprobParams;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> tokens: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

const WG: u32 = 256u;
const NEG: f32 = -3.0e38;
const NONE: u32 = 0xffffffffu;

var<workgroup> red_v: array<f32, 256>;
var<workgroup> red_i: array<u32, 256>;

fn logit(i: u32) -> f32 {
    return logits[params.row * params.n_vocab + i];
}

// (v, i) comes before (bv, bi) in the order "logit descending, id ascending".
fn before(v: f32, i: u32, bv: f32, bi: u32) -> bool {
    return bi == NONE || v > bv || (v == bv && i < bi);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    let n = params.n_vocab;
    var mx = NEG;
    for (var i = lid; i < n; i += WG) {
        mx = max(mx, logit(i));
    }
    red_v[lid] = mx;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red_v[lid] = max(red_v[lid], red_v[lid + s]);
        }
        workgroupBarrier();
    }
    mx = red_v[0];
    workgroupBarrier();
    var sum = 0.0;
    for (var i = lid; i < n; i += WG) {
        sum += exp(logit(i) - mx);
    }
    red_v[lid] = sum;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red_v[lid] += red_v[lid + s];
        }
        workgroupBarrier();
    }
    let lse = mx + log(red_v[0]);
    workgroupBarrier();
    if (lid == 0u) {
        let chosen = tokens[params.slot];
        out[params.offset] = chosen;
        out[params.offset + 1u] = bitcast<u32>(logit(min(chosen, n - 1u)) - lse);
    }
    // The top list, one entry per pass: the best pair after the previous one in the order.
    var prev_v = 0.0;
    var prev_i = NONE;
    for (var k = 0u; k < params.n_top; k++) {
        var bv = NEG;
        var bi = NONE;
        for (var i = lid; i < n; i += WG) {
            let v = logit(i);
            let after_prev = prev_i == NONE || v < prev_v || (v == prev_v && i > prev_i);
            if (after_prev && before(v, i, bv, bi)) {
                bv = v;
                bi = i;
            }
        }
        red_v[lid] = bv;
        red_i[lid] = bi;
        workgroupBarrier();
        for (var s = WG / 2u; s > 0u; s >>= 1u) {
            if (lid < s && red_i[lid + s] != NONE && before(red_v[lid + s], red_i[lid + s], red_v[lid], red_i[lid])) {
                red_v[lid] = red_v[lid + s];
                red_i[lid] = red_i[lid + s];
            }
            workgroupBarrier();
        }
        prev_v = red_v[0];
        prev_i = red_i[0];
        if (lid == 0u) {
            out[params.offset + 2u + 2u * k] = prev_i;
            out[params.offset + 3u + 2u * k] = bitcast<u32>(prev_v - lse);
        }
        workgroupBarrier();
    }
}
