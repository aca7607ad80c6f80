// Q8_0 GPU layout (blocks of 32 elements in pairs of 17 words): word 0 = d of the pair's first
// block (low half) and second block (high half); words 1..8 = qs[32] (i8) of the first block,
// words 9..16 of the second. A row with an odd number of blocks ends with a single block of 9
// words (d in the low half of word 0). Value d * q. See f32.wgsl for the shared dequant8
// contract.

// The four signed bytes of `word`, byte 0 first: move each byte to the top, then shift it back
// down arithmetically.
fn q8_0_bytes(word: u32) -> vec4<f32> {
    let v = vec4<i32>(bitcast<i32>(word)) << vec4<u32>(24u, 16u, 8u, 0u);
    return vec4<f32>(v >> vec4<u32>(24u));
}

fn dequant8(row_word: u32, g: u32) -> mat2x4<f32> {
    let pair = row_word + (g / 8u) * 17u; // 8 groups per pair
    let d = unpack2x16float(w[pair] >> ((g & 4u) * 4u)).x; // groups 4..7: the second block's d
    let q = pair + 1u + (g % 8u) * 2u; // the bodies follow each other
    return mat2x4<f32>(d * q8_0_bytes(w[q]), d * q8_0_bytes(w[q + 1u]));
}
