// Residual add fused with the RMS norms around it, one workgroup per row:
//   v = post ? rms_norm(o[r, :]) * post_w : o[r, :]      (the block's post-norm, Gemma 2/3)
//   x[r, :] += v                                          (the residual stream, in place)
//   xn[r, :] = rms_norm(x[r, :]) * norm_w                 (the next block's input norm)
// Replaces post-norm + add + norm (3 dispatches) or add + norm (2). Entry points: `main`
// (with the post-norm) and `main_plain` (without; `post_w` is then unused).
// Composed after a sum include (reduce/sum_*.wgsl: `Inv`, reduce_sum()).
// Grid: (x, y) = rows (2D because of the 65535 per-dimension limit).

struct AddNormParams {
    n: u32, // row length
    n_rows: u32,
    eps: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: AddNormParams;
// Block output: [n_rows, n] f32.
@group(0) @binding(1) var<storage, read> o: array<f32>;
// Residual stream, updated in place: [n_rows, n] f32.
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
// Post-norm weight: [n] f32 (main only).
@group(0) @binding(3) var<storage, read> post_w: array<f32>;
// Input-norm weight of what follows: [n] f32.
@group(0) @binding(4) var<storage, read> norm_w: array<f32>;
// Normed residual: [n_rows, n] f32.
@group(0) @binding(5) var<storage, read_write> xn: array<f32>;

const WG: u32 = 128u;

// 1 / rms of row `base` of o.
fn inv_rms_o(inv: Inv, base: u32) -> f32 {
    let lid = inv.lid;
    var ss = 0.0;
    for (var i = lid; i < params.n; i += WG) {
        let v = o[base + i];
        ss = fma(v, v, ss);
    }
    return inverseSqrt(reduce_sum(inv, ss) / f32(params.n) + params.eps);
}

// xn = rms_norm(x) * norm_w for row `base`, given this invocation's partial sum of squares of
// the elements it wrote (each invocation reads back only what it wrote itself).
fn norm_x(inv: Inv, base: u32, ss: f32) {
    let lid = inv.lid;
    let inv_rms = inverseSqrt(reduce_sum(inv, ss) / f32(params.n) + params.eps);
    for (var i = lid; i < params.n; i += WG) {
        xn[base + i] = x[base + i] * inv_rms * norm_w[i];
    }
}

@compute @workgroup_size(128)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    inv: Inv,
) {
    let lid = inv.lid;
    let row = wid.x + wid.y * nwg.x;
    if (row >= params.n_rows) {
        return;
    }
    let base = row * params.n;
    let inv_o = inv_rms_o(inv, base);
    var ss = 0.0;
    for (var i = lid; i < params.n; i += WG) {
        let v = x[base + i] + o[base + i] * inv_o * post_w[i];
        x[base + i] = v;
        ss = fma(v, v, ss);
    }
    norm_x(inv, base, ss);
}

@compute @workgroup_size(128)
fn main_plain(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    inv: Inv,
) {
    let lid = inv.lid;
    let row = wid.x + wid.y * nwg.x;
    if (row >= params.n_rows) {
        return;
    }
    let base = row * params.n;
    var ss = 0.0;
    for (var i = lid; i < params.n; i += WG) {
        let v = x[base + i] + o[base + i];
        x[base + i] = v;
        ss = fma(v, v, ss);
    }
    norm_x(inv, base, ss);
}
