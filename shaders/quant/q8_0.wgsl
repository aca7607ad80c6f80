// Q8_0 GPU block (32 elements, 9 words): word 0 = d (f16, low half); words 1..8 = qs[32] (i8).
// Value d * q. See f32.wgsl for the shared dequant8 contract.

// The four signed bytes of `word`, byte 0 first: move each byte to the top, then shift it back
// down arithmetically.
fn q8_0_bytes(word: u32) -> vec4<f32> {
    let v = vec4<i32>(bitcast<i32>(word)) << vec4<u32>(24u, 16u, 8u, 0u);
    return vec4<f32>(v >> vec4<u32>(24u));
}

fn dequant8(row_word: u32, g: u32) -> mat2x4<f32> {
    let base = row_word + (g / 4u) * 9u;
    let d = unpack2x16float(w[base]).x;
    let q = base + 1u + (g % 4u) * 2u;
    return mat2x4<f32>(d * q8_0_bytes(w[q]), d * q8_0_bytes(w[q + 1u]));
}
