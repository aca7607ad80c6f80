// Q4_0 GPU layout (blocks of 32 elements in pairs of 9 words): word 0 = d of the pair's first
// block (low half) and second block (high half); words 1..4 = qs[16] of the first block, words
// 5..8 of the second. A row with an odd number of blocks ends with a single block of 5 words
// (d in the low half of word 0). Element j < 16 of a block is the low nibble of qs[j], element
// j + 16 its high nibble; value d * (q - 8). See f32.wgsl for the shared dequant8 contract.

// The low nibbles of the four bytes of `word`, byte 0 first.
fn q4_0_nibbles(word: u32) -> vec4<f32> {
    return vec4<f32>((vec4<u32>(word) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xFu));
}

fn dequant8(row_word: u32, g: u32) -> mat2x4<f32> {
    let blk = g / 4u;
    let pair = row_word + (blk / 2u) * 9u;
    let j = blk % 2u; // which block of the pair
    let d = unpack2x16float(w[pair] >> (16u * j)).x;
    let sub = g % 4u;
    let q = pair + 1u + j * 4u + (sub % 2u) * 2u; // qs bytes 0..7 or 8..15
    let shift = (sub / 2u) * 4u; // low nibbles for elements 0..15, high for 16..31
    let lo = q4_0_nibbles(w[q] >> shift) - 8.0;
    let hi = q4_0_nibbles(w[q + 1u] >> shift) - 8.0;
    return mat2x4<f32>(d * lo, d * hi);
}
