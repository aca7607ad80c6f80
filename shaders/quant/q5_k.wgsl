// Q5_K GPU block (256 elements, 44 words): word 0 = d (low half), dmin (high half);
// words 1..3 = scales[12] (as Q4_K); words 4..11 = qh[32]; words 12..43 = qs[128].
// Chunk c (64 elements) uses qs[32c ..]: low nibbles then high nibbles (sub-blocks 2c, 2c + 1);
// the fifth bit of element l of sub-block s is bit s of qh[l].
// Value d * sc[s] * q - dmin * m[s]. See f32.wgsl for the shared dequant8 contract.

fn q5k_byte(base: u32, i: u32) -> u32 {
    return (w[base + i / 4u] >> (8u * (i % 4u))) & 0xFFu;
}

fn q5k_scale_min(sw: u32, s: u32) -> vec2<f32> {
    if (s < 4u) {
        return vec2<f32>(f32(q5k_byte(sw, s) & 63u), f32(q5k_byte(sw, s + 4u) & 63u));
    }
    let sc = (q5k_byte(sw, s + 4u) & 0xFu) | ((q5k_byte(sw, s - 4u) >> 6u) << 4u);
    let m = (q5k_byte(sw, s + 4u) >> 4u) | ((q5k_byte(sw, s) >> 6u) << 4u);
    return vec2<f32>(f32(sc), f32(m));
}

fn dequant8(row_word: u32, g: u32) -> array<f32, 8> {
    let base = row_word + (g / 32u) * 44u;
    let gi = g % 32u;
    let s = gi / 4u;
    let chunk = s / 2u;
    let shift = (s % 2u) * 4u;
    let o = gi % 4u; // which 8 of the sub-block's 32 elements
    let dm = unpack2x16float(w[base]);
    let sm = q5k_scale_min(base + 1u, s);
    let scale = dm.x * sm.x;
    let offset = dm.y * sm.y;
    let q = base + 12u + chunk * 8u + o * 2u;
    let h = base + 4u + o * 2u;
    var out: array<f32, 8>;
    for (var i = 0u; i < 2u; i++) {
        let word = w[q + i] >> shift;
        let hword = w[h + i] >> s;
        for (var j = 0u; j < 4u; j++) {
            let v = ((word >> (8u * j)) & 0xFu) | (((hword >> (8u * j)) & 1u) << 4u);
            out[i * 4u + j] = scale * f32(v) - offset;
        }
    }
    return out;
}
