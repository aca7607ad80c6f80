// Q5_1 GPU block (32 elements, 6 words): word 0 = d (low half), m (high half); word 1 = qh (bit e
// is the fifth bit of element e); words 2..5 = qs[16] (element j < 16: low nibble of qs[j],
// element j + 16: high nibble). Value d * q + m. See f32.wgsl for the shared dequant8 contract.

// Four 5-bit values: the low nibbles of the bytes of `word`, fifth bits from bits 0..3 of `hb`.
fn q5_1_quad(word: u32, hb: u32) -> vec4<f32> {
    let lo = (vec4<u32>(word) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xFu);
    let hi = ((vec4<u32>(hb) >> vec4<u32>(0u, 1u, 2u, 3u)) & vec4<u32>(1u)) << vec4<u32>(4u);
    return vec4<f32>(lo | hi);
}

fn dequant8(row_word: u32, g: u32) -> mat2x4<f32> {
    let base = row_word + (g / 4u) * 6u;
    let sub = g % 4u;
    let dm = unpack2x16float(w[base]);
    let qh = w[base + 1u] >> (sub * 8u); // fifth bits of elements 8 sub .. 8 sub + 7
    let q = base + 2u + (sub % 2u) * 2u;
    let shift = (sub / 2u) * 4u;
    let lo = q5_1_quad(w[q] >> shift, qh);
    let hi = q5_1_quad(w[q + 1u] >> shift, qh >> 4u);
    return mat2x4<f32>(dm.x * lo + dm.y, dm.x * hi + dm.y);
}
