// Elementwise ops over n f32 values, one invocation per element.
//   gated_gelu / gated_silu: out[i] = act(gate[i]) * up[i]
//   add_inplace:             y[i] += x[i]
//   add_bias:                y[r * stride + col0 + c] += x[c] for i = r * cols + c (a bias
//                            vector on columns col0 .. col0 + cols of every row of y)
//   softcap:                 y[i] = cap * tanh(y[i] / cap)  (Gemma 2's final logits)
// Composed after act.wgsl (gelu_tanh, silu).
// Grid: (x, y) = blocks of 256 elements (2D because of the 65535 per-dimension limit).

struct ElementwiseParams {
    n: u32,
    cols: u32, // add_bias only
    cap: f32, // softcap only
    stride: u32, // add_bias only: floats from one row of y to the next
    col0: u32, // add_bias only: y's first column the bias adds to
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: ElementwiseParams;
// Gate projection: [n] f32 (gated_* only).
@group(0) @binding(1) var<storage, read> gate: array<f32>;
// Up projection: [n] f32 (gated_* only).
@group(0) @binding(2) var<storage, read> up: array<f32>;
// Output: [n] f32 (gated_* only).
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// Accumulator: [n] f32 (add_inplace; add_bias: [n / cols, stride]).
@group(0) @binding(4) var<storage, read_write> acc: array<f32>;
// Addend: [n] f32 (add_inplace only).
@group(0) @binding(5) var<storage, read> addend: array<f32>;

fn element(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * nwg.x) * 256u + lid;
}

@compute @workgroup_size(256)
fn gated_gelu(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = element(wid, nwg, lid);
    if (i < params.n) {
        out[i] = gelu_tanh(gate[i]) * up[i];
    }
}

@compute @workgroup_size(256)
fn gated_silu(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = element(wid, nwg, lid);
    if (i < params.n) {
        out[i] = silu(gate[i]) * up[i];
    }
}

@compute @workgroup_size(256)
fn add_inplace(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = element(wid, nwg, lid);
    if (i < params.n) {
        acc[i] += addend[i];
    }
}

@compute @workgroup_size(256)
fn add_bias(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = element(wid, nwg, lid);
    if (i < params.n) {
        let r = i / params.cols;
        let c = i % params.cols;
        acc[r * params.stride + params.col0 + c] += addend[c];
    }
}

@compute @workgroup_size(256)
fn softcap(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = element(wid, nwg, lid);
    if (i < params.n) {
        // tanh saturates long before |x| = 15; the clamp keeps GPUs that return NaN for large
        // arguments honest (as in gelu_tanh).
        acc[i] = params.cap * tanh(clamp(acc[i] / params.cap, -15.0, 15.0));
    }
}
