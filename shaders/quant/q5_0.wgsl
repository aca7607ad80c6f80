// Q5_0 GPU layout (blocks of 32 elements in pairs of 11 words): word 0 = d of the pair's first
// block (low half) and second block (high half); words 1..5 = the first block's qh (bit e is the
// fifth bit of element e) and qs[16], words 6..10 the second's. A row with an odd number of
// blocks ends with a single block of 6 words (d in the low half of word 0). Element j < 16 of a
// block: low nibble of qs[j]; element j + 16: high nibble. Value d * (q - 16).
// See f32.wgsl for the shared dequant8 contract.

// Four 5-bit values: the low nibbles of the bytes of `word`, fifth bits from bits 0..3 of `hb`.
fn q5_0_quad(word: u32, hb: u32) -> vec4<f32> {
    let lo = (vec4<u32>(word) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xFu);
    let hi = ((vec4<u32>(hb) >> vec4<u32>(0u, 1u, 2u, 3u)) & vec4<u32>(1u)) << vec4<u32>(4u);
    return vec4<f32>(lo | hi);
}

fn dequant8(row_word: u32, g: u32) -> mat2x4<f32> {
    let blk = g / 4u;
    let pair = row_word + (blk / 2u) * 11u;
    let j = blk % 2u; // which block of the pair
    let d = unpack2x16float(w[pair] >> (16u * j)).x;
    let body = pair + 1u + j * 5u; // qh, then qs
    let sub = g % 4u;
    let qh = w[body] >> (sub * 8u); // fifth bits of elements 8 sub .. 8 sub + 7
    let q = body + 1u + (sub % 2u) * 2u;
    let shift = (sub / 2u) * 4u;
    let lo = q5_0_quad(w[q] >> shift, qh) - 16.0;
    let hi = q5_0_quad(w[q + 1u] >> shift, qh >> 4u) - 16.0;
    return mat2x4<f32>(d * lo, d * hi);
}
