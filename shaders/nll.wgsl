// Negative log-likelihood per row: out[t] = logsumexp(logits[t, :]) - logits[t, target[t]].
// One workgroup per row; out[t] is NaN when target[t] >= n_vocab.
// Grid: (x, y) = rows (2D because of the 65535 per-dimension limit).

struct NllParams {
    n_rows: u32,
    n_vocab: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: NllParams;
// Logits: [n_rows, n_vocab] f32.
@group(0) @binding(1) var<storage, read> logits: array<f32>;
// Target token ids: [n_rows] u32.
@group(0) @binding(2) var<storage, read> targets: array<u32>;
// Output: [n_rows] f32.
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const WG: u32 = 256u;
var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= params.n_rows) {
        return;
    }
    let base = row * params.n_vocab;
    var mx = -3.0e38;
    for (var i = lid; i < params.n_vocab; i += WG) {
        mx = max(mx, logits[base + i]);
    }
    red[lid] = mx;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red[lid] = max(red[lid], red[lid + s]);
        }
        workgroupBarrier();
    }
    mx = red[0];
    workgroupBarrier();

    var sum = 0.0;
    for (var i = lid; i < params.n_vocab; i += WG) {
        sum += exp(logits[base + i] - mx);
    }
    red[lid] = sum;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red[lid] += red[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        let target_id = targets[row];
        if (target_id < params.n_vocab) {
            out[row] = mx + log(red[0]) - logits[base + target_id];
        } else {
            // A negative log-likelihood is never negative: -1 marks a bad target. (Not a NaN
            // constant: Chromium's WGSL compiler rejects NaN literals, naga accepts them.)
            out[row] = -1.0;
        }
    }
}
