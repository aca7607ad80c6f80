// Token sampling on the GPU, in one workgroup of 256 invocations; writes out_token[slot].
// Invocation i owns the contiguous vocabulary chunk [i * chunk, (i + 1) * chunk).
//
// mode 0, greedy:  argmax, ties -> lowest id.
// mode 1, top-k:   radix-select the k-th largest logit (4 passes over 8-bit digits of an
//                  order-preserving key), gather the k candidates (ties at the threshold ->
//                  lowest ids), bitonic-sort them by (logit desc, id asc), then on the sorted
//                  list: top-p and min-p (on temperature-1 probabilities, as llama.cpp applies
//                  them before temperature), temperature softmax, and pick the first candidate
//                  whose cumulative weight exceeds u * total.
// mode 2, full:    whole vocabulary: weights exp((l - max) / T) over ids with
//                  exp(l - max) >= min_p, pick the first id (ascending) whose cumulative weight
//                  exceeds u * total.
// The rule is deterministic for a given u; reference::kernels::sample implements the same one.
// A row holding NaN or +inf (never a valid logit: a bias is finite or -inf) has no meaningful
// pick: the kernel writes NON_FINITE instead (kernels::NON_FINITE_TOKEN), which the host
// reports as an error and the next step's embedding lookup reads as a zero row.

