// In-place rotary position embedding on x: [n_tokens, n_heads, head_dim].
// Token t has position pos0 + t; pair i (< n_rot / 2) rotates as rope/angle.wgsl (composed
// before this file) says, with no frequency factors.
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
    let spec = RopeSpec(params.n_rot, params.mode, params.log2_base, params.freq_scale);
    let dims = th * params.head_dim + rope_dims(spec, i);
    let r = rope_rotate(x[dims.x], x[dims.y], rope_cos_sin(spec, params.pos0 + t, i, 1.0));
    x[dims.x] = r.x;
    x[dims.y] = r.y;
}
