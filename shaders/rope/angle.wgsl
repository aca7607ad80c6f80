// Rotary position embedding's rotation of one pair, shared by rope.wgsl, qk_rope.wgsl and
// attention_decode.wgsl so that every kernel rotates a position identically.
// Pair i (< n_rot / 2) rotates by theta = pos * base^(-2i / n_rot) * freq_scale / factor
// (factor: Llama 3.1's rope_freqs entry, 1 elsewhere). Mode 0 (NeoX, Gemma/Qwen) pairs the
// dimensions (i, i + n_rot / 2), mode 1 (normal, Llama) (2i, 2i + 1).

// 2*pi split in two for range reduction: TWO_PI_HI has few mantissa bits so k * TWO_PI_HI is
// exact for the k that occur; sin/cos then see |angle| <= pi, the only range where WGSL bounds
// their error (2^-11 absolute: SwiftShader's are that coarse, lavapipe's within a few ulp).
const TWO_PI_HI: f32 = 6.28125;
const TWO_PI_LO: f32 = 0.0019353071795864769;
const INV_TWO_PI: f32 = 0.15915494309189535;

struct RopeSpec {
    n_rot: u32,
    mode: u32, // 0 = NeoX, 1 = normal
    log2_base: f32, // log2(base), computed on the CPU in f64
    freq_scale: f32,
}

// (cos, sin) of pair i's angle at position `pos`.
fn rope_cos_sin(spec: RopeSpec, pos: u32, i: u32, factor: f32) -> vec2<f32> {
    let inv_freq = exp2(-2.0 * f32(i) / f32(spec.n_rot) * spec.log2_base);
    let theta = f32(pos) * inv_freq * spec.freq_scale / factor;
    let k = round(theta * INV_TWO_PI);
    let a = (theta - k * TWO_PI_HI) - k * TWO_PI_LO;
    return vec2<f32>(cos(a), sin(a));
}

// The two dimensions pair i rotates.
fn rope_dims(spec: RopeSpec, i: u32) -> vec2<u32> {
    if (spec.mode == 1u) {
        return vec2<u32>(2u * i, 2u * i + 1u);
    }
    return vec2<u32>(i, i + spec.n_rot / 2u);
}

// (x0, x1) rotated by the angle whose (cos, sin) is `cs`.
fn rope_rotate(x0: f32, x1: f32, cs: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(x0 * cs.x - x1 * cs.y, x0 * cs.y + x1 * cs.x);
}
