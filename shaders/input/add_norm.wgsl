// The input of matvec.wgsl when the previous block's residual update and this block's input
// norm are still to be applied: every workgroup applies them for itself (a vector of n_embd
// floats is cheap to read again), which saves the add_norm dispatch of a decoded token:
//   v  = x + (has_post ? rms_norm(o) * post_w : o)    the residual stream after the block;
//                                                      the first workgroup of a dispatch with
//                                                      write_x stores it in x_out
//   xs = rms_norm(v) * norm_w                          in workgroup memory, read by x4()
// The same arithmetic as add_norm.wgsl, so the two agree to rounding of the sums.
// Composed with a line `const XS_LEN: u32 = …;` (≥ cols: the composer sizes it to the model).
// load_input() has barriers: call it once, first, in uniform control flow.

// Residual stream before the update: [cols] f32.
@group(0) @binding(2) var<storage, read> x: array<f32>;
// Block output: [cols] f32.
@group(0) @binding(4) var<storage, read> o: array<f32>;
// Post-norm weight (read when has_post): [cols] f32.
@group(0) @binding(5) var<storage, read> post_w: array<f32>;
// This block's input-norm weight: [cols] f32.
@group(0) @binding(6) var<storage, read> norm_w: array<f32>;
// Receives v (write_x only): [cols] f32.
@group(0) @binding(7) var<storage, read_write> x_out: array<f32>;

var<workgroup> xs: array<f32, XS_LEN>;
var<workgroup> in_red: array<f32, WG>;

fn x4(i: u32) -> vec4<f32> {
    return vec4<f32>(xs[i], xs[i + 1u], xs[i + 2u], xs[i + 3u]);
}

// Sum of v over the workgroup (a tree in workgroup memory; WG is a power of two).
fn input_sum(lid: u32, v: f32) -> f32 {
    in_red[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            in_red[lid] += in_red[lid + s];
        }
        workgroupBarrier();
    }
    let total = in_red[0];
    workgroupBarrier();
    return total;
}

fn load_input(lid: u32, first_workgroup: bool) {
    let n = params.cols;
    var inv_o = 0.0;
    if (params.has_post != 0u) {
        var so = 0.0;
        for (var i = lid; i < n; i += WG) {
            let v = o[i];
            so = fma(v, v, so);
        }
        inv_o = inverseSqrt(input_sum(lid, so) / f32(n) + params.eps);
    }
    let store = params.write_x != 0u && first_workgroup;
    var ss = 0.0;
    for (var i = lid; i < n; i += WG) {
        var v: f32;
        if (params.has_post != 0u) {
            v = x[i] + o[i] * inv_o * post_w[i];
        } else {
            v = x[i] + o[i];
        }
        xs[i] = v;
        if (store) {
            x_out[i] = v;
        }
        ss = fma(v, v, ss);
    }
    let inv_x = inverseSqrt(input_sum(lid, ss) / f32(n) + params.eps);
    // Each invocation rescales the elements it wrote, then all wait.
    for (var i = lid; i < n; i += WG) {
        xs[i] = xs[i] * inv_x * norm_w[i];
    }
    workgroupBarrier();
}