struct SampleParams {
    n_vocab: u32,
    row: u32, // logits row to read
    slot: u32, // out_token index to write
    mode: u32, // 0 greedy, 1 top-k, 2 full vocabulary
    top_k: u32, // 1..256 (mode 1)
    temperature: f32,
    top_p: f32,
    min_p: f32,
    u: f32, // uniform random number in [0, 1)
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: SampleParams;
// Logits: [*, n_vocab] f32; row `row` is sampled.
@group(0) @binding(1) var<storage, read> logits: array<f32>;
// Chosen token ids: [*] u32; element `slot` is written.
@group(0) @binding(2) var<storage, read_write> out_token: array<u32>;

const WG: u32 = 256u;
const NEG: f32 = -3.0e38;

var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> red_f: array<f32, 256>;
var<workgroup> red_u: array<u32, 256>;
var<workgroup> red_u2: array<u32, 256>;
var<workgroup> cand_v: array<f32, 256>;
var<workgroup> cand_i: array<u32, 256>;
var<workgroup> shared_u: array<u32, 4>;
var<workgroup> shared_f: array<f32, 4>;
var<workgroup> non_finite: atomic<u32>; // set when the row holds NaN or +inf

const NON_FINITE: u32 = 0xFFFFFFFFu;

fn logit(i: u32) -> f32 {
    return logits[params.row * params.n_vocab + i];
}

// Order-preserving map from f32 to u32: a < b as floats iff key(a) < key(b).
fn key(f: f32) -> u32 {
    let b = bitcast<u32>(f);
    if ((b & 0x80000000u) != 0u) {
        return ~b;
    }
    return b | 0x80000000u;
}

// True if candidate a = (va, ia) ranks before b: larger logit first, then lower id.
fn before(va: f32, ia: u32, vb: f32, ib: u32) -> bool {
    return va > vb || (va == vb && ia < ib);
}

// Whether f is NaN or +inf, from its bits (the compiler may assume float math never makes
// them, so `f != f` could be folded away).
fn nan_or_pos_inf(f: f32) -> bool {
    let b = bitcast<u32>(f);
    return (b & 0x7FFFFFFFu) > 0x7F800000u || b == 0x7F800000u;
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    let n = params.n_vocab;
    let chunk = (n + WG - 1u) / WG;
    let begin = min(lid * chunk, n);
    let end = min(begin + chunk, n);
    var bad = false;
    for (var i = begin; i < end; i++) {
        bad = bad || nan_or_pos_inf(logit(i));
    }
    if (bad) {
        atomicOr(&non_finite, 1u);
    }
    sample(lid);
    workgroupBarrier();
    if (lid == 0u && atomicLoad(&non_finite) != 0u) {
        out_token[params.slot] = NON_FINITE;
    }
}

// Samples the row (all invocations, uniform control flow) and writes out_token[slot].
fn sample(lid: u32) {
    let n = params.n_vocab;
    let chunk = (n + WG - 1u) / WG;
    let begin = min(lid * chunk, n);
    let end = min(begin + chunk, n);

    if (params.mode == 0u) {
        // Greedy: per-chunk best (ascending scan keeps the lowest id on ties), then a tree.
        var bv = NEG;
        var bi = 0xFFFFFFFFu;
        for (var i = begin; i < end; i++) {
            let v = logit(i);
            if (bi == 0xFFFFFFFFu || v > bv) {
                bv = v;
                bi = i;
            }
        }
        cand_v[lid] = bv;
        cand_i[lid] = bi;
        workgroupBarrier();
        for (var s = WG / 2u; s > 0u; s >>= 1u) {
            if (lid < s) {
                let ov = cand_v[lid + s];
                let oi = cand_i[lid + s];
                if (oi != 0xFFFFFFFFu && (cand_i[lid] == 0xFFFFFFFFu || before(ov, oi, cand_v[lid], cand_i[lid]))) {
                    cand_v[lid] = ov;
                    cand_i[lid] = oi;
                }
            }
            workgroupBarrier();
        }
        if (lid == 0u) {
            out_token[params.slot] = cand_i[0];
        }
        return;
    }

    // Maximum logit (both sampling modes).
    var mx = NEG;
    for (var i = begin; i < end; i++) {
        mx = max(mx, logit(i));
    }
    red_f[lid] = mx;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red_f[lid] = max(red_f[lid], red_f[lid + s]);
        }
        workgroupBarrier();
    }
    mx = red_f[0];
    workgroupBarrier();
    let inv_t = 1.0 / params.temperature;

    if (params.mode == 2u) {
        // Whole vocabulary. min_p keeps l >= mx + ln(min_p).
        var cut = NEG;
        if (params.min_p > 0.0) {
            cut = mx + log(params.min_p);
        }
        var sum = 0.0;
        for (var i = begin; i < end; i++) {
            let v = logit(i);
            if (v >= cut) {
                sum += exp((v - mx) * inv_t);
            }
        }
        red_f[lid] = sum;
        workgroupBarrier();
        if (lid == 0u) {
            // Serial scan over the 256 chunk sums: which chunk holds the target?
            var total = 0.0;
            for (var j = 0u; j < WG; j++) {
                total += red_f[j];
            }
            let target_w = params.u * total;
            var before_w = 0.0;
            var pick = WG;
            var last_nonzero = 0u;
            for (var j = 0u; j < WG; j++) {
                if (red_f[j] > 0.0) {
                    last_nonzero = j;
                    if (pick == WG && before_w + red_f[j] > target_w) {
                        pick = j;
                    }
                }
                if (pick == WG) {
                    before_w += red_f[j];
                }
            }
            if (pick == WG) {
                // Rounding put the target past the end: take the last chunk with weight.
                pick = last_nonzero;
                before_w = 0.0;
                for (var j = 0u; j < pick; j++) {
                    before_w += red_f[j];
                }
            }
            shared_u[0] = pick;
            shared_f[0] = target_w - before_w;
        }
        workgroupBarrier();
        if (lid == shared_u[0]) {
            let target_w = shared_f[0];
            var cum = 0.0;
            var chosen = 0xFFFFFFFFu;
            var last = begin;
            for (var i = begin; i < end; i++) {
                let v = logit(i);
                if (v >= cut) {
                    cum += exp((v - mx) * inv_t);
                    last = i;
                    if (cum > target_w) {
                        chosen = i;
                        break;
                    }
                }
            }
            if (chosen == 0xFFFFFFFFu) {
                chosen = last;
            }
            out_token[params.slot] = chosen;
        }
        return;
    }

    // mode 1: top-k. Radix select of the k-th largest key, 8 bits per pass from the top.
    var prefix = 0u;
    var mask = 0u;
    var krem = params.top_k;
    for (var digit = 0u; digit < 4u; digit++) {
        let shift = 24u - 8u * digit;
        atomicStore(&hist[lid], 0u);
        workgroupBarrier();
        for (var i = begin; i < end; i++) {
            let kk = key(logit(i));
            if ((kk & mask) == prefix) {
                atomicAdd(&hist[(kk >> shift) & 0xFFu], 1u);
            }
        }
        workgroupBarrier();
        if (lid == 0u) {
            var above = 0u;
            var b = 255u;
            loop {
                let c = atomicLoad(&hist[b]);
                if (above + c >= krem || b == 0u) {
                    break;
                }
                above += c;
                b -= 1u;
            }
            shared_u[0] = b;
            shared_u[1] = krem - above;
        }
        workgroupBarrier();
        prefix |= shared_u[0] << shift;
        mask |= 0xFFu << shift;
        krem = shared_u[1];
        workgroupBarrier();
    }
    // `prefix` is now the key of the k-th largest logit; krem candidates are equal to it and
    // k - krem are above it. Count both per chunk, then prefix-sum to find write positions.
    let k = params.top_k;
    var n_gt = 0u;
    var n_eq = 0u;
    for (var i = begin; i < end; i++) {
        let kk = key(logit(i));
        n_gt += select(0u, 1u, kk > prefix);
        n_eq += select(0u, 1u, kk == prefix);
    }
    red_u[lid] = n_gt;
    red_u2[lid] = n_eq;
    cand_v[lid] = NEG;
    cand_i[lid] = 0xFFFFFFFFu;
    workgroupBarrier();
    if (lid == 0u) {
        var a = 0u;
        var e = 0u;
        for (var j = 0u; j < WG; j++) {
            let cg = red_u[j];
            let ce = red_u2[j];
            red_u[j] = a;
            red_u2[j] = e;
            a += cg;
            e += ce;
        }
    }
    workgroupBarrier();
    var pos_gt = red_u[lid];
    var rank_eq = red_u2[lid];
    for (var i = begin; i < end; i++) {
        let v = logit(i);
        let kk = key(v);
        if (kk > prefix) {
            cand_v[pos_gt] = v;
            cand_i[pos_gt] = i;
            pos_gt += 1u;
        } else if (kk == prefix) {
            if (rank_eq < krem) {
                cand_v[k - krem + rank_eq] = v;
                cand_i[k - krem + rank_eq] = i;
            }
            rank_eq += 1u;
        }
    }
    workgroupBarrier();
    // Bitonic sort of the 256 slots (empty slots sort last).
    for (var size = 2u; size <= WG; size <<= 1u) {
        for (var stride = size / 2u; stride > 0u; stride >>= 1u) {
            let partner = lid ^ stride;
            if (partner > lid) {
                let first_wins = before(cand_v[lid], cand_i[lid], cand_v[partner], cand_i[partner]);
                let descending = (lid & size) == 0u;
                if (first_wins != descending) {
                    let tv = cand_v[lid];
                    let ti = cand_i[lid];
                    cand_v[lid] = cand_v[partner];
                    cand_i[lid] = cand_i[partner];
                    cand_v[partner] = tv;
                    cand_i[partner] = ti;
                }
            }
            workgroupBarrier();
        }
    }
    if (lid == 0u) {
        let top = cand_v[0];
        // top-p and min-p on temperature-1 probabilities of the sorted candidates.
        var total1 = 0.0;
        for (var j = 0u; j < k; j++) {
            total1 += exp(cand_v[j] - top);
        }
        var keep = k;
        var cum1 = 0.0;
        for (var j = 0u; j < k; j++) {
            let w1 = exp(cand_v[j] - top);
            if (j > 0u && w1 < params.min_p) {
                keep = j;
                break;
            }
            cum1 += w1;
            if (params.top_p < 1.0 && cum1 >= params.top_p * total1) {
                keep = j + 1u;
                break;
            }
        }
        var total = 0.0;
        for (var j = 0u; j < keep; j++) {
            total += exp((cand_v[j] - top) * inv_t);
        }
        let target_w = params.u * total;
        var cum = 0.0;
        var pick = keep - 1u;
        for (var j = 0u; j < keep; j++) {
            cum += exp((cand_v[j] - top) * inv_t);
            if (cum > target_w) {
                pick = j;
                break;
            }
        }
        out_token[params.slot] = cand_i[pick];
    }
}
