// In-place rotary position embedding on x: [n_tokens, n_heads, head_dim].
// Token t has position pos0 + t; pair i (< n_rot / 2) rotates by
//   theta = pos * base^(-2i / n_rot) * freq_scale.
// mode 0 (NeoX, Gemma/Qwen): pairs (i, i + n_rot / 2). mode 1 (normal, Llama): pairs (2i, 2i + 1).
// Dimensions >= n_rot are left untouched. One invocation per (token, head, pair).
// Grid: (x, y) = blocks of 64 invocations (2D because of the 65535 per-dimension limit).

struct RopeParams {
    n_tokens: u32,
    n_heads: u32,
    head_dim: u32,
    n_rot: u32,
    pos0: u32,
    mode: u32, // 0 = NeoX, 1 = normal
    log2_base: f32, // log2(base), computed on the CPU in f64
    freq_scale: f32,
}

@group(0) @binding(0) var<uniform> params: RopeParams;
// Activations, rotated in place: [n_tokens, n_heads, head_dim] f32.
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

// 2*pi split in two for range reduction: TWO_PI_HI has few mantissa bits so k * TWO_PI_HI is
// exact for the k that occur; sin/cos then see |angle| <= pi, the only range where WGSL bounds
// their error (2^-11 absolute: SwiftShader's are that coarse, lavapipe's within a few ulp).
const TWO_PI_HI: f32 = 6.28125;
const TWO_PI_LO: f32 = 0.0019353071795864769;
const INV_TWO_PI: f32 = 0.15915494309189535;

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let half = params.n_rot / 2u;
    let idx = (wid.x + wid.y * nwg.x) * 64u + lid;
    if (idx >= params.n_tokens * params.n_heads * half) {
        return;
    }
    let i = idx % half;
    let th = idx / half; // token * n_heads + head
    let t = th / params.n_heads;
    let pos = f32(params.pos0 + t);
    let inv_freq = exp2(-2.0 * f32(i) / f32(params.n_rot) * params.log2_base);
    let theta = pos * inv_freq * params.freq_scale;
    let k = round(theta * INV_TWO_PI);
    let a = (theta - k * TWO_PI_HI) - k * TWO_PI_LO;
    let c = cos(a);
    let s = sin(a);
    let base = th * params.head_dim;
    var i0 = base + i;
    var i1 = base + i + half;
    if (params.mode == 1u) {
        i0 = base + 2u * i;
        i1 = i0 + 1u;
    }
    let x0 = x[i0];
    let x1 = x[i1];
    x[i0] = x0 * c - x1 * s;
    x[i1] = x0 * s + x1 * c;
}
