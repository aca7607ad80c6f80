// RMS norm: y[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * weight[:], one workgroup per row.
// Two entry points: `main` (x -> y) and `main_inplace` (xy -> xy, one read_write binding,
// since WebGPU forbids binding one buffer as both read-only and writable storage).
// Composed after a sum include (reduce/sum_*.wgsl: `Inv`, reduce_sum()).
// Grid: (x, y) = rows (2D because of the 65535 per-dimension limit).

struct NormParams {
    n: u32, // row length
    n_rows: u32,
    eps: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: NormParams;
// Norm weight: [n] f32 (a GpuWeight of type F32, shape [1, n]).
@group(0) @binding(1) var<storage, read> weight: array<f32>;
// Input: [n_rows, n] f32 (main only).
@group(0) @binding(2) var<storage, read> x: array<f32>;
// Output: [n_rows, n] f32 (main only).
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
// Input and output: [n_rows, n] f32 (main_inplace only).
@group(0) @binding(4) var<storage, read_write> xy: array<f32>;

const WG: u32 = 128u;

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
    var ss = 0.0;
    for (var i = lid; i < params.n; i += WG) {
        let v = x[base + i];
        ss = fma(v, v, ss);
    }
    let inv_rms = inverseSqrt(reduce_sum(inv, ss) / f32(params.n) + params.eps);
    for (var i = lid; i < params.n; i += WG) {
        y[base + i] = x[base + i] * inv_rms * weight[i];
    }
}

@compute @workgroup_size(128)
fn main_inplace(
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
        let v = xy[base + i];
        ss = fma(v, v, ss);
    }
    let inv_rms = inverseSqrt(reduce_sum(inv, ss) / f32(params.n) + params.eps);
    for (var i = lid; i < params.n; i += WG) {
        xy[base + i] = xy[base + i] * inv_rms * weight[i];
    }
}
