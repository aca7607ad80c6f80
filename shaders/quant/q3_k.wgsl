// Q3_K GPU layout (blocks of 256 elements in pairs of 55 words): word 0 = d of the pair's first
// block (low half) and second block (high half); then each block's body of 27 words, the first
// block's at word 1, the second's at word 28. A row with an odd number of blocks ends with a
// single block of 28 words (d in the low half of word 0). A body: words 0..7 = hmask[32];
// words 8..23 = qs[64]; words 24..26 = scales[12] (sixteen 6-bit scales).
// Element e: half n = e / 128, k = (e % 128) / 32, l = e % 32:
//   low 2 bits: (qs[32n + l] >> 2k) & 3; q = low - 4, or low if bit e / 32 of hmask[l] is set
//   scale of sub-block s = e / 16: low 4 bits from scales[s] (s < 8) or scales[s - 8] >> 4,
//   high 2 bits from scales[8 + s % 4] >> 2 (s / 4); minus 32
// Value d * scale * q. See f32.wgsl for the shared dequant8 contract.

fn q3k_byte(at: u32, i: u32) -> u32 {
    return (w[at + i / 4u] >> (8u * (i % 4u))) & 0xFFu;
}

// Four 3-bit signed values: two low bits from bits 0..1 of the bytes of `lw`, and -4 unless
// bit 0 of the matching byte of `hw` is set.
fn q3k_quad(lw: u32, hw: u32) -> vec4<f32> {
    let sh = vec4<u32>(0u, 8u, 16u, 24u);
    let lo = (vec4<u32>(lw) >> sh) & vec4<u32>(3u);
    let hi = ((vec4<u32>(hw) >> sh) & vec4<u32>(1u)) << vec4<u32>(2u);
    return vec4<f32>(lo | hi) - 4.0;
}

fn dequant8(row_word: u32, g: u32) -> mat2x4<f32> {
    let blk = g / 32u;
    let pair = row_word + (blk / 2u) * 55u;
    let j = blk % 2u; // which block of the pair
    let body = pair + 1u + j * 27u;
    let e0 = (g % 32u) * 8u;
    let n = e0 / 128u;
    let k = (e0 % 128u) / 32u;
    let l0 = e0 % 32u;
    let s = e0 / 16u; // the 8 elements lie in one sub-block
    let sw = body + 24u;
    let low = (q3k_byte(sw, s % 8u) >> (4u * (s / 8u))) & 0xFu;
    let high = (q3k_byte(sw, 8u + s % 4u) >> (2u * (s / 4u))) & 3u;
    let scale = unpack2x16float(w[pair] >> (16u * j)).x * f32(i32(low | (high << 4u)) - 32);
    let q = body + 8u + (n * 32u + l0) / 4u;
    let h = body + l0 / 4u;
    let lshift = k * 2u;
    let hshift = e0 / 32u;
    let lo = q3k_quad(w[q] >> lshift, w[h] >> hshift);
    let hi = q3k_quad(w[q + 1u] >> lshift, w[h + 1u] >> hshift);
    return mat2x4<f32>(scale * lo, scale * hi);
}
