// Q4_K GPU block (256 elements, 36 words): word 0 = d (low half), dmin (high half);
// words 1..3 = scales[12] (eight 6-bit scale/min pairs); words 4..35 = qs[128].
// The block is 4 chunks of 64 elements; chunk c uses qs[32c .. 32c + 32]: its first 32 elements
// are the low nibbles (sub-block 2c), the next 32 the high nibbles (sub-block 2c + 1).
// Value d * sc[s] * q - dmin * m[s]. See f32.wgsl for the shared dequant8 contract.

fn q4k_byte(base: u32, i: u32) -> u32 {
    return (w[base + i / 4u] >> (8u * (i % 4u))) & 0xFFu;
}

// 6-bit scale and min of sub-block s (0..7) from the 12 packed bytes at word `sw`.
fn q4k_scale_min(sw: u32, s: u32) -> vec2<f32> {
    if (s < 4u) {
        return vec2<f32>(f32(q4k_byte(sw, s) & 63u), f32(q4k_byte(sw, s + 4u) & 63u));
    }
    let sc = (q4k_byte(sw, s + 4u) & 0xFu) | ((q4k_byte(sw, s - 4u) >> 6u) << 4u);
    let m = (q4k_byte(sw, s + 4u) >> 4u) | ((q4k_byte(sw, s) >> 6u) << 4u);
    return vec2<f32>(f32(sc), f32(m));
}

fn dequant8(row_word: u32, g: u32) -> array<f32, 8> {
    let base = row_word + (g / 32u) * 36u;
    let gi = g % 32u;
    let s = gi / 4u; // sub-block of 32 elements
    let chunk = s / 2u;
    let shift = (s % 2u) * 4u;
    let dm = unpack2x16float(w[base]);
    let sm = q4k_scale_min(base + 1u, s);
    let scale = dm.x * sm.x;
    let offset = dm.y * sm.y;
    let q = base + 4u + chunk * 8u + (gi % 4u) * 2u;
    var out: array<f32, 8>;
    for (var i = 0u; i < 2u; i++) {
        let word = w[q + i] >> shift;
        for (var j = 0u; j < 4u; j++) {
            out[i * 4u + j] = scale * f32((word >> (8u * j)) & 0xFu) - offset;
        }
    }
    return out;
}
