// Q4_1 GPU block (32 elements, 5 words): word 0 = d (low half), m (high half); words 1..4 =
// qs[16]. Element j < 16 is the low nibble of qs[j], element j + 16 its high nibble; value
// d * q + m. See f32.wgsl for the shared dequant8 contract.

// The low nibbles of the four bytes of `word`, byte 0 first.
fn q4_1_nibbles(word: u32) -> vec4<f32> {
    return vec4<f32>((vec4<u32>(word) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xFu));
}

fn dequant8(row_word: u32, g: u32) -> mat2x4<f32> {
    let base = row_word + (g / 4u) * 5u;
    let sub = g % 4u;
    let dm = unpack2x16float(w[base]);
    let q = base + 1u + (sub % 2u) * 2u; // qs bytes 0..7 or 8..15
    let shift = (sub / 2u) * 4u; // low nibbles for elements 0..15, high for 16..31
    let lo = q4_1_nibbles(w[q] >> shift);
    let hi = q4_1_nibbles(w[q + 1u] >> shift);
    return mat2x4<f32>(dm.x * lo + dm.y, dm.x * hi + dm.y);
}
